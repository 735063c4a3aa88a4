"""Before a CI run posts or spends anything: is the model provider usable, and may who asked
make the runner spend money and push? Light on imports: the acknowledgement (``ack.py``) runs
this before the flow, the agent and the SDKs are loaded."""

from __future__ import annotations

from typing import Protocol

from runner.errors import RunnerError
from runner.events import Event
from runner.flow.job import Job
from runner.platforms.refs import permission_at_least
from runner.providers.doctor import preflight
from runner.sanitize import Redactor
from runner.settings.flow import FlowSettings
from runner.settings.runtime import Runtime


class Permissions(Protocol):
    """What authorizing needs of a platform: a user's permission on the repository."""

    def permission(self, login: str) -> str:
        """admin, maintain, write, triage, read or none."""
        ...


def authorize(platform: Permissions, event: Event, settings: FlowSettings) -> tuple[bool, str]:
    """May this actor make the runner spend money and push? (bots were vetted by the trigger)."""
    actor = event.actor
    if actor is None:
        return True, "no actor: an automation event configured by the workflow"
    if actor.is_bot:
        return True, f"bot {actor.login} is listed in allowed_bots"
    if "*" in settings.allowed_non_write_users or actor.login in settings.allowed_non_write_users:
        return True, f"{actor.login} is listed in allowed_non_write_users"
    level = platform.permission(actor.login)
    if permission_at_least(level, settings.required_permission):
        return True, f"{actor.login} has {level} permission"
    return False, f"{actor.login} has {level} permission; at least {settings.required_permission} is required"


def check_provider(runtime: Runtime, job: Job, redactor: Redactor) -> int | None:
    """The provider pre-flight: the exit code when it failed (nothing was posted: the job's log
    and summary say what to fix), else None."""
    try:
        preflight(runtime, redactor=redactor, log=job.log)
    except RunnerError as exc:
        from runner.flow.publish import RunProgress, job_summary  # the flow's, loaded only to report this

        job.error(redactor.text(exc.one_line()))
        job.write_outputs({"conclusion": "failure"})
        job.write_summary(job_summary(exc.one_line(), RunProgress(), redactor))
        return exc.exit_code
    return None


def admit(
    platform: Permissions, event: Event, settings: FlowSettings, runtime: Runtime, job: Job
) -> tuple[Redactor, int | None]:
    """What every CI run does first, before it posts or spends: check the model provider, then who
    asked. Returns the run's redactor, and an exit code when the run stops here (a broken
    provider, or a requester without permission)."""
    redactor = Redactor([v for v in (settings.github_token, settings.anthropic_api_key) if v])
    failed = check_provider(runtime, job, redactor)
    if failed is not None:
        return redactor, failed
    allowed, why = authorize(platform, event, settings)
    job.log(f"{'allowed' if allowed else 'refused'}: {why}")
    if not allowed:
        job.write_outputs({"conclusion": "skipped"})
        return redactor, 0
    return redactor, None


__all__ = ["admit", "authorize", "check_provider"]
