"""A tracking comment the quick acknowledgement posted (``runner/quick/``) that the run never took
over: the job's settings turned out bad, or the run failed before its flow began. The comment is
not left saying "Claude is working": it ends in the final state naming the error (one line, what
to fix), written with the acknowledgement's small client (``platforms/github_ack.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from runner.errors import RunnerError

if TYPE_CHECKING:
    from runner.flow.job import Job
    from runner.platforms.base import Platform
    from runner.quick.handover import Handover
    from runner.settings.github import GitHubRunEnv


def finish_quick_comment(run_env: GitHubRunEnv, handover: Handover, error: str, job: Job) -> None:
    """Write ``error`` as the final state of ``handover``'s comment (looked for first when its post
    had no clear answer); a failure to do so is one more line in the log, never an exception."""
    inputs = handover.inputs
    if inputs is None or not (handover.posted or (handover.uncertain and handover.body)):
        return
    from runner.flow.progress import RunProgress
    from runner.flow.publish import final_state
    from runner.flow.tracker import Tracker
    from runner.platforms.github_ack import GitHubAckClient
    from runner.platforms.refs import CommentRef
    from runner.platforms.retry import ApiRetryPolicy
    from runner.quick.github import remember
    from runner.sanitize import Redactor

    client = GitHubAckClient(
        inputs.repository,
        inputs.token,
        api_url=inputs.api_url,
        retry=ApiRetryPolicy(timeout_s=inputs.timeout_s),
        log=job.log,
        ca_bundle=Path(inputs.ca_bundle) if inputs.ca_bundle else None,
    )
    try:
        if handover.comment_id is not None and handover.comment_url is not None:
            ref: CommentRef | None = CommentRef(handover.comment_id, handover.comment_url, "issue")
        else:
            ref = client.find_own_comment(handover.number, handover.body or "")
        if ref is None or handover.run_id is None:
            return
        redactor = Redactor(inputs.secrets)
        tracker = Tracker(cast("Platform", client), handover.number, inputs.job_url, redactor)
        tracker.adopt(ref, handover.run_id)
        links = [("View job", inputs.job_url)] if inputs.job_url else []
        tracker.finish(final_state(error, handover.requester, handover.started, RunProgress(links=links)))
        job.log(f"tracking comment: {ref.url} (finalised with the error)")
        handover.comment_id, handover.comment_url = ref.id, ref.url
        remember(handover, inputs, phase="finalised", conclusion="failure")  # finalize: nothing to do
    except RunnerError as exc:
        job.error(f"could not write the error in the tracking comment: {exc.one_line()}")
    finally:
        client.close()


__all__ = ["finish_quick_comment"]
