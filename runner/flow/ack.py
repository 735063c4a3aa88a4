"""The acknowledgement of a mention: check the provider, check who asked, post the tracking comment,
before the flow, PyGithub, the agent and the SDKs are loaded (they are most of a run's start-up).

``acknowledge`` makes the permission check and the comment with the platform's small client
(``platforms/github_ack.py``: ``http.client``, the same retries, errors and seal), and hands the
rest of the run a ``Tracker`` on the full platform adapter. When the comment's request is on the
wire, ``Prefetch`` starts loading the rest of the run in a thread, overlapping its round trip.

A sticky comment, or a reply in a review thread, is left to the flow (``Tracker.start``): they
read comments first, which the small client does not do.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from runner.errors import RunnerError
from runner.events import Event
from runner.flow.admit import KnownPermission, Permissions, admit, authorize, provider_failure
from runner.flow.job import Job
from runner.flow.state import RunState
from runner.flow.tracker import Tracker
from runner.platforms.refs import CommentRef
from runner.quick.handover import Handover
from runner.sanitize import Redactor
from runner.settings.flow import FlowSettings
from runner.settings.runtime import Runtime
from runner.triggers import Decision

if TYPE_CHECKING:
    from runner.platforms.base import Platform

# What the rest of a mention loads, in the order it needs it: the flow (and the agent), the GitHub
# SDK, the Anthropic SDK. The flow waits for all of them: two threads importing at once could wait
# on each other's module locks (a dependency both need).
FLOW_MODULES = ("runner.flow.dispatch", "github", "anthropic")


class AckClient(Permissions, Protocol):
    """The small client: the permission check of ``Permissions`` and the comment."""

    def create_comment(
        self, number: int, body: str, *, on_sent: Callable[[], None] | None = None
    ) -> CommentRef:
        """Post a conversation comment; ``on_sent`` once its request is out."""
        ...

    def find_own_comment(self, number: int, body: str) -> CommentRef | None:
        """Our recent comment on ``number`` saying exactly ``body``, if there is one."""
        ...


class Disagreement(RuntimeError):
    """The quick acknowledgement posted a comment the run would not have posted: a bug (tests check
    the two decide alike); the comment is finalised with it."""


@dataclass
class Acknowledgement:
    """What the acknowledgement did: the run's redactor; ``stop``, the exit code when the run ends
    here; ``tracker``, the tracking comment's (posted unless ``failure`` says why not, or the
    flow posts it: a sticky comment, a reply)."""

    redactor: Redactor
    stop: int | None = None
    tracker: Tracker | None = None
    failure: RunnerError | None = None

    def on(self, platform: Platform) -> Tracker | None:
        """The tracker, from now on working through ``platform`` (the acknowledgement's client
        only posts the first comment)."""
        if self.tracker is not None:
            self.tracker.platform = platform
        return self.tracker

    def comment(self) -> CommentRef:
        """The tracking comment, posted by the flow now if the acknowledgement left it; a failed
        post raises here, inside the run, which reports it and finishes as for any error."""
        if self.tracker is None:
            raise ValueError("no tracking comment in this run")
        if self.failure is not None:
            raise self.failure
        return self.tracker.ref if self.tracker.ref is not None else self.tracker.start()


def new_tracker(
    event: Event, decision: Decision, platform: Platform, settings: FlowSettings, job: Job, redactor: Redactor
) -> Tracker | None:
    """The tracking comment a mention (or ``track_progress``) gets; not posted yet."""
    if event.number is None or not (decision.mode == "tag" or settings.track_progress):
        return None
    comment = event.comment
    threaded = comment is not None and (comment.kind == "review_comment" or comment.thread_id is not None)
    return Tracker(
        platform,
        event.number,
        job.job_url,
        redactor,
        reply_to=comment.id if comment is not None and threaded else None,
        reply_thread=comment.thread_id if comment is not None else None,
        sticky=settings.use_sticky_comment,
    )


class Prefetch:
    """Imports ``modules`` in a background thread; ``wait`` returns once they are loaded (or failed
    to: the code that needs a module then imports it again and reports the error itself)."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = tuple(modules)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start loading (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._load, name="prefetch", daemon=True)
            self._thread.start()

    def wait(self) -> None:
        """Until the modules are loaded, if started."""
        if self._thread is not None:
            self._thread.join()

    def _load(self) -> None:
        for name in self.modules:
            try:
                importlib.import_module(name)
            except Exception:  # not installed, or broken: the code that needs it says so
                return


def acknowledge(
    event: Event,
    decision: Decision,
    client: AckClient,
    settings: FlowSettings,
    runtime: Runtime,
    job: Job,
    *,
    prefetch: Prefetch | None = None,
    audit_path: Path | None = None,
    permissions: Permissions | None = None,
    replies_through: Callable[[], Platform] | None = None,
    handover: Handover | None = None,
) -> Acknowledgement:
    """Check the provider and who asked (``admit``), then post the tracking comment with ``client``;
    the flow hands the tracker the full platform adapter (``Acknowledgement.on``). ``prefetch``
    starts when the comment's request is out; ``audit_path``: see ``AckSettings``; ``permissions``:
    where the requester's permission is asked (an ``EarlyPermission``), else ``client``;
    ``replies_through``: the platform a refused requester's reply goes through (``admit``);
    ``handover``: what the quick acknowledgement did (its permission answer, its comment)."""
    asked = decision.mode == "tag"
    permissions = permissions or client
    if handover is not None and handover.login is not None and handover.level is not None:
        permissions = KnownPermission(permissions, handover.login, handover.level)
    if handover is not None and handover.posted:
        return _adopt(handover, event, decision, client, settings, runtime, job, permissions)
    redactor, stop = admit(
        permissions, event, settings, runtime, job, asked=asked, replies_through=replies_through
    )
    if stop is not None:
        return Acknowledgement(redactor, stop)
    # The full adapter is not loaded yet: the tracker gets it from the flow (``Acknowledgement.on``).
    tracker = new_tracker(event, decision, cast("Platform", client), settings, job, redactor)
    if tracker is None or tracker.sticky or tracker.reply_to is not None or event.number is None:
        return Acknowledgement(redactor, tracker=tracker)
    number = event.number
    if handover is not None and handover.run_id is not None:
        tracker.run_id = handover.run_id  # the same body as the one that may have landed

    def post(body: str) -> CommentRef:
        if handover is not None and handover.uncertain:
            found = client.find_own_comment(number, body)
            if found is not None:
                return found
        if audit_path is not None:
            write_audit(audit_path)
        return client.create_comment(number, body, on_sent=prefetch.start if prefetch else None)

    try:
        ref = tracker.start_with(post)
    except RunnerError as exc:
        return Acknowledgement(redactor, tracker=tracker, failure=exc)
    _remember(job, event, ref)
    return Acknowledgement(redactor, tracker=tracker)


def _adopt(
    handover: Handover,
    event: Event,
    decision: Decision,
    client: AckClient,
    settings: FlowSettings,
    runtime: Runtime,
    job: Job,
    permissions: Permissions,
) -> Acknowledgement:
    """The run takes over the tracking comment the quick acknowledgement posted. The checks it
    made before (the provider) come now: a failure is the run's error, written in that comment."""
    redactor = Redactor([v for v in (settings.github_token, settings.anthropic_api_key) if v])
    tracker = new_tracker(event, decision, cast("Platform", client), settings, job, redactor)
    if tracker is None or tracker.sticky or tracker.reply_to is not None or event.number != handover.number:
        raise Disagreement("the quick acknowledgement posted a tracking comment this event does not get")
    assert handover.comment_id is not None and handover.comment_url is not None and handover.run_id
    allowed, why = authorize(permissions, event, settings)
    job.log(f"{'allowed' if allowed else 'refused'}: {why}")
    if not allowed:
        raise Disagreement(
            f"the quick acknowledgement posted a tracking comment for a refused requester ({why})"
        )
    ref = CommentRef(handover.comment_id, handover.comment_url, "issue")
    tracker.adopt(ref, handover.run_id)
    _remember(job, event, ref)
    failure = provider_failure(runtime, job, redactor)
    return Acknowledgement(redactor, tracker=tracker, failure=failure)


def write_audit(path: Path) -> None:
    """The names of the modules loaded now, as a JSON list (``CLAUDE_RUNNER_ACK_AUDIT``)."""
    with contextlib.suppress(OSError):
        path.write_text(json.dumps(sorted(sys.modules)), encoding="utf-8")


def _remember(job: Job, event: Event, ref: CommentRef) -> None:
    """The state file says where the comment is from the moment it exists: a job cancelled before
    the flow has taken over still gets it finalised by ``claude-runner finalize``."""
    if job.state_file is None:
        return
    requester = event.actor.login if event.actor else "workflow"
    state = RunState(
        job.platform, job.repo_url, job.run_id, job.job_url, requester, number=event.number, comment=ref
    )
    with contextlib.suppress(OSError):
        job.state_file.write(state)


__all__ = ["Acknowledgement", "Disagreement", "Prefetch", "acknowledge", "new_tracker", "write_audit"]
