"""`claude-runner explain` beyond mentions: review decisions, the other platform's payload, UTF-8
output and bounded echoes, run for real in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from runner.events import Event
from runner.explain import ECHO_LIMIT, TEXT_LIMIT, load_event
from runner.triggers import TriggerSettings
from tests.cli.test_explain_cli import write_event
from tests.paths import FIXTURES_DIR

GITLAB = FIXTURES_DIR / "gitlab" / "webhooks"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner", "explain", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=env,
    )


def review_of(event_name: str, path: Path, *flags: str) -> dict[str, Any]:
    proc = run("--event-name", event_name, "--event-path", str(path), *flags)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    review: dict[str, Any] = json.loads(proc.stdout)["review"]
    return review


def test_an_opened_pull_request_is_reviewed_only_with_review_on(tmp_path: Path) -> None:
    path = write_event(tmp_path, "pull_request/opened.payload.json", pull_request__draft=False)
    on = review_of("pull_request", path, "--review")
    assert (on["runs"], on["reason"]) == (True, "review: pull_request opened with review enabled")
    assert ".claude/review.json on the default branch (files, budget, rules)" in on["decided_at_run_time"]
    assert any("access" in line for line in on["decided_at_run_time"])
    off = review_of("pull_request", path)
    assert off == {
        "runs": False,
        "reason": "no review: automatic reviews are off (--review; the review input)",
        "request": None,
    }


def test_a_draft_is_reviewed_automatically_only_with_review_drafts(tmp_path: Path) -> None:
    path = write_event(tmp_path, "pull_request/opened.payload.json", pull_request__draft=True)
    skipped = review_of("pull_request", path, "--review")
    assert skipped["runs"] is False
    assert skipped["reason"] == (
        "the pull request is a draft: automatic reviews skip drafts (review_drafts: true)"
    )
    assert review_of("pull_request", path, "--review", "--review-drafts")["runs"] is True


def test_a_closed_pull_request_gets_no_automatic_review(tmp_path: Path) -> None:
    path = write_event(tmp_path, "pull_request/closed.payload.json")
    review = review_of("pull_request", path, "--review")
    assert review["runs"] is False and "closed gets no automatic review" in review["reason"]


def test_a_mention_asking_for_a_review_reviews_drafts_too(tmp_path: Path) -> None:
    path = write_event(
        tmp_path,
        "issue_comment/created.payload.json",
        comment__body="@claude review the error handling",
        issue__pull_request={"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"},
    )
    review = review_of("issue_comment", path)
    assert review["runs"] is True and review["request"] == "the error handling"
    assert review["reason"] == "a mention asks for a review (drafts included)"
    fix = write_event(
        tmp_path,
        "issue_comment/created.payload.json",
        comment__body="@claude fix it",
        issue__pull_request={"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"},
    )
    assert review_of("issue_comment", fix)["reason"] == (
        'no review: the mention does not ask for one ("@claude review" does); it runs as a mention'
    )


def test_a_merge_request_hook_with_review_on(tmp_path: Path) -> None:
    proc = run("--platform", "gitlab", "--event-path", str(GITLAB / "merge_request.json"), "--review")
    assert proc.returncode == 0, proc.stderr
    review = json.loads(proc.stdout)["review"]
    assert (review["runs"], review["reason"]) == (True, "review: merge_request open with review enabled")
    assert (
        "whether the requester has the access the run requires (checked with the GitLab API)"
        in (review["decided_at_run_time"])
    )


def test_a_gitlab_hook_given_to_github_mode_names_the_right_command() -> None:
    hook = GITLAB / "note_merge_request.json"
    proc = run("--platform", "github", "--event-name", "issue_comment", "--event-path", str(hook))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        f"error: event file {hook} is a GitLab payload, not a GitHub one — run claude-runner explain "
        f"--platform gitlab --event-path {hook}\n"
    )


def test_a_github_payload_given_to_gitlab_mode_names_the_right_command(tmp_path: Path) -> None:
    path = write_event(tmp_path, "pull_request_review_comment/created.payload.json")
    proc = run("--platform", "gitlab", "--event-path", str(path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        f"error: event file {path} is a GitHub payload, not a GitLab one — run claude-runner explain "
        f"--platform github --event-name pull_request_review_comment --event-path {path}\n"
    )


def test_non_ascii_is_printed_as_utf8_whatever_the_terminal_encoding(tmp_path: Path) -> None:
    path = write_event(
        tmp_path, "issue_comment/created.payload.json", comment__body="@claude répare le café ☕"
    )
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    proc = run("--event-name", "issue_comment", "--event-path", str(path), env=env)
    assert proc.returncode == 0, proc.stderr
    assert '"request": "répare le café ☕"' in proc.stdout and "\\u" not in proc.stdout


def test_a_60_mb_request_is_cut_in_the_output(tmp_path: Path) -> None:
    body = "@claude fix " + "x" * 60_000_000
    path = write_event(tmp_path, "issue_comment/created.payload.json", comment__body=body)
    proc = run("--event-name", "issue_comment", "--event-path", str(path))
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) < 3 * ECHO_LIMIT
    request = json.loads(proc.stdout)["request"]
    more = len("fix ") + 60_000_000 - ECHO_LIMIT
    assert request == "fix " + "x" * (ECHO_LIMIT - 4) + f"… ({more} more characters)"


def test_the_mention_search_reads_at_most_the_longest_comment_a_host_accepts(tmp_path: Path) -> None:
    body = "@claude fix " + "y" * (3 * TEXT_LIMIT)
    path = write_event(tmp_path, "issue_comment/created.payload.json", comment__body=body)
    event, unread = load_event("github", "issue_comment", path, TriggerSettings())
    assert isinstance(event, Event) and len(event.trigger_text or "") == TEXT_LIMIT
    assert unread == len(body) - TEXT_LIMIT
