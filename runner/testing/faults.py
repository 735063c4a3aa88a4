"""Fault hooks for the loopback fakes of GitHub and GitLab (stdlib only).

Each fake has a ``faults`` attribute (a ``Faults``): queue faults for a route (the fake's route
names: ``get_permission``, ``create_comment``, ``graphql``, ``create_note``, ...) and the next
matching requests get them, after authentication and before (or, with ``apply``, after) the
request takes effect:

    fake.faults.fail("get_permission", 502, times=2)           # two 502s, then the real answer
    fake.faults.rate_limit("create_comment", retry_after=1)     # 403 + retry-after: a secondary limit
    fake.faults.rate_limit("get_issue", reset_in=2)             # 403 + x-ratelimit-remaining: 0
    fake.faults.reset("list_reviews")                            # the connection closes, no answer
    fake.faults.hang("graphql")                                  # no answer until the client gives up
    fake.faults.apply_then_fail("create_comment")               # the comment is made, the answer is 502
    fake.faults.fail("get_issue", 503, times=None)               # every time, until ``clear``
    fake.faults.latency(0.05)                                    # every answer 50 ms late: a round trip

``fake.faults.hits`` lists the faults served, as (route, fault). A hanging request is released
when ``hang_s`` passes or the fake stops. With a latency, ``round_trip_levels`` says how many
sequential round trips a client's requests took (their start and end times, as the fake saw them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

R = TypeVar("R")
Kind = Literal["status", "reset", "hang"]

__all__ = ["Drop", "Fault", "FaultHit", "Faults", "round_trip_levels"]


@dataclass(frozen=True)
class Fault:
    """One injected failure: an error ``status`` (with ``headers`` and ``message``), a connection
    ``reset`` without an answer, or a ``hang``; ``apply``: the request takes effect first."""

    kind: Kind = "status"
    status: int = 502
    headers: Mapping[str, str] = field(default_factory=dict)
    message: str | None = None
    apply: bool = False


class FaultHit(Exception):
    """Raised inside a fake's dispatch: answer with ``fault`` instead of the real reply."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"injected {fault.kind} {fault.status}")
        self.fault = fault


class Drop(Exception):
    """Raised to a fake's request handler: send no answer (``kind``: "reset" or "hang")."""

    def __init__(self, kind: Kind) -> None:
        super().__init__(kind)
        self.kind = kind


class Faults:
    """Per-route fault queues of one fake (thread-safe)."""

    def __init__(self, *, clock: Callable[[], float] | None = None, hang_s: float = 30.0) -> None:
        self.hang_s = hang_s
        self.hits: list[tuple[str, Fault]] = []
        self._clock = clock
        self._queues: dict[str, list[tuple[Fault, int | None]]] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.latency_s = 0.0

    # -- queueing -----------------------------------------------------------------------------------
    def add(self, route: str, fault: Fault | None = None, *, times: int | None = 1) -> None:
        """Serve ``fault`` to the next ``times`` requests to ``route`` (None: every one, until
        ``clear``). Faults queued for one route are served in order."""
        with self._lock:
            self._queues.setdefault(route, []).append((fault or Fault(), times))

    def fail(
        self,
        route: str,
        status: int = 502,
        *,
        times: int | None = 1,
        headers: Mapping[str, str] | None = None,
        message: str | None = None,
    ) -> None:
        """Answer ``status`` (GitHub's or GitLab's error body) without doing anything."""
        self.add(route, Fault("status", status, dict(headers or {}), message), times=times)

    def apply_then_fail(self, route: str, status: int = 502, *, times: int | None = 1) -> None:
        """Do what the request asks (post the comment, open the pull request), then answer ``status``."""
        self.add(route, Fault("status", status, apply=True), times=times)

    def reset(self, route: str, *, times: int | None = 1, apply: bool = False) -> None:
        """Close the connection without an answer (after doing the request, with ``apply``)."""
        self.add(route, Fault("reset", 0, apply=apply), times=times)

    def hang(self, route: str, *, times: int | None = 1, apply: bool = False) -> None:
        """Send no answer for ``hang_s`` (the client's timeout should fire first), then close."""
        self.add(route, Fault("hang", 0, apply=apply), times=times)

    def rate_limit(
        self,
        route: str,
        *,
        retry_after: int | None = None,
        reset_in: int | None = None,
        status: int = 403,
        times: int | None = 1,
        message: str | None = None,
    ) -> None:
        """A secondary rate limit as GitHub documents it: ``status`` (403 or 429) with
        ``retry-after: N``, or (``reset_in``) with ``x-ratelimit-remaining: 0`` and an
        ``x-ratelimit-reset`` that many seconds ahead of the fake's clock."""
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["retry-after"] = str(retry_after)
        if reset_in is not None:
            now = self._clock() if self._clock is not None else 0.0
            headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + reset_in)})
        text = message or (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        )
        self.add(route, Fault("status", status, headers, text), times=times)

    def latency(self, seconds: float) -> None:
        """Answer every request ``seconds`` late (a simulated network round trip; 0: none). The
        wait is on the request's own server thread, so concurrent requests wait side by side."""
        self.latency_s = seconds

    def delay(self) -> None:
        """Wait out the latency (the fakes call this before they answer)."""
        if self.latency_s > 0:
            self._release.wait(self.latency_s)

    def clear(self) -> None:
        """Drop every queued fault (hanging requests are not released: see ``release``)."""
        with self._lock:
            self._queues.clear()

    # -- serving (the fakes call these) ------------------------------------------------------------
    def take(self, route: str) -> Fault | None:
        """The fault for this request to ``route``, if one is queued (and count it as served)."""
        with self._lock:
            queue = self._queues.get(route)
            if not queue:
                return None
            fault, times = queue[0]
            if times is not None:
                if times <= 1:
                    queue.pop(0)
                else:
                    queue[0] = (fault, times - 1)
            self.hits.append((route, fault))
            return fault

    def run(self, route: str, call: Callable[[], R]) -> R:
        """``call()`` (the endpoint), unless a fault is queued for ``route``: then raise ``FaultHit``
        (after ``call()`` when the fault applies the request first)."""
        fault = self.take(route)
        if fault is None:
            return call()
        if fault.apply:
            call()
        raise FaultHit(fault)

    def wait_hang(self) -> None:
        """Hold a hanging request until ``hang_s`` passes or ``release``."""
        self._release.wait(self.hang_s)

    def release(self) -> None:
        """Let hanging requests go (the fakes call this when they stop)."""
        self._release.set()

    @property
    def released(self) -> bool:
        """Whether hanging requests are let go at once (the fake has stopped)."""
        return self._release.is_set()

    def rearm(self) -> None:
        """Hang again after a ``release`` (the fakes call this when they start)."""
        self._release.clear()


def round_trip_levels(spans: list[tuple[float, float]]) -> int:
    """How many sequential round trips the requests with these (start, end) times took: a request
    is one level past the deepest request that had ended before it started. With a latency well
    above the client's own work, requests sent together share a level and a request that waited
    for an answer (or for a free connection) is a level deeper."""
    ordered = sorted(spans)
    levels: list[int] = []
    for i, (start, _) in enumerate(ordered):
        before = [levels[j] for j in range(i) if ordered[j][1] <= start]
        levels.append(1 + max(before, default=0))
    return max(levels, default=0)
