"""`claude-runner explain`, run for real in a subprocess on corpus payloads with trigger text injected."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.paths import FIXTURES_DIR

WEBHOOKS = FIXTURES_DIR / "github" / "webhooks"


def explain(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner", "explain", "--platform", "github", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def write_event(tmp_path: Path, relative: str, **edits: Any) -> Path:
    """A temp copy of a corpus payload; ``comment__body="x"`` sets ``payload["comment"]["body"]``."""
    data = json.loads((WEBHOOKS / relative).read_text())
    for dotted, value in edits.items():
        *parents, last = dotted.split("__")
        target = data
        for key in parents:
            target = target[key]
        target[last] = value
    path = tmp_path / "event.json"
    path.write_text(json.dumps(data))
    return path


def decision(event_name: str, path: Path, *flags: str) -> dict[str, Any]:
    proc = explain("--event-name", event_name, "--event-path", str(path), *flags)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout
    record: dict[str, Any] = json.loads(lines[0])
    return record


def test_comment_with_mention(tmp_path: Path) -> None:
    path = write_event(tmp_path, "issue_comment/created.payload.json", comment__body="@claude, fix the typo")
    proc = explain("--event-name", "issue_comment", "--event-path", str(path))
    assert proc.stdout == (
        '{"triggered": true, "reason": "comment mentions @claude", "mode": "tag", "platform": "github", '
        '"event": "issue_comment", "action": "created", "entity": {"type": "issue", "number": 1}, '
        '"actor": "Codertocat", "request": "fix the typo", "review": {"runs": false, "reason": "no review: '
        'reviews are of a pull request, asked with a mention or automatic", "request": null}}\n'
    )


def test_comment_on_pull_request_with_custom_phrase(tmp_path: Path) -> None:
    path = write_event(
        tmp_path,
        "issue_comment/created.payload.json",
        comment__body="/claude explain this diff",
        issue__pull_request={"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"},
    )
    record = decision("issue_comment", path, "--trigger-phrase", "/claude")
    assert record["entity"] == {"type": "pull_request", "number": 1}
    assert (record["triggered"], record["mode"], record["request"]) == (True, "tag", "explain this diff")


@pytest.mark.parametrize(
    "body, reason",
    [
        ("ping @claudette", "not triggered: comment does not mention @claude"),
        ("write to foo@claude.com", "not triggered: comment does not mention @claude"),
        ("ask `@claude` later", "not triggered: comment does not mention @claude"),
        ("> @claude fix\nno thanks", "not triggered: comment does not mention @claude"),
    ],
)
def test_comment_edge_cases(tmp_path: Path, body: str, reason: str) -> None:
    path = write_event(tmp_path, "issue_comment/created.payload.json", comment__body=body)
    record = decision("issue_comment", path)
    assert (record["triggered"], record["reason"], record["mode"], record["request"]) == (
        False,
        reason,
        None,
        None,
    )


def test_edited_comment(tmp_path: Path) -> None:
    path = write_event(tmp_path, "issue_comment/edited.payload.json", comment__body="@claude fix")
    record = decision("issue_comment", path)
    assert record["reason"] == "not triggered: comment was edited, only new comments trigger"
    assert record["action"] == "edited"


def test_review_comment_and_review(tmp_path: Path) -> None:
    path = write_event(
        tmp_path, "pull_request_review_comment/created.payload.json", comment__body="@Claude rename"
    )
    record = decision("pull_request_review_comment", path)
    assert (record["triggered"], record["entity"], record["request"]) == (
        True,
        {"type": "pull_request", "number": 2},
        "rename",
    )
    path = write_event(tmp_path, "pull_request_review/submitted.payload.json", review__body="@claude fix all")
    assert decision("pull_request_review", path)["reason"] == "review mentions @claude"


def test_label_and_assignee(tmp_path: Path) -> None:
    labeled = WEBHOOKS / "issues/labeled.payload.json"  # label "bug"
    assert (
        decision("issues", labeled)["reason"]
        == "not triggered: label 'bug' is not the label trigger 'claude'"
    )
    record = decision("issues", labeled, "--label-trigger", "bug")
    assert (record["triggered"], record["mode"], record["request"]) == (True, "tag", None)

    assigned = WEBHOOKS / "issues/assigned.payload.json"  # assigned to Codertocat
    assert not decision("issues", assigned)["triggered"]
    assert decision("issues", assigned, "--assignee-trigger", "Codertocat")["mode"] == "tag"


def test_prompt_drives_automation_and_pull_requests(tmp_path: Path) -> None:
    record = decision("workflow_dispatch", WEBHOOKS / "workflow_dispatch/payload.json", "--prompt", "Triage")
    assert record.pop("review")["runs"] is False
    assert record == {
        "triggered": True,
        "reason": "prompt given for workflow_dispatch",
        "mode": "agent",
        "platform": "github",
        "event": "workflow_dispatch",
        "action": None,
        "entity": {"type": None, "number": None},
        "actor": "Codertocat",
        "request": "Triage",
    }
    schedule = tmp_path / "schedule.json"
    schedule.write_text(json.dumps({"schedule": "0 0 * * *", "repository": {"full_name": "o/r"}}))
    record = decision("schedule", schedule, "--prompt", "Nightly check")
    assert (record["mode"], record["actor"]) == ("agent", None)
    assert not decision("schedule", schedule)["triggered"]

    pr = WEBHOOKS / "pull_request/synchronize.payload.json"
    record = decision("pull_request_target", pr, "--prompt", "Review")
    assert (record["triggered"], record["mode"], record["entity"]) == (
        True,
        "agent",
        {"type": "pull_request", "number": 2},
    )


def test_bots(tmp_path: Path) -> None:
    path = write_event(
        tmp_path,
        "issue_comment/created.payload.json",
        comment__body="@claude rebase",
        sender={"login": "dependabot[bot]", "type": "Bot"},
    )
    record = decision("issue_comment", path)
    assert record["reason"] == "not triggered: sender dependabot[bot] is a bot not listed in allowed_bots"
    assert record["actor"] == "dependabot[bot]"
    assert decision("issue_comment", path, "--allowed-bots", "renovate,dependabot")["triggered"]
    assert decision("issue_comment", path, "--allowed-bots", "*")["triggered"]


@pytest.mark.parametrize("name", ["push", "ping"])
def test_unsupported_event(name: str) -> None:
    record = decision(name, WEBHOOKS / name / "payload.json", "--prompt", "x")
    assert record["triggered"] is False and record["mode"] is None
    assert record["reason"].startswith(f"not triggered: event '{name}' is not supported")
    assert record["event"] == name


@pytest.mark.parametrize("content", [None, "{oops", "[1, 2]"])
def test_bad_event_file_is_a_one_line_usage_error(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "event.json"
    if content is not None:
        path.write_text(content)
    proc = explain("--event-name", "issues", "--event-path", str(path))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("error: event file ") and str(path) in proc.stderr


def test_unknown_platform_is_rejected() -> None:
    proc = explain("--platform", "bitbucket", "--event-name", "x", "--event-path", "x")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
