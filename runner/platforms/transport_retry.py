"""``TransportRetry``: the ``urllib3.Retry`` that PyGithub and python-gitlab's session take, with
``Backoff``'s policy, log and clock (the rules are in ``retry.py``'s docstring). Its own module so
that ``retry.py`` loads without urllib3: the acknowledgement's small HTTP client needs the policy,
not urllib3.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import TracebackType
from typing import Any, NoReturn, Self
from urllib.parse import urlsplit

from urllib3.exceptions import MaxRetryError, ResponseError, SSLError
from urllib3.util.retry import RequestHistory, Retry

from runner.platforms.retry import RETRY_STATUSES, SAFE_METHODS, Backoff, rate_limited, transport_failure


def transport(backoff: Backoff, *, read_posts: Collection[str] = ()) -> TransportRetry:
    """The ``urllib3.Retry`` for ``backoff``'s policy; ``read_posts``: paths whose POST is safe to
    send again (a read, or a harmless duplicate); "*/x" matches every path ending in "/x"."""
    return TransportRetry(backoff=backoff, read_posts=frozenset(read_posts))


class TransportRetry(Retry):
    """``urllib3.Retry`` with ``Backoff``'s policy, log and clock (see the module's docstring)."""

    def __init__(
        self,
        *,
        backoff: Backoff,
        read_posts: frozenset[str] = frozenset(),
        started: float | None = None,
        wait: float = 0.0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("total", None)  # ``increment`` decides when to give up
        kwargs.setdefault("allowed_methods", None)  # ``increment`` decides which methods are safe
        kwargs.setdefault("status_forcelist", RETRY_STATUSES)
        kwargs.setdefault("raise_on_status", False)  # a last bad answer goes to the SDK, which raises
        super().__init__(**kwargs)
        self.backoff, self.read_posts, self.started, self.wait = backoff, read_posts, started, wait

    def new(self, **kw: Any) -> Self:
        extras = {"backoff": self.backoff, "read_posts": self.read_posts, "started": self.started}
        return super().new(**{**extras, "wait": self.wait, **kw})

    def _read_post(self, path: str) -> bool:
        return path in self.read_posts or any(
            p.startswith("*") and path.endswith(p[1:]) for p in self.read_posts
        )

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        return status_code in RETRY_STATUSES

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        started = self.started if self.started is not None else self.backoff.clock.monotonic()
        attempt, verb = len(self.history) + 1, (method or "GET").upper()
        path = urlsplit(url or "").path or "/"
        safe = verb in SAFE_METHODS or (verb == "POST" and self._read_post(path))
        headers: Mapping[str, str] | None = None
        status = None
        if error is not None:
            what, maybe_applied = transport_failure(error)
            if maybe_applied and not safe:  # the adapter looks before it writes again
                raise error.with_traceback(_stacktrace)
            if isinstance(error, SSLError):  # a certificate problem does not go away by waiting
                self._give_up(url, _pool, error, None)
        else:
            status = int(getattr(response, "status", 0))
            headers = getattr(response, "headers", None)
            what = str(status)
            limited = status == 429 or rate_limited(headers)
            if (status == 403 and not limited) or (status >= 500 and not safe):
                self._give_up(url, _pool, None, status)  # a refusal; or a write to look for
        wait = self.backoff.next_wait(attempt, started, headers)
        if wait is None:
            self._give_up(url, _pool, error, status)
        self.backoff.retrying(what, verb, path, wait, attempt)
        history = (*self.history, RequestHistory(method, url, error, status, None))
        return self.new(history=history, started=started, wait=wait)

    def _give_up(self, url: str | None, pool: Any, error: Exception | None, status: int | None) -> NoReturn:
        reason = error or ResponseError(ResponseError.SPECIFIC_ERROR.format(status_code=status))
        raise MaxRetryError(pool, url or "", reason)

    def sleep(self, response: Any = None) -> None:
        if self.wait > 0:
            self.backoff.clock.sleep(self.wait)
