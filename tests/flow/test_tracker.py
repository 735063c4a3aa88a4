"""The tracking comment's end (``publish.Tracker``): a failed final update is retried within a
budget, progress stops once finishing starts, and a comment that stays unfinished says why."""

from __future__ import annotations

import pytest

from runner.errors import PlatformError
from runner.flow.cleanup import CleanupTimeout
from runner.flow.tracker import TRACKING_MARKER, FinalState, Tracker
from runner.platforms.base import CommentRef
from runner.sanitize import Redactor


class Host:
    """A platform whose comment updates fail as told (an exception, or None for success)."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.bodies: dict[int, str] = {}
        self.updates = 0

    def create_comment(self, number: int, body: str) -> CommentRef:
        self.bodies[1] = body
        return CommentRef(1, "https://example.test/c/1")

    def update_comment(self, ref: CommentRef, body: str) -> None:
        self.updates += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.bodies[ref.id] = body


class Budget:
    """Records the pauses; ``allow`` pauses are granted, then there is no time left."""

    def __init__(self, allow: int = 99) -> None:
        self.slept: list[float] = []
        self.allow = allow

    def sleep(self, seconds: float) -> bool:
        if len(self.slept) >= self.allow:
            return False
        self.slept.append(seconds)
        return True

    def call(self, what, fn):
        return fn()


def tracker(host: Host) -> Tracker:
    t = Tracker(
        host, 5, "https://ci.test/job", Redactor(["s3cret-token-0123456789"]), retry_delays=(0.2, 0.6)
    )  # type: ignore[arg-type]
    t.start()
    return t


STATE = FinalState(ok=True, requester="alice", duration_s=3, summary="Done; token s3cret-token-0123456789.")


def test_a_final_update_is_retried_after_each_pause():
    host = Host(PlatformError("GitHub could not update the comment: 502 Bad Gateway"), OSError("reset"))
    t, budget = tracker(host), Budget()
    t.finish(STATE, budget)
    assert budget.slept == [0.2, 0.6] and host.updates == 3
    assert (
        "Claude finished @alice's task" in host.bodies[1] and "s3cret-token-0123456789" not in host.bodies[1]
    )
    assert t.finalised
    t.finish(STATE, budget)  # delivered: nothing more to send
    assert host.updates == 3


def test_every_attempt_failing_raises_a_platform_error_naming_the_last_cause():
    host = Host(*[PlatformError("GitHub could not update the comment: 502 Bad Gateway")] * 3)
    t = tracker(host)
    with pytest.raises(PlatformError) as raised:
        t.finish(STATE, Budget())
    assert (
        "could not finalise the tracking comment https://example.test/c/1 (3 attempts)"
        in raised.value.message
    )
    assert "502 Bad Gateway" in raised.value.message and "finalize" in raised.value.fix
    assert not t.finalised and TRACKING_MARKER in host.bodies[1]  # still the "working" comment


def test_no_retry_once_the_budget_is_spent():
    host = Host(*[PlatformError("502")] * 3)
    t, budget = tracker(host), Budget(allow=0)
    with pytest.raises(PlatformError, match=r"\(1 attempt\)"):
        t.finish(STATE, budget)
    assert host.updates == 1


def test_a_cleanup_timeout_ends_the_retries():
    class Spent(Budget):
        def call(self, what, fn):
            raise CleanupTimeout(f"gave up on {what}")

    host = Host()
    with pytest.raises(PlatformError, match="gave up on the final comment update"):
        tracker(host).finish(STATE, Spent())
    assert host.updates == 0


def test_progress_stops_when_finishing_starts_even_if_the_update_fails():
    host = Host(None, PlatformError("502"))
    t = tracker(host)
    t.retry_delays = ()
    t.clock = lambda: 1e9  # never throttled
    assert t.progress("- [x] one")
    with pytest.raises(PlatformError):
        t.finish(STATE, Budget())
    assert not t.progress("- [x] two")
    assert "two" not in host.bodies[1]
