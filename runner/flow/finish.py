"""The end of a mention run, however it ended: save the work, write the outputs, finalise the
comment, write the step summary.

It runs under ``Cleanup`` (``cleanup.py``): after a signal every step is bounded, and a later
signal is noted instead of killing the process. Outputs are written before the final comment is
attempted, so a comment that cannot be updated (a 502 that outlives the retries, a kill) never
costs the outputs; the state file then keeps the final body for ``claude-runner finalize``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from runner.errors import PlatformError, RunnerError
from runner.events import Event
from runner.flow.cleanup import FINAL_RESERVE_S, Cleanup, CleanupTimeout
from runner.flow.job import Job
from runner.flow.publish import RunProgress, final_state, job_outputs, job_summary, save_partial_work
from runner.flow.run_report import MAX_SUMMARY_BYTES, bounded, full_report
from runner.flow.run_summary import ReportInput, run_report
from runner.flow.state import RunRecord
from runner.flow.tracker import Tracker
from runner.platforms.base import Platform
from runner.sanitize import Redactor
from runner.settings.flow import FlowSettings


@dataclass(frozen=True)
class RunEnd:
    """How the agent's part of the run ended."""

    error: str | None = None  # None: success
    code: int = 1  # the exit code of a failed run (a RunnerError brings its own)
    cancelled: bool = False  # a signal stopped it (the job was cancelled or timed out)


def retry_delays(retry_base_ms: int) -> tuple[float, float]:
    """Pauses before the retries of a failed final update: 2 and 6 times the retry base
    (``CLAUDE_RUNNER_RETRY_BASE_MS``, 500 ms by default: 1 s and 3 s)."""
    return (retry_base_ms * 2 / 1000, retry_base_ms * 6 / 1000)


def work_fields(progress: RunProgress) -> dict[str, Any]:
    """What the state file says about the work: the branch it goes to, where it was pushed, links."""
    plan = progress.plan
    return {
        "planned_branch": plan.branch if plan else None,
        "branch": progress.work_branch,  # a rescue branch when the planned one refused the push
        "pr_url": progress.pr_url,
        "links": list(progress.links),
    }


def report_page(
    summary: str,
    settings: FlowSettings,
    job: Job,
    progress: RunProgress,
    record: RunRecord,
    redactor: Redactor,
) -> str:
    """The summary, the run report after it, and with ``display_report`` every turn, within
    ``MAX_SUMMARY_BYTES`` (what does not fit is cut, saying so)."""
    data = ReportInput(
        events=tuple(progress.timeline.events),
        phases=tuple(record.phase_times),
        ended=time.time(),
        transcript_url=job.transcript_url,
        transcript_note=job.transcript_note,
        quiet=progress.confidential,
    )
    page = "\n\n".join(part for part in (summary, redactor.text(run_report(data))) if part)
    page = bounded(page, MAX_SUMMARY_BYTES)
    if settings.display_report and not progress.confidential:  # its text stays out of the summary
        room = MAX_SUMMARY_BYTES - len(page.encode()) - 2
        details = full_report(job.temp_dir / "execution.jsonl", redactor, limit=room)
        page += f"\n\n{details}" if details else ""
    return page


def finish_run(
    *,
    platform: Platform,
    settings: FlowSettings,
    job: Job,
    event: Event,
    progress: RunProgress,
    tracker: Tracker | None,
    record: RunRecord,
    cleanup: Cleanup,
    redactor: Redactor,
    requester: str,
    started: float,
    end: RunEnd,
) -> int:
    """Save, report and finalise; returns the exit code: the run's, or ``PlatformError``'s
    when the comment could not be finalised (the outputs and summary still say what happened)."""
    cleanup.arm()
    if end.cancelled:
        cleanup.interrupted = True
        cleanup.start_clock()
        job.log(f"cancelled: saving the work and finalising the comment within {cleanup.bound_s:.0f} s")
    if end.error is not None:
        try:
            cleanup.call(
                "saving the partial work",
                lambda: save_partial_work(platform, settings, job, progress, event, redactor),
                reserve_s=FINAL_RESERVE_S,
            )
        except CleanupTimeout as exc:
            job.log(exc.message)
    record.update(**work_fields(progress))
    outputs = job_outputs(
        progress.result,
        execution_file=job.temp_dir / "execution.jsonl",
        branch=progress.work_branch,
        pr_url=progress.pr_url,
        comment_url=tracker.ref.url if tracker and tracker.ref else None,
        work=progress.work,
    )
    if end.error is not None:
        outputs["conclusion"] = "cancelled" if end.cancelled else "failure"
        job.error(redactor.text(end.error))
    job.write_outputs({name: redactor.text(value) for name, value in outputs.items()})
    comment_error = None
    if tracker is not None and tracker.ref is not None:
        body = tracker.final_body(final_state(end.error, requester, started, progress))
        record.phase("finishing", conclusion=outputs["conclusion"], final_body=body)
        try:
            tracker.deliver(body, cleanup)
        except RunnerError as exc:
            comment_error = redactor.text(exc.one_line())
    if comment_error is None:
        record.phase("finalised", conclusion=outputs["conclusion"], final_body=None)
    summary = job_summary(end.error, progress, redactor)
    if comment_error is not None:
        job.error(comment_error)
        summary += f"\n\n⚠️ {comment_error}"
    try:
        page = report_page(summary, settings, job, progress, record, redactor)
    except Exception as exc:  # a bug in the report must not cost the summary the run paid for
        job.warning(f"the run report could not be made ({type(exc).__name__}: {exc}); the summary has none")
        page = summary
    if job.write_report is None:
        job.write_summary(page)
    else:  # GitLab: the log gets the short summary, the report file the whole page
        job.write_summary(summary)
        job.write_report(page)
    cleanup.report()
    record.observer.close()  # telemetry, after the comment and outputs: bounded, never raises
    if comment_error is not None:
        return PlatformError.exit_code
    return 0 if end.error is None else end.code
