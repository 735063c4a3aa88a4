"""Before a CI run posts or spends anything: is the model provider usable, and may who asked
make the runner spend money and push? Light on imports: the acknowledgement (``ack.py``) runs
this before the flow, the agent and the SDKs are loaded."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, cast

from runner.errors import RunnerError
from runner.events import Event
from runner.flow.job import Job
from runner.flow.refusal import access_reason, refuse
from runner.platforms.refs import permission_at_least
from runner.sanitize import Redactor
from runner.settings.flow import FlowSettings
from runner.settings.runtime import Runtime

if TYPE_CHECKING:
    from runner.platforms.base import Platform


class Permissions(Protocol):
    """What authorizing needs of a platform: a user's permission on the repository."""

    def permission(self, login: str) -> str:
        """admin, maintain, write, triage, read or none."""
        ...


def permission_needed(event: Event, settings: FlowSettings) -> str | None:
    """The login whose permission ``authorize`` asks the platform for; None when it decides
    without asking (no actor, an allowed bot, a login in ``allowed_non_write_users``)."""
    actor = event.actor
    if actor is None or actor.is_bot:
        return None
    if "*" in settings.allowed_non_write_users or actor.login in settings.allowed_non_write_users:
        return None
    return actor.login


def authorize(platform: Permissions, event: Event, settings: FlowSettings) -> tuple[bool, str]:
    """May this actor make the runner spend money and push? (bots were vetted by the trigger)."""
    actor = event.actor
    login = permission_needed(event, settings)
    if actor is None:
        return True, "no actor: an automation event configured by the workflow"
    if login is None:
        if actor.is_bot:
            return True, f"bot {actor.login} is listed in allowed_bots"
        return True, f"{actor.login} is listed in allowed_non_write_users"
    level = platform.permission(login)
    allowed = permission_at_least(level, settings.required_permission)
    return allowed, access_reason(event.platform, login, level, settings.required_permission, allowed)


class KnownPermission:
    """A permission already asked (by the quick acknowledgement, ``runner/quick/``): ``level`` for
    ``login``; another login is asked of ``platform``."""

    def __init__(self, platform: Permissions, login: str, level: str) -> None:
        self._platform, self._login, self._level = platform, login, level

    def permission(self, login: str) -> str:
        """The permission of ``login``."""
        return self._level if login == self._login else self._platform.permission(login)


class EarlyPermission:
    """``platform``'s permission for ``login``, asked in a thread from now on: its round trip
    overlaps the provider check and loading the tracker. ``permission`` answers (or raises) as
    ``platform`` would; another login is asked then."""

    def __init__(self, platform: Permissions, login: str) -> None:
        self._platform, self._login = platform, login
        self._level: str | None = None
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._ask, name="permission", daemon=True)
        self._thread.start()

    def _ask(self) -> None:
        try:
            self._level = self._platform.permission(self._login)
        except Exception as exc:  # raised where the answer is wanted, as the call itself would
            self._error = exc

    def permission(self, login: str) -> str:
        """The permission of ``login``."""
        if login != self._login:
            return self._platform.permission(login)
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._level is None:
            raise RuntimeError("the permission request ended without an answer")
        return self._level

    def wait(self) -> None:
        """Until the request is over (before its connection is closed)."""
        self._thread.join()


def provider_failure(runtime: Runtime, job: Job, redactor: Redactor) -> RunnerError | None:
    """The provider pre-flight: why it failed, else None."""
    from runner.providers.doctor import preflight  # loaded while an early permission request is out

    try:
        preflight(runtime, redactor=redactor, log=job.log)
    except RunnerError as exc:
        return exc
    return None


def check_provider(runtime: Runtime, job: Job, redactor: Redactor) -> int | None:
    """The provider pre-flight: the exit code when it failed (nothing was posted: the job's log
    and summary say what to fix), else None."""
    exc = provider_failure(runtime, job, redactor)
    if exc is not None:
        from runner.flow.publish import RunProgress, job_summary  # the flow's, loaded only to report this

        job.error(redactor.text(exc.one_line()))
        job.write_outputs({"conclusion": "failure"})
        job.write_summary(job_summary(exc.one_line(), RunProgress(), redactor))
        return exc.exit_code
    return None


def admit(
    platform: Permissions,
    event: Event,
    settings: FlowSettings,
    runtime: Runtime,
    job: Job,
    *,
    asked: bool = True,
    replies_through: Callable[[], Platform] | None = None,
) -> tuple[Redactor, int | None]:
    """What every CI run does first, before it posts or spends: check the model provider, then who
    asked. Returns the run's redactor, and an exit code when the run stops here (a broken
    provider, or a requester without permission). ``asked``: someone asked (a mention, label or
    assignee), so a refusal is answered; an automatic run is refused without a reply. The reply
    goes through ``platform`` (a ``Platform``), or the one ``replies_through`` makes (when
    ``platform`` is the acknowledgement's small client)."""
    redactor = Redactor([v for v in (settings.github_token, settings.anthropic_api_key) if v])
    failed = check_provider(runtime, job, redactor)
    if failed is not None:
        return redactor, failed
    allowed, why = authorize(platform, event, settings)
    job.log(f"{'allowed' if allowed else 'refused'}: {why}")
    if not allowed:
        job.write_outputs({"conclusion": "skipped"})
        replier = replies_through() if replies_through is not None else cast("Platform", platform)
        refuse(replier, event, why, settings, job, redactor, asked=asked)  # the requester hears why
        return redactor, 0
    return redactor, None


__all__ = [
    "EarlyPermission",
    "KnownPermission",
    "admit",
    "authorize",
    "check_provider",
    "permission_needed",
    "provider_failure",
]
