"""The flows' read-only git: allowed without claude_args, in plan mode too, options still hardened."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.agent.headless import _bash_rules
from runner.agent.permissions import PermissionPolicy, build_policy, can_ever_allow, decide
from runner.flow.readonly import READ_ONLY_GIT

CWD = Path("/work/repo")


def flow_policy(mode: str, allowed: tuple[str, ...] = ()) -> PermissionPolicy:
    return build_policy(
        mode=mode,
        allowed_tools=allowed,
        disallowed_tools=(),
        settings=(),
        cwd=CWD,
        add_dirs=(),
        home=Path("/home/ci"),
        read_only_rules=READ_ONLY_GIT,
    )


def bash(pol: PermissionPolicy, command: str) -> bool:
    return decide(pol, "Bash", {"command": command}, read_only=False, edits_files=False).allowed


@pytest.mark.parametrize("mode", ["plan", "acceptEdits"])  # a review, a mention
@pytest.mark.parametrize(
    "command",
    [
        "git status",
        "git status --short",
        "git diff",
        "git diff HEAD~1 -- calc.py",
        "git log -p",
        "git log --oneline -5",
        "git show HEAD:calc.py",
        "git blame -L 1,5 calc.py",
    ],
)
def test_read_only_git_runs_without_claude_args(mode: str, command: str) -> None:
    assert bash(flow_policy(mode), command)


@pytest.mark.parametrize("mode", ["plan", "acceptEdits"])
@pytest.mark.parametrize(
    "command",
    [
        "git diff --output=x",  # writes a file
        "git diff --output /tmp/x",
        "git log --output=/tmp/x",
        "git diff --ext-diff",  # runs a configured program
        "git push origin HEAD",
        "git commit -am x",
        "git status; rm -rf .",
        "git log > /tmp/out",
        "rm calc.py",
    ],
)
def test_writing_options_and_other_commands_stay_refused(mode: str, command: str) -> None:
    assert not bash(flow_policy(mode), command)


def test_plan_mode_offers_bash_with_only_the_read_only_rules() -> None:
    review = flow_policy("plan", allowed=("Bash(npm test:*)", "Edit"))
    assert can_ever_allow(review, "Bash", read_only=False, edits_files=False)
    assert not bash(review, "npm test")  # claude_args' rules do not hold in a review
    assert not decide(review, "Edit", {"file_path": "calc.py"}, read_only=False, edits_files=True).allowed
    assert _bash_rules(review) == READ_ONLY_GIT
    mention = flow_policy("acceptEdits", allowed=("Bash(npm test:*)",))
    assert bash(mention, "npm test")
    assert _bash_rules(mention) == (*READ_ONLY_GIT, "Bash(npm test:*)")
    assert _bash_rules(flow_policy("acceptEdits", allowed=("Bash",))) == ()  # every command: no list
