"""When and how long to wait before retrying a model call: pure decisions, no I/O."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# 408 timeout, 409 conflict, 429 rate limit, 5xx server errors, 529 overloaded.
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})

# Claude Code's `system/api_retry` error categories.
_KIND_BY_STATUS = {
    400: "invalid_request",
    401: "authentication_failed",
    402: "billing_error",
    403: "authentication_failed",
    404: "model_not_found",
    413: "invalid_request",
    429: "rate_limit",
}

# An `error` event inside a streamed (HTTP 200) reply carries only the error's type; it is
# handled like the HTTP status the API answers that type with when it can still choose one.
_STATUS_BY_STREAM_ERROR = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
    # Amazon Bedrock's event-stream exceptions, as the SDK re-shapes them (lower-cased here).
    "validationexception": 400,
    "modeltimeoutexception": 408,
    "throttlingexception": 429,
    "internalserverexception": 500,
    "modelstreamerrorexception": 500,
    "serviceunavailableexception": 503,
}


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry and the backoff: exponential from ``base_s``, capped, full jitter."""

    max_retries: int = 8
    base_s: float = 0.5
    cap_s: float = 32.0


def error_kind(status: int | None) -> str:
    """The ``error`` field of a ``system/api_retry`` event for an HTTP status (None: no response)."""
    if status is None:
        return "server_error"
    if status in _KIND_BY_STATUS:
        return _KIND_BY_STATUS[status]
    return "server_error" if status >= 500 else "unknown"


def stream_error_status(error_type: str | None) -> int:
    """The HTTP status an ``error`` event of this type is handled like.

    An unknown (or missing) type counts as 500: the server failed part-way through a reply
    it had accepted, which is worth the same bounded retries as any server error.
    """
    if not error_type:
        return 500
    return _STATUS_BY_STREAM_ERROR.get(error_type, _STATUS_BY_STREAM_ERROR.get(error_type.lower(), 500))


def is_retryable(status: int | None) -> bool:
    """True for statuses worth another try; None means the connection failed or dropped."""
    return status is None or status in RETRYABLE_STATUS


def retry_after_s(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The server's requested wait: ``retry-after-ms``, ``retry-after`` seconds or HTTP date."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000, 0.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    import email.utils  # rarely needed: servers send seconds

    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if parsed is None:
        return None
    current = time.time() if now is None else now
    return max(parsed.timestamp() - current, 0.0)


def retry_delay(
    attempt: int,
    policy: RetryPolicy,
    headers: Mapping[str, str] | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based).

    A server's retry-after wins (it knows when capacity returns); otherwise exponential
    backoff with full jitter, so many CI jobs hitting one limit do not retry in lockstep.
    """
    requested = retry_after_s(headers or {})
    if requested is not None:
        return min(requested, policy.cap_s * 2)
    ceiling = min(policy.cap_s, policy.base_s * 2.0 ** (attempt - 1))
    return ceiling / 2 + rand() * ceiling / 2
