"""``run_demo``: play the chosen scenario on its platform and show what the requester would see
(or one JSON line for scripts).

Only stdlib modules are imported at the top; a platform's demo is imported when it is played.
"""

from __future__ import annotations

import json
import re
import time
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
            "comment": outcome.comment,
            "branch": outcome.branch,
            "commits": len(outcome.commits),
            "pr_url": outcome.pr_url,
            "review_comments": outcome.review_comments,
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
    what = "review summary" if outcome.inline or "claude-runner:review" in outcome.comment else "tracking"
    heading(f"2. The {what} {'note' if gitlab else 'comment'}, as {host} shows it")
    for body in (outcome.comment, *((outcome.inline,) if outcome.inline else ())):
        shown = re.sub(r"<!--.*?-->\n?", "", body, flags=re.DOTALL)  # GitHub hides these
        for line in (shown.strip() or "(no comment was posted)").splitlines():
            say(f"  │ {line}" if line else "  │")
        say()
    heading("3. Commits pushed")
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
    heading(f"4. Branch and {change}")
    say(f"  branch: {outcome.branch or '(none)'}")
    sigil = "!" if gitlab else "#"
    existing = (
        f"{sigil}{outcome.number}, which the request was on" if SCENARIOS[scenario].on_pull_request else ""
    )
    say(f"  {'MR' if gitlab else 'PR'}:     {outcome.pr_url or existing or '(none opened)'}")
    if not outcome.ok:
        heading("Job log (the run failed)")
        say(outcome.log.rstrip())
    heading("5. Time")
    say(f"  {outcome.seconds:.1f} s, {'ok' if outcome.ok else f'FAILED (exit {outcome.exit_code})'}")
    out.flush()
