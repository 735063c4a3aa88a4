"""`claude-runner explain --platform gitlab`, run for real in a subprocess on go-gitlab hook payloads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.paths import FIXTURES_DIR

WEBHOOKS = FIXTURES_DIR / "gitlab" / "webhooks"


def explain(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner", "explain", "--platform", "gitlab", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def write_event(tmp_path: Path, name: str, **edits: Any) -> Path:
    """A temp copy of a corpus hook; ``object_attributes__note="x"`` sets ``payload[...][...]``."""
    data = json.loads((WEBHOOKS / f"{name}.json").read_text())
    for dotted, value in edits.items():
        *parents, last = dotted.split("__")
        target = data
        for key in parents:
            target = target[key]
        target[last] = value
    path = tmp_path / "event.json"
    path.write_text(json.dumps(data))
    return path


def decision(path: Path, *flags: str) -> dict[str, Any]:
    proc = explain("--event-path", str(path), *flags)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout
    record: dict[str, Any] = json.loads(lines[0])
    return record


def test_note_on_merge_request_with_mention(tmp_path: Path) -> None:
    path = write_event(tmp_path, "note_merge_request", object_attributes__note="@claude, fix the typo")
    proc = explain("--event-path", str(path))
    assert proc.stdout == (
        '{"triggered": true, "reason": "comment mentions @claude", "mode": "tag", "platform": "gitlab", '
        '"event": "note", "action": "create", "entity": {"type": "merge_request", "number": 1}, '
        '"actor": "root", "request": "fix the typo", "review": {"runs": false, "reason": "no review: the '
        'mention does not ask for one (\\"@claude review\\" does); it runs as a mention", "request": null}}\n'
    )


def test_note_on_issue_with_mention_and_hook_header(tmp_path: Path) -> None:
    path = write_event(tmp_path, "note_issue", object_attributes__note="Hey @claude please triage")
    record = decision(path, "--event-name", "Note Hook")
    assert (
        record.pop("review")["reason"]
        == "no review: reviews are of a merge request, asked with a mention or automatic"
    )
    assert record == {
        "triggered": True,
        "reason": "comment mentions @claude",
        "mode": "tag",
        "platform": "gitlab",
        "event": "note",
        "action": "create",
        "entity": {"type": "issue", "number": 17},
        "actor": "user1",
        "request": "please triage",
    }


def test_confidential_issue_note_decides_normally(tmp_path: Path) -> None:
    """Transform: a Confidential Note Hook is a note hook with ``event_type: confidential_note``."""
    path = write_event(
        tmp_path,
        "note_issue",
        event_type="confidential_note",
        issue__confidential=True,
        object_attributes__note="@claude summarise",
    )
    record = decision(path, "--event-name", "Confidential Note Hook")
    assert (record["triggered"], record["event"], record["request"]) == (True, "note", "summarise")


@pytest.mark.parametrize(
    "name, edits, reason",
    [
        (
            "note_commit",
            {},
            "not triggered: notes on noteable type 'Commit' are not supported (only MergeRequest and Issue)",
        ),
        (
            "note_snippet",
            {},
            "not triggered: notes on noteable type 'Snippet' are not supported (only MergeRequest and Issue)",
        ),
        (
            "note_merge_request",
            {"object_attributes__system": True},
            "not triggered: system note (GitLab's record of an action, e.g. 'added label')",
        ),
        (
            "note_merge_request",
            {"object_attributes__action": "update"},
            "not triggered: comment was edited, only new comments trigger",
        ),
        (
            "note_issue",
            {"object_attributes__note": "ping @claudette"},
            "not triggered: comment does not mention @claude",
        ),
    ],
)
def test_notes_that_do_not_trigger(tmp_path: Path, name: str, edits: dict[str, Any], reason: str) -> None:
    edits.setdefault("object_attributes__note", "@claude do it")
    record = decision(write_event(tmp_path, name, **edits))
    assert (record["triggered"], record["reason"], record["mode"], record["request"]) == (
        False,
        reason,
        None,
        None,
    )
    assert (record["platform"], record["event"]) == ("gitlab", "note")


def test_pipeline_hook_is_not_supported() -> None:
    record = decision(WEBHOOKS / "pipeline.json", "--prompt", "Fix the build")
    assert record.pop("review")["runs"] is False
    assert record == {
        "triggered": False,
        "reason": "not triggered: event 'pipeline' is not supported (supported: note, merge_request, issue)",
        "mode": None,
        "platform": "gitlab",
        "event": "pipeline",
        "action": None,
        "entity": {"type": None, "number": None},
        "actor": "user1",
        "request": None,
    }


def test_label_trigger_on_merge_request_and_issue_hooks() -> None:
    # Both corpus hooks change labels from API to Platform.
    record = decision(WEBHOOKS / "merge_request.json", "--label-trigger", "Platform")
    assert record.pop("review") == {
        "runs": False,
        "reason": "no review: the label trigger runs the usual flow (a mention asks for a review)",
        "request": None,
    }
    assert record == {
        "triggered": True,
        "reason": "label 'Platform' was added to the merge request",
        "mode": "tag",
        "platform": "gitlab",
        "event": "merge_request",
        "action": "open",
        "entity": {"type": "merge_request", "number": 1},
        "actor": "user1",
        "request": None,
    }
    record = decision(WEBHOOKS / "issue.json", "--label-trigger", "platform")
    assert (record["triggered"], record["reason"], record["entity"]) == (
        True,
        "label 'Platform' was added to the issue",
        {"type": "issue", "number": 23},
    )
    # With the default label trigger the hooks are plain opens.
    assert decision(WEBHOOKS / "merge_request.json")["reason"] == (
        "not triggered: merge_request open runs only with a prompt"
    )
    assert (
        decision(WEBHOOKS / "issue.json")["reason"]
        == "not triggered: issue body and title do not mention @claude"
    )


def test_issue_opened_with_mention(tmp_path: Path) -> None:
    path = write_event(tmp_path, "issue", object_attributes__description="@claude add an endpoint")
    record = decision(path)
    assert (record["triggered"], record["reason"], record["request"]) == (
        True,
        "issue body mentions @claude",
        "add an endpoint",
    )


def test_prompt_runs_on_new_commits(tmp_path: Path) -> None:
    record = decision(WEBHOOKS / "service_merge_request.json", "--prompt", "Review")
    assert (record["triggered"], record["mode"], record["action"], record["request"]) == (
        True,
        "agent",
        "update",
        "Review",
    )
    closed = write_event(tmp_path, "merge_request", object_attributes__action="close")
    assert decision(closed, "--prompt", "Review")["reason"] == (
        "not triggered: merge_request action 'close' does not trigger"
    )


def test_assignee_trigger(tmp_path: Path) -> None:
    path = write_event(
        tmp_path,
        "issue",
        object_attributes__action="update",
        changes={"assignees": {"previous": [], "current": [{"id": 7, "username": "claude-bot"}]}},
    )
    record = decision(path, "--assignee-trigger", "@claude-bot")
    assert (record["triggered"], record["reason"]) == (True, "issue was assigned to claude-bot")


def test_bot_note(tmp_path: Path) -> None:
    path = write_event(
        tmp_path,
        "note_merge_request",
        object_attributes__note="@claude rebase",
        user={"id": 99, "username": "project_5_bot_1a2b", "name": "bot"},
    )
    record = decision(path)
    assert record["reason"] == "not triggered: sender project_5_bot_1a2b is a bot not listed in allowed_bots"
    assert decision(path, "--allowed-bots", "project_5_bot_1a2b")["triggered"]


@pytest.mark.parametrize("content", [None, "{oops", "[1, 2]"])
def test_bad_event_file_is_a_one_line_usage_error(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "event.json"
    if content is not None:
        path.write_text(content)
    proc = explain("--event-path", str(path))
    assert (proc.returncode, proc.stdout) == (2, "")
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: event file ") and str(path) in proc.stderr


def test_event_name_must_match_the_payload() -> None:
    proc = explain("--event-name", "Issue Hook", "--event-path", str(WEBHOOKS / "note_issue.json"))
    assert proc.returncode == 2 and proc.stdout == ""
    assert (
        proc.stderr.startswith("error: event file ")
        and "holds a 'note' hook, not 'Issue Hook'" in proc.stderr
    )


def test_event_name_stays_required_for_github(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"sender": {"login": "octocat"}, "comment": {"body": "@claude"}, "issue": {}}))
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "explain", "--event-path", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        "error: --event-name is required for --platform github — pass e.g. --event-name issue_comment\n"
    )
