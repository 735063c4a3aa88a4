"""``claude-runner finalize``: finish what a killed run left behind.

The action's ``if: always()`` step (GitHub) or the job's ``after_script`` (GitLab) runs it after
the main step, however that ended. It reads the run's state file (``state.py``):

- no file, another job's file, or a run that finalised its comment: nothing to do;
- a run that stopped while its final comment was being delivered (``finishing``): deliver the
  final body the run kept in the file (the run already wrote its outputs);
- a run that stopped earlier (the job was cancelled, killed or timed out): replace the tracking
  comment with a final "stopped" one that links the job and whatever was pushed, and write the
  outputs with ``conclusion=cancelled``.

Exit codes: 0 (nothing to do, or done), ``PlatformError`` (9: the comment could not be
updated), ``SettingsError`` (3: the state file is unreadable or was changed), the platform's
own (e.g. ``CredentialsError``, 4) when it cannot be reached at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

from runner.errors import RunnerError
from runner.flow.cleanup import Budget
from runner.flow.job import Job
from runner.flow.prompts import render
from runner.flow.publish import job_outputs
from runner.flow.state import RunState, utc_now
from runner.flow.tracker import FINAL_RETRY_DELAYS, TRACKING_MARKER, Tracker, format_duration
from runner.platforms.base import Platform
from runner.sanitize import Redactor

STOPPED = {
    "cancelled": "The job was cancelled before Claude finished.",
    "canceled": "The job was cancelled before Claude finished.",
    "failure": "The job failed or timed out before Claude finished.",
    "failed": "The job failed or timed out before Claude finished.",
}
WHILE = {
    "acknowledged": "while it was starting",
    "gathering": "while it was reading the thread",
    "running": "while Claude was working",
    "publishing": "while it was publishing the work",
}


def finalize(
    job: Job,
    connect: Callable[[], Platform],
    *,
    job_status: str | None,
    redactor: Redactor,
    retry_delays: tuple[float, ...] = FINAL_RETRY_DELAYS,
    budget: Budget | None = None,
) -> int:
    """Finish the run the job's state file describes; returns the exit code (module docstring).

    ``connect``: the platform adapter, built only when there is a comment to update.
    ``job_status``: how the main step ended (``success``, ``failure``/``failed``,
    ``cancelled``/``canceled``), when the CI says.
    """
    log = job.log
    if job.state_file is None:
        log("finalize: this job keeps no state file: nothing to do")
        return 0
    state = job.state_file.read()
    where = job.state_file.path
    if state is None:
        log(f"finalize: no state file at {where}: no run to finish")
        return 0
    if state.run_id != job.run_id or state.repo_url != job.repo_url:
        log(f"finalize: {where} is from another job (run {state.run_id} of {state.repo_url}): nothing to do")
        return 0
    if state.phase == "finalised":
        log(f"finalize: the run finalised its comment itself ({state.conclusion}): nothing to do")
        return 0
    if state.phase == "finishing" and state.final_body:
        log("finalize: the run stopped before its final comment was delivered: delivering it")
        body, conclusion = state.final_body, state.conclusion or "failure"
    elif job_status == "success":
        log(f"finalize: the main step succeeded; its state file says {state.phase}: leaving the comment")
        return 0
    else:
        conclusion = "cancelled"
        log(f"finalize: the run stopped {WHILE.get(state.phase, 'early')} ({job_status or 'status unknown'})")
        body = stopped_comment(state, job_status, redactor)
        outputs = job_outputs(
            None,
            execution_file=None,
            branch=state.branch,
            pr_url=state.pr_url,
            comment_url=state.comment.url if state.comment else None,
        )
        outputs["conclusion"] = conclusion
        job.write_outputs(outputs)
        job.write_summary(stopped_summary(state, job_status, redactor))
    if state.comment is not None:
        try:
            _deliver(state, body, connect, redactor, retry_delays, budget)
        except RunnerError as exc:
            log(f"error: {redactor.text(exc.one_line())}")
            return exc.exit_code
        log(f"finalize: {state.comment.url} is final ({conclusion})")
    job.state_file.write(
        dataclasses.replace(
            state, phase="finalised", conclusion=conclusion, final_body=None, updated_at=utc_now()
        )
    )
    return 0


def _deliver(
    state: RunState,
    body: str,
    connect: Callable[[], Platform],
    redactor: Redactor,
    retry_delays: tuple[float, ...],
    budget: Budget | None,
) -> None:
    assert state.comment is not None
    platform = connect()
    try:
        tracker = Tracker(
            platform, state.number or 0, state.job_url, redactor, ref=state.comment, retry_delays=retry_delays
        )
        tracker.deliver(body, budget)
    finally:
        platform.close()


def stopped_comment(state: RunState, job_status: str | None, redactor: Redactor) -> str:
    """The final comment of a run that was stopped: why, for how long, and where its work is."""
    branch = state.branch or state.planned_branch
    tree = "-/tree" if state.platform == "gitlab" else "tree"
    body = render(
        "comment_cancelled.j2",
        marker=TRACKING_MARKER,
        requester=state.requester,
        duration=format_duration(_elapsed(state.started_at)),
        links=state.links or ([("View job", state.job_url)] if state.job_url else []),
        reason=_reason(state, job_status),
        branch=state.branch,
        planned_branch=state.planned_branch if state.phase == "publishing" else None,
        branch_url=f"{state.repo_url}/{tree}/{branch}" if branch else None,
    )
    return redactor.text(body)


def stopped_summary(state: RunState, job_status: str | None, redactor: Redactor) -> str:
    """Markdown for the step summary of a stopped run."""
    lines = ["### Claude ⏹ stopped", "", _reason(state, job_status), ""]
    if state.branch:
        lines.append(f"Work pushed before the job stopped is on `{state.branch}`.")
    links = state.links or ([("View job", state.job_url)] if state.job_url else [])
    lines += [f"- [{label}]({url})" for label, url in links]
    if state.comment:
        lines.append(f"- [comment]({state.comment.url})")
    return redactor.text("\n".join(lines))


def _reason(state: RunState, job_status: str | None) -> str:
    stopped = STOPPED.get(
        job_status or "", "The job stopped (cancelled, killed or timed out) before Claude finished."
    )
    return f"{stopped} The run stopped {WHILE.get(state.phase, 'early')}."


def _elapsed(started_at: str) -> float:
    try:
        started = datetime.strptime(started_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return 0.0
    return max(0.0, (datetime.now(UTC) - started).total_seconds())
