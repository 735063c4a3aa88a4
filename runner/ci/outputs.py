"""What both CI edges do when a run stops before the flow could report it."""

from __future__ import annotations

import contextlib

from runner.errors import RunnerError
from runner.flow.job import Job
from runner.sanitize import Redactor


def failed_early(job: Job, exc: Exception) -> None:
    """Bad settings, a refused pre-flight call, a crash: the outputs say ``conclusion=failure`` and
    the summary says why (a bug shows its type; its traceback is in the log, where secrets are
    masked). Best effort: the error being reported matters more than a failure to report it."""
    what = (
        exc.one_line()
        if isinstance(exc, RunnerError)
        else f"internal error: {type(exc).__name__} (see the traceback in the job log)"
    )
    # The flow's: not loaded before an acknowledgement.
    from runner.flow.publish import RunProgress, job_summary

    with contextlib.suppress(OSError):
        job.write_outputs({"conclusion": "failure"})
        job.write_summary(job_summary(what, RunProgress(), Redactor([])))
