"""A decided CI event to the run it asks for: a review or a mention, on any platform."""

from __future__ import annotations

from runner.events import Event
from runner.flow.ack import Acknowledgement
from runner.flow.job import Job
from runner.flow.mention import run_flow
from runner.platforms.base import Platform
from runner.review.run import run_review
from runner.review.trigger import ReviewTrigger
from runner.settings.flow import FlowSettings
from runner.settings.run import RunSettings
from runner.settings.runtime import Runtime
from runner.triggers import Decision


def run_decided(
    event: Event,
    decision: Decision,
    review: ReviewTrigger | None,
    platform: Platform,
    settings: FlowSettings,
    agent: RunSettings,
    job: Job,
    runtime: Runtime,
    ack: Acknowledgement | None = None,
) -> int:
    """Run the review or the mention flow, then close the platform's connections; the exit code.
    ``ack``: a mention's acknowledgement, made already (``flow/ack.py``)."""
    try:
        if review is not None:
            return run_review(event, platform, settings, agent, job, runtime, request=review.request)
        return run_flow(event, decision, platform, settings, agent, job, runtime, ack)
    finally:
        platform.close()
