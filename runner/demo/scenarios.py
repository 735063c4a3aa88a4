"""The demo's scenarios: where the mention is made, what the scripted model does, how the action
is configured, and what a run left behind.

A scenario is data (``Scenario``): a new one (e.g. a review) is one more entry in ``SCENARIOS``.
Only stdlib modules are imported at the top, so the CLI can list the scenarios cheaply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REQUEST = "@claude fix the bug in calc.py"
# Bash needs an allow rule (action input claude_args), as in a real workflow.
ALLOW_TEST = {"claude_args": '--allowedTools "Bash(python3:*)"'}

Script = Callable[[Path], list[Any]]


def _fix_script(workspace: Path) -> list[Any]:
    """The model's turns: plan, read, fix, check, summarise (as a careful model would)."""
    from runner.testing.scripting import text, tool_use

    calc = str(workspace / "calc.py")
    plan = "- [x] read calc.py\n- [ ] fix add()\n- [ ] run the test"
    return [
        [tool_use("update_progress", {"checklist": plan}), tool_use("Read", {"file_path": calc})],
        [tool_use("Edit", {"file_path": calc, "old_string": "return a - b", "new_string": "return a + b"})],
        [tool_use("Bash", {"command": "python3 test_calc.py", "description": "Run the calc test"})],
        [text("Fixed `add()` in `calc.py`: it returned `a - b` instead of `a + b`. `test_calc.py` passes.")],
    ]


def _review_script(workspace: Path) -> list[Any]:
    """A reviewer's turns: read, one mechanical fix on the diff, one finding outside it, a verdict."""
    from runner.testing.scripting import text, tool_use

    mul = {
        "path": "calc.py",
        "line": 8,
        "end_line": 11,
        "severity": "important",
        "title": "mul() loops instead of multiplying",
        "body": "The loop is O(b) and returns 0 for any negative `b`: `mul(2, -3)` gives 0, not -6.",
        "suggestion": "    return a * b",
    }
    outside = {
        "path": "test_calc.py",
        "line": 3,
        "severity": "pre_existing",
        "title": "test_calc.py fails: add() subtracts",
        "body": "`add()` returns `a - b`; this PR does not touch it, but the test cannot pass.",
    }
    return [
        [tool_use("Read", {"file_path": str(workspace / "calc.py")})],
        [tool_use("report_finding", mul), tool_use("report_finding", outside)],
        [text("mul() is right for b >= 0 only; the suggested one-liner fixes it. Otherwise fine.")],
    ]


@dataclass(frozen=True)
class Scenario:
    """One demo: where the mention is made, what the model does, how the action is configured."""

    summary: str
    on_pull_request: bool
    title: str
    body: str
    script: Script = _fix_script
    inputs: dict[str, str] = field(default_factory=lambda: dict(ALLOW_TEST))  # the workflow's `with:`
    platform: str = "github"
    review: bool = False  # a pull request opened with `review: true` (no mention)


SCENARIOS: dict[str, Scenario] = {
    "pr-comment": Scenario(
        "a comment on a pull request: the fix is pushed to the PR's branch",
        on_pull_request=True,
        title="Fix add() in calc.py",
        body="add() gives the wrong answer.",
    ),
    "issue": Scenario(
        "a comment on an issue: the fix goes to a new branch and a draft PR",
        on_pull_request=False,
        title="add() returns the wrong result",
        body="add(2, 3) gives -1.",
        inputs={**ALLOW_TEST, "pr_mode": "draft"},
    ),
    "gitlab-mr": Scenario(
        "a note on a GitLab merge request: the fix is pushed to the MR's source branch",
        on_pull_request=True,
        title="Fix add() in calc.py",
        body="add() gives the wrong answer.",
        platform="gitlab",
    ),
    "gitlab-issue": Scenario(
        "a note on a GitLab issue: the fix goes to a new branch and a draft MR",
        on_pull_request=False,
        title="add() returns the wrong result",
        body="add(2, 3) gives -1.",
        platform="gitlab",
    ),
    "review": Scenario(
        "a pull request opened with `review: true`: one review with inline comments and a summary",
        on_pull_request=True,
        title="Add mul() to calc.py",
        body="Adds multiplication.",
        script=_review_script,
        inputs={"review": "true"},
        review=True,
    ),
    "gitlab-review": Scenario(
        "a merge request pipeline with REVIEW=true: diff discussions and a summary note",
        on_pull_request=True,
        title="Add mul() to calc.py",
        body="Adds multiplication.",
        script=_review_script,
        inputs={"review": "true"},
        platform="gitlab",
        review=True,
    ),
}


@dataclass
class Outcome:
    """What a run left behind, as the requester and the workflow see it."""

    exit_code: int
    number: int
    request: str
    comment: str
    branch: str | None
    pr_url: str | None
    commits: list[dict[str, str]]
    diff: str
    review_comments: int
    log: str
    seconds: float = 0.0
    inline: str = ""  # a review: the first inline comment's body
    working: str = ""  # the tracking comment as first posted, before the agent ran ("" for a review)
    tool_calls: list[str] = field(default_factory=list)  # the live log's lines, one per tool call
    head_sha: str | None = None  # the commit the branch points at after the push
    change_url: str | None = None  # the pull (merge) request the work is on: the one asked on, or opened

    @property
    def ok(self) -> bool:
        """The flow succeeded and the tracking (or review summary) comment says so."""
        return self.exit_code == 0 and (
            "Claude finished" in self.comment or "claude-runner:review" in self.comment
        )
