"""``run_demo``: play the chosen scenario on its platform and show what the requester would see
(or one JSON line for scripts).

Only stdlib modules are imported at the top; a platform's demo is imported when it is played.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import TextIO

from runner.demo.scenarios import SCENARIOS, Outcome


def run_demo(scenario: str, *, as_json: bool, out: TextIO) -> int:
    """Play ``scenario`` and report on ``out``; returns the exit code (0 when the run succeeded)."""
    from runner.errors import UsageError

    if scenario not in SCENARIOS:
        raise UsageError(f"unknown demo scenario {scenario!r}", f"use one of {', '.join(SCENARIOS)}")
    started = time.monotonic()
    chosen = SCENARIOS[scenario]
    if chosen.platform == "gitlab":
        from runner.demo.gitlab import play_gitlab

        outcome = play_gitlab(chosen)
    else:
        from runner.demo.github import play_github

        outcome = play_github(chosen)
    outcome.seconds = time.monotonic() - started
    if as_json:
        fields = {
            "scenario": scenario,
            "ok": outcome.ok,
            "working_comment": outcome.working,  # the tracking comment as first posted
            "tool_calls": outcome.tool_calls,  # one live-log line per call
            "comment": outcome.comment,  # the final one
            "branch": outcome.branch,
            "commits": len(outcome.commits),
            "commit": outcome.head_sha,  # the pushed head (None: nothing pushed)
            "pr_url": outcome.change_url,  # the PR/MR the work is on: the one asked on, or the one opened
            "pr_opened": outcome.pr_url is not None,
            "review_comments": outcome.review_comments,
            "duration_s": round(outcome.seconds, 2),
        }
        print(json.dumps(fields), file=out, flush=True)
    else:
        _print_report(scenario, outcome, out)
    return 0 if outcome.ok else outcome.exit_code or 1


def _print_report(scenario: str, outcome: Outcome, out: TextIO) -> None:
    """The five things a user looks at: request, comment, commits, branch/PR, time."""

    def say(line: str = "") -> None:
        print(line, file=out)

    def heading(title: str) -> None:
        say()
        say(f"── {title} " + "─" * max(3, 72 - len(title)))

    gitlab = SCENARIOS[scenario].platform == "gitlab"
    host, change = ("GitLab", "merge request") if gitlab else ("GitHub", "pull request")
    source = (
        "a Note Hook, from go-gitlab's test data"
        if gitlab
        else "issue_comment.created, from octokit/webhooks"
    )
    if SCENARIOS[scenario].review:
        source = "the CI variables of a merge request pipeline" if gitlab else "a pull_request opened event"
    say(f"claude-runner demo --scenario {scenario}: {SCENARIOS[scenario].summary}.")
    say(f"{host}, the Messages API (scripted model) and the git remote are loopback fakes: offline, no keys.")
    heading(f"1. The request ({source})")
    say(f"  {outcome.request}")
    review = SCENARIOS[scenario].review
    kind = "note" if gitlab else "comment"
    if not review:
        heading(f"2. The tracking {kind} while Claude works")
        _quote(say, outcome.working)
    heading(f"{3 - review}. Tool calls, as the job log shows them")
    for line in outcome.tool_calls or ["(none)"]:
        say(f"  {line}")
    final = f"{4 - review}. The review summary {kind}" if review else f"4. The tracking {kind} when done"
    heading(f"{final}, as {host} shows it")
    for body in (outcome.comment, *((outcome.inline,) if outcome.inline else ())):
        _quote(say, body)
        say()
    step = 5 - review
    heading(f"{step}. Commits pushed")
    for commit in outcome.commits:
        say(f"  {commit['hash']}  {commit['subject']}")
        say(f"           author: {commit['author']}")
        if commit["co_authored_by"]:
            say(f"           Co-authored-by: {commit['co_authored_by']}")
    if not outcome.commits:
        say("  (none)")
    for line in outcome.diff.splitlines():
        if line.startswith(("-", "+", "@@")) and not line.startswith(("---", "+++")):
            say(f"    {line}")
    heading(f"{step + 1}. Branch and {change}")
    say(f"  branch: {outcome.branch or '(none)'}")
    sigil = "!" if gitlab else "#"
    how = "opened by the run" if outcome.pr_url else f"{sigil}{outcome.number}, which the request was on"
    shown = f"{outcome.change_url} ({how})" if outcome.change_url else "(none opened)"
    say(f"  {'MR' if gitlab else 'PR'}:     {shown}")
    if outcome.head_sha:
        say(f"  head:   {outcome.head_sha}")
    if not outcome.ok:
        heading("Job log (the run failed)")
        say(outcome.log.rstrip())
    heading(f"{step + 2}. Time")
    say(f"  {outcome.seconds:.1f} s, {'ok' if outcome.ok else f'FAILED (exit {outcome.exit_code})'}")
    out.flush()


def _quote(say: Callable[[str], None], body: str) -> None:
    """A comment body as the host renders it: hidden markers left out, each line behind a bar."""
    shown = re.sub(r"<!--.*?-->\n?", "", body, flags=re.DOTALL)  # GitHub and GitLab hide these
    for line in (shown.strip() or "(no comment was posted)").splitlines():
        say(f"  │ {line}" if line else "  │")
