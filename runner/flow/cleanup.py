"""The end of a run, bounded: saving the work and the final comment after a signal.

A cancelled CI job gets a signal, then another, then SIGKILL (GitHub Actions: SIGINT, SIGTERM
7.5 s later, SIGKILL 2.5 s after that; GitLab: SIGTERM, then SIGKILL). The first signal cancels
the agent's turn (``runner.agent.headless.graceful_signals``); from then on the run only cleans
up, and ``Cleanup`` keeps that within ``bound_s``: a later signal is noted in the log instead of
killing the process half way through a push or the final comment, and each step of the cleanup
gives up when the bound is reached. Whatever is left then is for ``claude-runner finalize``.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Protocol, TypeVar

from runner.errors import PlatformError

T = TypeVar("T")

CLEANUP_S = 10.0  # after a signal, the cleanup ends within this many seconds
FINAL_RESERVE_S = 4.0  # of which the final comment keeps this much: a push may not use it up
_POLL_S = 0.05
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class CleanupTimeout(PlatformError):
    """A cleanup step did not finish before the bound (it is left running; the process exits)."""


class Budget(Protocol):
    """How long cleanup steps may take: what ``Tracker.deliver`` retries within."""

    def sleep(self, seconds: float) -> bool:
        """Wait before a retry; False when there is no time left for one."""
        ...

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one step; raises ``CleanupTimeout`` when it outlives the budget."""
        ...


class Unbounded:
    """No bound: sleep and call as asked (a run that was not cancelled)."""

    def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds``."""
        time.sleep(seconds)
        return True

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """``fn()``."""
        return fn()


class Cleanup:
    """The cleanup of one run: its signal handlers, its deadline, its bounded steps."""

    def __init__(
        self,
        log: Callable[[str], None],
        bound_s: float = CLEANUP_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log, self.bound_s, self.clock = log, bound_s, clock
        self.deadline: float | None = None
        self.interrupted = False  # the run itself was stopped by a signal
        self._signals: list[str] = []  # names, appended by the handler
        self._reported = 0

    # --- signals ------------------------------------------------------------------------------
    @contextmanager
    def signals(self) -> Iterator[None]:
        """Handle SIGTERM and SIGINT as cleanup signals while the block runs; the run's own
        handler (``graceful_signals``, inside the block) restores these when the turn ends."""
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread may set handlers (an in-process test harness)
            return
        previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}
        self.arm()
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def arm(self) -> None:
        """(Re)install the cleanup handlers: nothing may interrupt the cleanup from here on."""
        if threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        # No logging here: the main thread may be in the middle of a write to the same stream.
        self._signals.append(signal.Signals(signum).name)
        self.start_clock()

    def start_clock(self) -> None:
        """Start the bound (at the first signal, or when the run was interrupted)."""
        if self.deadline is None:
            self.deadline = self.clock() + self.bound_s

    def remaining(self) -> float | None:
        """Seconds left before the bound, or None when there is no bound."""
        return None if self.deadline is None else max(0.0, self.deadline - self.clock())

    def report(self) -> None:
        """Log the signals received since the last report."""
        while self._reported < len(self._signals):
            name = self._signals[self._reported]
            second = self.interrupted or self._reported > 0
            self._reported += 1
            left = self.remaining() or 0.0
            self.log(
                f"{'second ' if second else ''}signal during cleanup ({name}): finishing within {left:.0f} s"
            )

    # --- bounded steps (Budget) ------------------------------------------------------------------
    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless that would pass the bound (then False, at once)."""
        end = self.clock() + seconds
        while (now := self.clock()) < end:
            self.report()
            if self.deadline is not None and end > self.deadline:
                return False
            time.sleep(min(_POLL_S, end - now))
        return True

    def call(self, what: str, fn: Callable[[], T], *, reserve_s: float = 0.0) -> T:
        """``fn()`` in a worker thread, waited for until the bound (less ``reserve_s``) is reached;
        a signal meanwhile is noted, not raised. ``CleanupTimeout`` when the bound came first."""
        box: dict[str, T] = {}
        failure: list[BaseException] = []
        done = threading.Event()

        def work() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed to the waiting thread
                failure.append(exc)
            finally:
                done.set()

        threading.Thread(target=work, name=f"cleanup: {what}", daemon=True).start()
        while not done.wait(_POLL_S):
            self.report()
            if self.deadline is not None and self.clock() >= self.deadline - reserve_s:
                raise CleanupTimeout(
                    f"gave up on {what}: the cleanup bound of {self.bound_s:.0f} s was reached"
                )
        self.report()
        if failure:
            raise failure[0]
        return box["value"]
