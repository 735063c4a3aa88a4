"""The tracking comment: posted before anything slow happens, updated with the agent's checklist
(throttled), and finalised exactly once: success with links and numbers, or the (redacted) error
with links to any partial work. A sticky comment is only ever this run's or a finished run's.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runner.errors import PlatformError, RunnerError
from runner.flow.cleanup import Budget, CleanupTimeout, Unbounded
from runner.flow.prompts import render
from runner.platforms.refs import CommentRef
from runner.quick.comment import TRACKING_MARKER as TRACKING_MARKER
from runner.quick.comment import WORKING_MARKER as WORKING_MARKER
from runner.quick.comment import run_marker
from runner.quick.comment import working_body as working_body
from runner.sanitize import Redactor, clean_untrusted

if TYPE_CHECKING:
    from runner.platforms.base import Platform

PROGRESS_INTERVAL_S = 2.0  # GitHub rate-limits comment edits; a checklist need not be faster
FINAL_RETRY_DELAYS = (1.0, 3.0)  # a failed final update is tried twice more, after these pauses


@dataclass(frozen=True)
class FinalState:
    """How a run ended, for the final comment and the job outputs."""

    ok: bool
    requester: str
    duration_s: float
    summary: str = ""
    error: str = ""
    branch: str | None = None
    links: tuple[tuple[str, str], ...] = ()  # (label, url): job, branch, PR, "Create PR"
    num_turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cost_is_estimate: bool = False  # a model's id was not in the price table
    model: str = ""
    offered: str = ""  # a fork's changes: suggestions posted, and a diff of the rest (markdown)
    work: str = ""  # where the work is when a push failed, and what the commit left out (markdown)


def format_duration(seconds: float) -> str:
    """``1m 5s`` / ``40s``, as people read durations."""
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def format_stats(state: FinalState) -> str:
    """The small print under a final comment."""
    tokens = state.input_tokens + state.output_tokens
    size = f"{tokens / 1000:.1f}k" if tokens >= 1000 else str(tokens)
    cost = f"~${state.cost_usd:.4f} (estimate)" if state.cost_is_estimate else f"${state.cost_usd:.4f}"
    parts = [f"{state.num_turns} turns", f"{size} tokens", cost]
    if state.model:
        parts.append(state.model)
    return " · ".join(parts)


@dataclass
class Tracker:
    """One tracking comment: started, updated with progress, finalised exactly once."""

    platform: Platform
    number: int
    job_url: str | None
    redactor: Redactor
    reply_to: int | None = None  # a review comment / threaded note id: answer in its thread
    reply_thread: str | None = None  # GitLab: that note's discussion id
    sticky: bool = False
    template: str | None = None  # a repository's comment template (from the default branch)
    clock: Callable[[], float] = time.monotonic
    run_id: str = field(default_factory=lambda: os.urandom(6).hex())  # marks the comments of this run
    ref: CommentRef | None = None
    finalised: bool = False  # the final body was delivered
    retry_delays: tuple[float, ...] = FINAL_RETRY_DELAYS  # before each retry of a failed final update
    _closing: bool = field(default=False, repr=False)  # finishing: no more progress updates
    _last_update: float = field(default=0.0, repr=False)
    _pending: str | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self) -> CommentRef:
        """Post (or, for a sticky comment, reuse) the "working" comment."""
        body = self._working(None)
        if self.sticky and self.reply_to is None:
            existing = self.platform.find_comment(self.number, TRACKING_MARKER)
            # A sticky comment another run is still working on is not taken over: its answer
            # would be lost. Two runs that take the same finished one at once: the one whose
            # marker is not there when it reads the comment back posts its own.
            if existing is not None and WORKING_MARKER not in (existing.body or ""):
                self.platform.update_comment(existing, body)
                mine = self.platform.find_comment(self.number, self.run_marker)
                if mine is not None and mine.id == existing.id:
                    self.ref = existing
                    self._last_update = self.clock()
                    return existing
        if self.reply_to is not None:
            self.ref = self.platform.reply_to_review_comment(
                self.number, self.reply_to, body, discussion_id=self.reply_thread
            )
        else:
            self.ref = self.platform.create_comment(self.number, body)
        self._last_update = self.clock()
        return self.ref

    def start_with(self, post: Callable[[str], CommentRef]) -> CommentRef:
        """Post the "working" comment with ``post`` instead of the platform (the acknowledgement's
        small client, before the platform's SDK is loaded); a plain new comment, not a sticky one."""
        self.ref = post(self._working(None))
        self._last_update = self.clock()
        return self.ref

    def adopt(self, ref: CommentRef, run_id: str) -> None:
        """Take over the "working" comment ``ref`` posted for this run (by the quick
        acknowledgement, ``runner/quick/``) with the run marker ``run_id``."""
        self.ref, self.run_id = ref, run_id
        self._last_update = self.clock()

    def progress(self, checklist: str) -> bool:
        """Show the agent's checklist; returns False when throttled (shown at the next update)."""
        with self._lock:
            if self.ref is None or self._closing:
                return False
            self._pending = checklist
            if self.clock() - self._last_update < PROGRESS_INTERVAL_S:
                return False
            self.platform.update_comment(self.ref, self._working(checklist))
            self._last_update = self.clock()
            self._pending = None
            return True

    def finish(self, state: FinalState, budget: Budget | None = None) -> None:
        """Write the final state (see ``deliver``)."""
        self.deliver(self.final_body(state), budget)

    def final_body(self, state: FinalState) -> str:
        """The final comment for ``state``, redacted."""
        body = render(
            "comment_final.j2",
            self.template,
            marker=TRACKING_MARKER,
            ok=state.ok,
            requester=state.requester,
            duration=format_duration(state.duration_s),
            links=list(state.links),
            error=self.redactor.text(state.error),
            branch=state.branch,
            summary=self.redactor.text(state.summary),
            stats=format_stats(state),
            offered=self.redactor.text(state.offered),
            work=self.redactor.text(state.work),
        )
        if state.work.strip() and self.redactor.text(state.work).strip() not in body:
            body += "\n" + self.redactor.text(state.work)  # a repository's template without {{ work }}
        return self.redactor.text(body)

    def deliver(self, body: str, budget: Budget | None = None) -> None:
        """Replace the comment with its final ``body``. A failed update is retried after each of
        ``retry_delays`` while ``budget`` allows; when every attempt failed, ``PlatformError``
        says why. Once delivered, later calls do nothing; progress updates stop at the first call."""
        budget = budget or Unbounded()
        with self._lock:
            if self.finalised or self.ref is None:
                return
            self._closing = True
            ref = self.ref
        if self.sticky and ref.kind == "issue":
            ref = self._still_mine(ref, body)
        failures: list[str] = []
        for delay in (0.0, *self.retry_delays):
            if delay and not budget.sleep(delay):
                break
            try:
                budget.call("the final comment update", lambda: self.platform.update_comment(ref, body))
            except CleanupTimeout as exc:
                failures.append(exc.message)
                break
            except Exception as exc:  # a 5xx, a reset connection: try again
                failures.append(
                    exc.one_line() if isinstance(exc, RunnerError) else f"{type(exc).__name__}: {exc}"
                )
                continue
            with self._lock:
                self.finalised = True
            return
        attempts = f"{len(failures)} attempt{'s' if len(failures) > 1 else ''}"
        raise PlatformError(
            f"could not finalise the tracking comment {ref.url} ({attempts}): {failures[-1]}",
            "`claude-runner finalize` (the action's always() step, or after_script) tries again",
        )

    @property
    def run_marker(self) -> str:
        """The hidden line that says a comment is this run's."""
        return run_marker(self.run_id)

    def _still_mine(self, ref: CommentRef, body: str) -> CommentRef:
        """Read before write: a sticky comment another run took over meanwhile keeps that run's
        answer, and this run's final answer goes to a comment of its own."""
        try:
            mine = self.platform.find_comment(self.number, self.run_marker)
        except Exception:  # cannot tell: updating what this run posted is the better guess
            return ref
        if mine is not None and mine.id == ref.id:
            return ref
        new = self.platform.create_comment(self.number, body)
        with self._lock:
            self.ref = new
        return new

    def _working(self, checklist: str | None) -> str:
        progress = clean_untrusted(checklist, self.redactor) if checklist else None
        body = working_body(TRACKING_MARKER, self.job_url, progress)
        return self.redactor.text(body).rstrip("\n") + f"\n{WORKING_MARKER}{self.run_marker}\n"
