"""A clock a test controls, for the adapters' ``clock=`` (``runner.platforms.retry.Clock``) and the
fakes' ``clock=`` (pass ``clock.time``): waits return at once and move the clock; ``advance``
moves it (e.g. past a token's expiry). Stdlib only."""

from __future__ import annotations

import threading
import time


class FakeClock:
    """Epoch time from ``start`` (default: now) and a monotonic time from 0, moved together."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self.elapsed = 0.0
        self.slept: list[float] = []  # every wait asked for, in order
        self._lock = threading.Lock()

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        with self._lock:
            self.now += seconds
            self.elapsed += seconds
