"""Retries for calls to GitHub and GitLab: one policy, one log line per retry, never a write twice.

Reads and writes that set a value (GET, PUT, PATCH, DELETE, and the POSTs named as reads, such as
a GraphQL query) are retried at the transport, by ``TransportRetry``: a ``urllib3.Retry`` that
PyGithub takes as ``retry=`` and that the GitLab adapter mounts on python-gitlab's session. It
retries 5xx answers, 429, GitHub's rate limits (403 or 429 with ``retry-after`` or
``x-ratelimit-remaining: 0``), connection failures, resets and timeouts, waiting what the server
asks for or an exponential backoff with jitter, within a number of attempts and a total time.

Writes that create something (a comment, a note, a pull request, a review) are never sent twice
blindly: the transport retries them only when the request cannot have been applied (the connection
was never made, or a rate limit refused it). After an ambiguous failure (a 5xx, a reset or a timeout
once the request was sent) ``write_once`` asks the adapter whether the write landed, returns what it
finds, and sends again only when it did not.
"""

from __future__ import annotations

import email.utils
import math
import random
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")
Log = Callable[[str], None]

# 5xx: the server failed (501 says the call is unknown, not that it failed); 429: slow down;
# 403: only when the headers say it is a rate limit (see ``rate_limited``).
RETRY_STATUSES = frozenset({403, 429, *range(500, 600)} - {501})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class ApiRetryPolicy:
    """How hard to try one call: ``attempts`` tries in all, waits from ``base_s`` doubling up to
    ``cap_s`` (with jitter), no retry once ``total_s`` would pass since the first try, and
    ``timeout_s`` for each request to connect and for each read."""

    attempts: int = 6
    base_s: float = 1.0
    cap_s: float = 30.0
    total_s: float = 120.0
    timeout_s: float = 30.0


class Clock(Protocol):
    """Where the adapters get the time and wait: the system's, or a test's."""

    def time(self) -> float:
        """Seconds since the epoch (rate-limit resets and token expiry are epoch times)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (the time budget of a call)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait."""
        ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def stderr_log(line: str) -> None:
    """The default log: one line on stderr."""
    print(line, file=sys.stderr, flush=True)


def rate_limited(headers: Mapping[str, str] | None) -> bool:
    """A refusal that says when to come back: ``retry-after``, or no requests left until a reset."""
    lowered = _lower(headers)
    if "retry-after" in lowered:
        return True
    remaining = lowered.get("x-ratelimit-remaining", lowered.get("ratelimit-remaining"))
    return remaining == "0" and ("x-ratelimit-reset" in lowered or "ratelimit-reset" in lowered)


def seconds(value: float) -> str:
    """A wait as the log shows it: "2 s", "0.4 s"."""
    return f"{value:.0f} s" if value >= 10 or value == int(value) else f"{value:.1f} s"


class Backoff:
    """One host's retry policy with its clock and log: how long to wait, whether to give up, and
    the log line of each retry. ``host`` names the service in the log ("GitHub", "GitLab")."""

    def __init__(
        self,
        host: str,
        policy: ApiRetryPolicy | None = None,
        *,
        log: Log | None = None,
        clock: Clock | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.host, self.policy = host, policy or ApiRetryPolicy()
        self.log = log if log is not None else stderr_log
        self.clock, self.rand = clock if clock is not None else SystemClock(), rand
        self._last = threading.local()  # what the last call on this thread went through

    def server_wait(self, headers: Mapping[str, str] | None) -> float | None:
        """The wait the server asked for: ``retry-after`` (seconds or a date), or until the
        rate limit resets (``x-ratelimit-reset``, GitLab's ``ratelimit-reset``: epoch seconds)."""
        lowered = _lower(headers)
        raw = lowered.get("retry-after", "").strip()
        if raw:
            if raw.isdigit():
                return float(raw)
            try:
                when = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(0.0, when.timestamp() - self.clock.time())
        if rate_limited(headers):
            reset = lowered.get("x-ratelimit-reset", lowered.get("ratelimit-reset", ""))
            if reset.strip().isdigit():
                return max(0.0, int(reset) - self.clock.time()) + 1  # the reset second is not exact
        return None

    def delay(self, attempt: int, headers: Mapping[str, str] | None = None) -> float:
        """The wait after failed try ``attempt`` (1 for the first): the server's, else exponential
        from ``base_s`` up to ``cap_s``, a random half to all of it."""
        asked = self.server_wait(headers)
        if asked is not None:
            return asked
        step = min(self.policy.cap_s, self.policy.base_s * 2.0 ** (attempt - 1))
        return step / 2 + self.rand() * step / 2

    def next_wait(
        self, attempt: int, started: float, headers: Mapping[str, str] | None = None
    ) -> float | None:
        """The wait before another try after failed try ``attempt``, or None to give up: no
        attempts left, or the wait would end past ``total_s`` since the call began (``started``,
        on the monotonic clock)."""
        self._last.attempts = attempt
        if attempt >= self.policy.attempts:
            return None
        wait = self.delay(attempt, headers)
        if self.clock.monotonic() - started + wait > self.policy.total_s:
            self._last.gave_up = (
                f"waiting {seconds(wait)} more would pass the {seconds(self.policy.total_s)} limit"
            )
            return None
        return wait

    def retrying(self, what: str, method: str, path: str, wait: float, attempt: int, note: str = "") -> None:
        """Log one retry: "GitHub API 502 on GET /x, retrying in 2 s (attempt 2 of 6)"."""
        self.log(
            f"{self.host} API {what} on {method} {path}{note}, retrying in {seconds(wait)} "
            f"(attempt {attempt + 1} of {self.policy.attempts})"
        )

    def since(self, lookback_s: float) -> str:
        """The time ``lookback_s`` ago in ISO 8601 (UTC), for a lookup of something written from
        now on: a little slack, as the runner's clock and the host's may disagree."""
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock.time() - lookback_s))

    def whole_seconds_timeout(self) -> int:
        """``timeout_s`` rounded up to whole seconds (PyGithub takes no fraction), at least 1."""
        return max(1, math.ceil(self.policy.timeout_s))

    def begin(self) -> None:
        """Forget what the previous call on this thread went through (see ``after``)."""
        self._last.attempts, self._last.gave_up = 1, None

    def after(self) -> str:
        """How the last call on this thread ended its retries, for an error message: "" when it
        was tried once, else e.g. " after 6 attempts"."""
        attempts = getattr(self._last, "attempts", 1)
        gave_up = getattr(self._last, "gave_up", None)
        if gave_up:
            return f" after {attempts} attempt{'s' if attempts > 1 else ''} ({gave_up})"
        return f" after {attempts} attempts" if attempts > 1 else ""


def transport_failure(exc: BaseException) -> tuple[str, bool]:
    """What went wrong with a request that got no answer, and whether it may have been applied:
    ("connection refused", False) when no connection was made, ("connection reset", True),
    ("timeout", True) once it was sent."""
    from urllib3.exceptions import NewConnectionError, SSLError  # loaded by the SDK that raised it

    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__ or _reason(seen)
    names = " ".join(type(e).__name__ for e in chain)
    if any(isinstance(e, SSLError) for e in chain):
        return "TLS error", False
    if any(isinstance(e, NewConnectionError) for e in chain) or "ConnectTimeout" in names:
        return ("connection timeout" if "Timeout" in names else "connection refused"), False
    if "Timeout" in names:
        return "timeout", True
    if any(isinstance(e, ConnectionResetError) for e in chain) or "RemoteDisconnected" in names:
        return "connection reset", True
    return "connection error", True


def write_once(
    backoff: Backoff,
    method: str,
    path: str,
    *,
    send: Callable[[], T],
    ambiguous: Callable[[Exception], str | None],
    landed: Callable[[], T | None],
    noun: str = "write",
    conflict: Callable[[Exception], bool] | None = None,
) -> T:
    """Send a write that creates something, at most once in effect.

    ``ambiguous(exc)`` says why a failure may have left the write applied (e.g. "502",
    "connection reset"), or None for a plain failure, which is raised. After an ambiguous failure
    ``landed()`` looks for the result (a comment with the exact body by the runner, the pull request
    from the branch); found, it is returned; else the write is sent again after a backoff. If that
    one is refused as a duplicate (``conflict(exc)``), the first landed after all: it is looked for
    once more."""
    started, attempt = backoff.clock.monotonic(), 1
    while True:
        try:
            return send()
        except Exception as exc:
            why = ambiguous(exc)
            duplicate = attempt > 1 and conflict is not None and conflict(exc)
            if why is None and not duplicate:
                raise
            found = landed()
            if found is not None:
                what = why or "a duplicate refused"
                backoff.log(
                    f"{backoff.host} API {what} on {method} {path}, but the {noun} was made: using it"
                )
                return found
            wait = None if why is None else backoff.next_wait(attempt, started)
            if why is None or wait is None:
                raise
            backoff.retrying(why, method, path, wait, attempt, note=f" and no {noun} was made")
            backoff.clock.sleep(wait)
            attempt += 1


def _lower(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


def _reason(exc: BaseException) -> BaseException | None:
    """The error a wrapper carries without chaining it (``MaxRetryError.reason``, requests' args)."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    args = getattr(exc, "args", ())
    return next((a for a in args if isinstance(a, BaseException)), None)
