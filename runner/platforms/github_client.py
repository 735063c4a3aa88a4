"""The GitHub adapter's transport: PyGithub's requester with our retries and tokens, GitHub's errors
as ours, pages, GraphQL, the runner's own identity, and writes that create something made once.

Every request goes through ``request`` (REST) or ``graphql``; ``call`` turns what can go wrong into
a one-line ``RunnerError``: a 401 is a ``CredentialsError`` ("expired or revoked" once the token
has worked), an answer that kept failing or a host that cannot be reached a ``PlatformUnavailable``,
any other refusal a ``PlatformError`` with GitHub's message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

from runner.errors import CredentialsError, PlatformError, PlatformUnavailable
from runner.platforms.github_auth import AppTokens, Tokens, token_auth
from runner.platforms.github_data import error_message, next_link
from runner.platforms.retry import RETRY_STATUSES, Backoff, rate_limited, transport_failure, write_once
from runner.platforms.seal import Seal, seal_for

if TYPE_CHECKING:
    from github import Github

T = TypeVar("T")
PER_PAGE = 100  # the most GitHub serves per page: fewest requests for big threads
STATUS_PAGE = "https://www.githubstatus.com"


class GitHubClient:
    """Requests to one GitHub API (``api_url``, GraphQL at ``graphql_url``) with ``tokens``."""

    def __init__(self, api_url: str, graphql_url: str, tokens: Tokens, backoff: Backoff) -> None:
        self.api_url, self.graphql_url, self.tokens, self.backoff = api_url, graphql_url, tokens, backoff
        self.requests = 0  # counted so the context budget (requests per thread) can be asserted
        self.authenticated = False  # a request has succeeded with our token
        self._count = threading.Lock()
        # One PyGithub client per thread: its requester shares one connection object whose
        # request() and getresponse() are separate calls, so two threads must not share it.
        self._local = threading.local()
        self._identity: str | None = None  # "" once GitHub would not say
        self._seal: Seal | None = None

    @property
    def github(self) -> Github:
        """This thread's PyGithub client (created on its first use)."""
        client: Github | None = getattr(self._local, "github", None)
        if client is None:
            from github import Github

            client = self._local.github = Github(
                auth=token_auth(self.tokens),
                base_url=self.api_url,
                per_page=PER_PAGE,
                lazy=True,
                retry=self.backoff.transport(read_posts={urlsplit(self.graphql_url).path}),
                timeout=self.backoff.whole_seconds_timeout(),
                # We throttle our own writes (progress updates); PyGithub's default pauses
                # (0.25 s per request, 1 s per write) would triple the time to first comment.
                seconds_between_requests=None,
                seconds_between_writes=None,
            )
        return client

    # --- requests -------------------------------------------------------------------------
    def request(
        self, verb: str, path: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], Any]:
        """One REST call (retried as ``retry.py`` says): the answer's headers and JSON."""
        with self._count:
            self.requests += 1
        url = path if path.startswith("http") else self.api_url + path
        headers, data = self.github.requester.requestJsonAndCheck(verb, url, parameters=params, input=body)
        self.authenticated = True
        return headers, data

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` (which makes requests), turning failures into one-line errors naming ``what``."""
        import requests
        from github import GithubException

        self.backoff.begin()
        try:
            return fn(*args, **kwargs)
        except GithubException as exc:
            raise self.error(what, exc) from exc
        except requests.RequestException as exc:
            why, _ = transport_failure(exc)
            where = _where(exc)
            raise PlatformUnavailable(
                f"GitHub API unreachable while trying to {what}: {why}{where}{self.backoff.after()}",
                f"check that {urlsplit(self.api_url).netloc} answers ({STATUS_PAGE}), then run the job again",
            ) from exc

    def error(self, what: str, exc: Any) -> PlatformError | CredentialsError:
        """GitHub's refusal ``exc`` (a ``GithubException``) as one of our errors."""
        status, headers = int(exc.status or 0), cast(Mapping[str, str], exc.headers or {})
        message = f"{status} {error_message(exc)}"
        if status == 401:
            if self.authenticated or self.tokens.minted:
                return CredentialsError(
                    f"the GitHub token expired or was revoked (401 while trying to {what})",
                    "run the job again; a github_token must stay valid for the whole job",
                )
            return CredentialsError(
                f"GitHub rejected the token while trying to {what}",
                "check github_token or the App installation",
            )
        if status in (403, 429) and (status == 429 or rate_limited(headers)):
            wait = self.backoff.server_wait(headers)
            until = f" (GitHub asks to wait {wait:.0f} s)" if wait else ""
            return PlatformUnavailable(
                f"GitHub API rate limit while trying to {what}: {message}{until}{self.backoff.after()}",
                "run the job again once the limit resets",
            )
        if status in RETRY_STATUSES and status != 403:
            return PlatformUnavailable(
                f"GitHub API kept failing while trying to {what}: {message}{self.backoff.after()}",
                f"GitHub may be having an outage ({STATUS_PAGE}); run the job again later",
            )
        return PlatformError(f"GitHub could not {what}: {message}")

    def get(self, what: str, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path``'s JSON."""
        return self.call(what, lambda: self.request("GET", path, None, params)[1])

    def pages(self, what: str, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a paginated list (see ``fetch_pages``), failures as one-line errors."""
        return self.call(what, self.fetch_pages, path, params)

    def fetch_pages(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a paginated list: 100 a page, following ``Link: rel="next"``."""
        items: list[dict[str, Any]] = []
        url: str | None = path
        query: dict[str, Any] | None = {"per_page": PER_PAGE, **(params or {})}
        while url:
            headers, batch = self.request("GET", url, None, query)
            items.extend(batch)
            url, query = next_link(headers.get("link", "")), None  # the next URL carries its query
        return items

    def graphql(
        self, what: str, query: str, variables: dict[str, Any], *, missing_ok: bool = False
    ) -> dict[str, Any]:
        """One GraphQL query (a POST that only reads: retried like a GET); a GraphQL error (HTTP 200)
        is a ``PlatformError`` with GitHub's first message. ``missing_ok``: NOT_FOUND errors (an
        object deleted meanwhile, answered as a null) are not errors."""
        response = self.call(
            what, lambda: self.request("POST", self.graphql_url, {"query": query, "variables": variables})[1]
        )
        errors = response.get("errors") if isinstance(response, dict) else None
        if errors and missing_ok:
            errors = [e for e in errors if not isinstance(e, dict) or e.get("type") != "NOT_FOUND"]
        if errors:
            raise PlatformError(f"GitHub could not {what}: {errors[0].get('message') or errors[0]}")
        data = response.get("data") if isinstance(response, dict) else None
        if not isinstance(data, dict):
            raise PlatformError(f"GitHub could not {what}: the GraphQL answer has no data")
        return data

    # --- writes made once -----------------------------------------------------------------
    def create(
        self,
        what: str,
        path: str,
        body: dict[str, Any],
        *,
        landed: Callable[[], dict[str, Any] | None],
        noun: str,
        conflict: Callable[[Exception], bool] | None = None,
    ) -> dict[str, Any]:
        """POST ``body`` to ``path`` to create something, never twice: after an ambiguous failure
        ``landed()`` looks for it (and its JSON is returned when found)."""

        def send() -> dict[str, Any]:
            return cast(dict[str, Any], self.request("POST", path, body)[1])

        return self.call(
            what, write_once, self.backoff, "POST", urlsplit(path).path or path,
            send=send, ambiguous=self.ambiguous, landed=landed, noun=noun, conflict=conflict,
        )  # fmt: skip

    def ambiguous(self, exc: Exception) -> str | None:
        """Why ``exc`` may have left a write applied ("502", "timeout", "connection reset"), or None."""
        import requests
        from github import GithubException

        if isinstance(exc, GithubException) and int(exc.status or 0) >= 500:
            return str(exc.status)
        if isinstance(exc, requests.RequestException):
            why, maybe_applied = transport_failure(exc)
            return why if maybe_applied else None
        return None

    # --- who we are -----------------------------------------------------------------------
    def identity(self) -> str | None:
        """The login our token acts as: an App's "slug[bot]", or what ``GET /user`` says; None when
        GitHub will not say (Actions' ``GITHUB_TOKEN`` may not read ``/user``)."""
        if self._identity is None:
            from github import GithubException

            if isinstance(self.tokens, AppTokens):
                self.tokens.current()
            slug = getattr(self.tokens, "slug", None)
            if slug:
                self._identity = f"{slug}[bot]"
            else:
                try:
                    self._identity = str(
                        self.call("read the token's user", self.request, "GET", "/user")[1]["login"]
                    )
                except PlatformError as exc:
                    if not isinstance(exc.__cause__, GithubException) or exc.__cause__.status not in (
                        401,
                        403,
                    ):
                        raise
                    self._identity = ""
        return self._identity or None

    def seal(self) -> Seal:
        """How the bodies we write are sealed and checked (``seal.py``): keyed from the token
        when it acts as a person (a personal access token), not at all for an App or Actions."""
        if self._seal is None:
            token = self.tokens.current()
            # An installation token (Actions' GITHUB_TOKEN, an App's) is a bot's: no request needed
            # before the first comment. Other tokens: GET /user says who they act as.
            if isinstance(self.tokens, AppTokens) or token.startswith("ghs_"):
                self._seal = seal_for(token, person=False)
            else:
                login = self.identity() or ""
                self._seal = seal_for(token, person=bool(login) and not login.endswith("[bot]"))
        return self._seal

    def owns(self, user: Mapping[str, Any] | None, body: str) -> bool:
        """Whether a comment by ``user`` saying ``body`` is the runner's: by its account, and
        sealed when that account is a person's."""
        return self.is_own(user) and self.seal().trusts(body)

    def is_own(self, user: Mapping[str, Any] | None) -> bool:
        """Whether ``user`` (a REST ``simple-user``, null for a deleted account) is the runner: its
        login when known, else any bot (people cannot post as one)."""
        if not user:
            return False
        login = self.identity()
        return user.get("login") == login if login else user.get("type") == "Bot"


def _where(exc: Any) -> str:
    """ " on GET /path" for a requests exception that knows its request."""
    request = getattr(exc, "request", None)
    method, url = getattr(request, "method", None), getattr(request, "url", None)
    return f" on {method} {urlsplit(url).path}" if method and url else ""
