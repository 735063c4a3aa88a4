"""`claude-runner demo`: the whole GitHub flow against loopback fakes, as a user first runs it."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from runner.cli import DEMO_SCENARIOS
from runner.demo.scenarios import SCENARIOS

KEYS = {
    "scenario",
    "ok",
    "working_comment",
    "tool_calls",
    "comment",
    "branch",
    "commits",
    "commit",
    "pr_url",
    "pr_opened",
    "review_comments",
    "duration_s",
}
SHA = re.compile(r"^[0-9a-f]{40}$")


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    """The demo as a user runs it (how long it takes: bench/speed.py)."""
    return subprocess.run(
        [sys.executable, "-m", "runner", "demo", *args], capture_output=True, text=True, timeout=60
    )


def last_json(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout  # --json prints the object and nothing else
    data: dict[str, object] = json.loads(lines[-1])
    assert set(data) == KEYS
    return data


def test_pr_comment_fixes_the_pr_branch():
    proc = demo("--json")
    data = last_json(proc)
    assert data["scenario"] == "pr-comment" and data["ok"] is True
    assert data["branch"] == "fix-calc"
    # The PR the request was on (none was opened), the pushed head, how long it took.
    assert (
        data["pr_url"] == "https://github.example/Codertocat/Hello-World/pull/1"
        and data["pr_opened"] is False
    )
    assert SHA.match(str(data["commit"]))
    assert isinstance(data["duration_s"], float) and data["duration_s"] > 0
    assert isinstance(data["commits"], int) and data["commits"] >= 1
    assert "Claude is working…" in str(data["working_comment"]) and "finished" not in str(
        data["working_comment"]
    )
    assert data["tool_calls"] == [
        'update_progress {"checklist": "- [x] read calc.py\\n- [ ] fix add()\\n- [ ] run the test"} '
        "→ ok (17 bytes)",
        "Read calc.py → ok (67 bytes)",
        "Edit calc.py → ok (106 bytes)",
        "Bash python3 test_calc.py → ok (2 bytes)",
    ]
    assert "Claude finished" in str(data["comment"]) and "Fixed `add()`" in str(data["comment"])
    assert data["review_comments"] == 0


def test_issue_gets_a_new_branch_and_a_draft_pr():
    proc = demo("--scenario", "issue", "--json")
    data = last_json(proc)
    assert data["scenario"] == "issue" and data["ok"] is True
    assert str(data["branch"]).startswith("claude/issue-1-")
    assert isinstance(data["commits"], int) and data["commits"] >= 1
    assert str(data["pr_url"]).endswith("/pull/2") and data["pr_opened"] is True
    assert SHA.match(str(data["commit"]))
    assert "Claude finished" in str(data["comment"]) and str(data["pr_url"]) in str(data["comment"])
    assert data["review_comments"] == 0


def test_human_output_shows_request_comment_commit_branch_and_time():
    proc = demo()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "@claude fix the bug in calc.py" in out
    assert "Claude finished @Codertocat's task" in out and "claude-runner:tracking" not in out
    assert "PR #1: changes from Claude" in out  # the commit subject
    assert "author: claude[bot]" in out and "Co-authored-by: Codertocat" in out
    assert "+    return a + b" in out and "branch: fix-calc" in out
    assert "::group::" not in out and proc.stderr == ""  # the job log stays out of sight
    # The three stages in order: working…, the tool calls, done.
    working = out.index("2. The tracking comment while Claude works")
    calls = out.index("3. Tool calls, as the job log shows them")
    done = out.index("4. The tracking comment when done")
    assert working < out.index("Claude is working…") < calls < out.index("  Read calc.py → ok") < done
    assert out.index("  Bash python3 test_calc.py → ok") < done < out.index("Claude finished")
    (head,) = re.findall(r"head:   ([0-9a-f]{40})", out)
    assert f"  {head[:7]}  PR #1: changes from Claude" in out
    assert (
        "PR:     https://github.example/Codertocat/Hello-World/pull/1 (#1, which the request was on)" in out
    )


def test_unknown_scenario_is_a_usage_error():
    proc = demo("--scenario", "nope")
    assert proc.returncode == 2 and "nope" in proc.stderr


def test_cli_choices_match_the_scenarios():
    assert set(DEMO_SCENARIOS) == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_has_a_summary(name):
    assert SCENARIOS[name].summary and SCENARIOS[name].title


@pytest.mark.parametrize(
    "scenario, branch_prefix, opens_mr",
    [("gitlab-mr", "fix-calc", False), ("gitlab-issue", "claude/issue-1-", True)],
)
def test_gitlab_scenarios(scenario, branch_prefix, opens_mr):
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "demo", "--scenario", scenario, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["ok"] is True and result["scenario"] == scenario
    assert result["branch"].startswith(branch_prefix) and result["commits"] == 1
    assert "/-/merge_requests/" in result["pr_url"] and result["pr_opened"] is opens_mr
    assert "Claude is working…" in result["working_comment"] and len(result["tool_calls"]) == 4
    assert "Claude finished @root's task" in result["comment"]
