"""The GitLab adapter's transport: python-gitlab's ``http_*`` layer with our retries, GitLab's errors
as ours, the runner's own identity, and writes that create something made once.

Retries: python-gitlab's own (``retry_transient_errors``, and the 429 handling it does by default)
sleep with ``time.sleep`` and no jitter, log nothing, have no time cap, and retry a POST after a
connection error as readily as a GET. So they are turned off, and ``retry.TransportRetry`` is
mounted on python-gitlab's ``requests`` session instead: the same policy as GitHub's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from runner.errors import CredentialsError, PlatformError, PlatformUnavailable
from runner.platforms.gitlab_data import can_push, error_message, is_bot_account
from runner.platforms.parallel import IN_FLIGHT, together
from runner.platforms.retry import RETRY_STATUSES, Backoff, transport_failure, write_once
from runner.platforms.seal import Seal, seal_for

if TYPE_CHECKING:
    from gitlab import Gitlab

T = TypeVar("T")
PER_PAGE = 100  # the most GitLab serves per page: fewest requests for big threads
ACCESS_TOKEN_FIX = "set GITLAB_ACCESS_TOKEN to a project or group access token with the api scope"


class GitLabClient:
    """Requests to one GitLab (``url``, without ``/api/v4``) with an access token or a job token."""

    def __init__(self, url: str, token: str | None, job_token: str | None, backoff: Backoff) -> None:
        self.url, self.token, self.job_token, self.backoff = url, token, job_token, backoff
        self.requests = 0  # HTTP answers received (a request retried by the transport counts once)
        self._counting = threading.Lock()
        self.authenticated = False  # a request has succeeded with our token
        self._gl: Gitlab | None = None
        self._identity: str | None = None  # "" once GitLab would not say
        self._seal: Seal | None = None
        self._person = False  # the token acts as a person (not a project/group bot)
        self._can_push: dict[str, bool] = {}  # username -> Developer or above (see ``writers``)

    @property
    def gl(self) -> Gitlab:
        """The python-gitlab client (created on first use; counts every HTTP response)."""
        if self._gl is None:
            import gitlab
            from requests.adapters import HTTPAdapter

            self._gl = gitlab.Gitlab(
                self.url,
                private_token=self.token,
                job_token=self.job_token,
                per_page=PER_PAGE,
                retry_transient_errors=False,
                timeout=self.backoff.policy.timeout_s,
            )
            # A connection for each request in flight (``parallel.together``), kept for the next.
            adapter = HTTPAdapter(max_retries=self.backoff.transport(), pool_maxsize=IN_FLIGHT)
            for scheme in ("http://", "https://"):
                self._gl.session.mount(scheme, adapter)
            self._gl.session.hooks["response"].append(self._count)
        return self._gl

    def _count(self, response: Any, *args: Any, **kwargs: Any) -> None:
        with self._counting:  # pages of a list arrive on several threads
            self.requests += 1
        if 200 <= int(getattr(response, "status_code", 0)) < 300:
            self.authenticated = True

    def close(self) -> None:
        """Close the HTTP session."""
        if self._gl is not None:
            self._gl.session.close()
            self._gl = None

    # --- requests -------------------------------------------------------------------------
    def http_get(self, path: str, query: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """GET ``path`` (an API path such as ``/projects/1``): its JSON (or, ``raw=True``, the response)."""
        # python-gitlab's own retries off (see the module's docstring): ours are on the session.
        return self.gl.http_get(
            path, query_data=query or {}, obey_rate_limit=False, retry_transient_errors=False, **kwargs
        )

    def http_post(self, path: str, data: dict[str, Any]) -> Any:
        return self.gl.http_post(path, post_data=data, obey_rate_limit=False, retry_transient_errors=False)

    def http_put(self, path: str, data: dict[str, Any]) -> Any:
        return self.gl.http_put(path, post_data=data, obey_rate_limit=False, retry_transient_errors=False)

    def http_list(self, path: str, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every page of a list, 100 a page: the first, then the rest at once when GitLab counts
        them (``x-total-pages``), else following its ``Link`` header (it stops counting past
        10,000 items)."""
        query = {"per_page": PER_PAGE, **(query or {})}
        first = self.gl.http_request(
            "get", path, query_data=query, obey_rate_limit=False, retry_transient_errors=False
        )
        items = list(first.json())
        total = str(first.headers.get("x-total-pages") or "")
        following = bool(first.links.get("next"))
        if total.isdigit() and int(total) > 1:
            pages = [partial(self._page, path, query, n) for n in range(2, int(total) + 1)]
            for page in together(pages):
                items += page
        elif following:  # one page after another, until one is not full
            number, page = 2, items
            while len(page) >= int(query["per_page"]):
                page = self._page(path, query, number)
                items, number = items + page, number + 1
        return items

    def merge_request_files(self, project_path: str, number: int) -> list[dict[str, Any]]:
        """The latest diff version's files (``/diffs``, GitLab 15.7+; else ``/changes``)."""
        from gitlab.exceptions import GitlabHttpError

        def diffs() -> list[dict[str, Any]] | None:
            try:
                return self.http_list(f"{project_path}/merge_requests/{number}/diffs")
            except GitlabHttpError as exc:
                if exc.response_code != 404 or "Merge Request" in error_message(exc):
                    raise
                return None

        found = self.call("list the changed files", diffs)
        if found is not None:
            return found
        path = f"{project_path}/merge_requests/{number}/changes"
        changes = self.call("list the changed files", self.http_get, path)
        return list(changes.get("changes") or [])

    def _page(self, path: str, query: dict[str, Any], number: int) -> list[dict[str, Any]]:
        page = self.gl.http_list(
            path,
            query_data={**query, "page": number},
            get_all=False,
            obey_rate_limit=False,
            retry_transient_errors=False,
        )
        return list(page)

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` (which makes requests), turning failures into one-line errors naming ``what``."""
        import requests
        from gitlab.exceptions import GitlabError

        self.backoff.begin()
        try:
            return fn(*args, **kwargs)
        except GitlabError as exc:
            raise self.error(what, exc.response_code, error_message(exc)) from exc
        except requests.RequestException as exc:
            why, _ = transport_failure(exc)
            request = getattr(exc, "request", None)
            where = f" on {request.method} {urlsplit(request.url).path}" if request is not None else ""
            raise PlatformUnavailable(
                f"GitLab API unreachable while trying to {what}: {why}{where}{self.backoff.after()}",
                f"check that {urlsplit(self.url).netloc} answers, then run the job again",
            ) from exc

    def error(self, what: str, status: int | None, message: str) -> PlatformError | CredentialsError:
        """GitLab's refusal as one of our errors."""
        # A job token is not an identity outside the few endpoints that take it: GitLab answers
        # 401/403, or 404 "Project Not Found" as it would to an anonymous caller.
        denied = status in (401, 403) or (status == 404 and "Project Not Found" in message)
        if status is not None and not message.startswith(str(status)):
            message = f"{status} {message}"  # GitLab's messages mostly start with their status already
        if self.job_token and denied:
            return CredentialsError(
                f"the CI job token cannot {what} on GitLab ({message})",
                ACCESS_TOKEN_FIX + ": CI_JOB_TOKEN can only read the project",
            )
        if status == 401 and self.authenticated:
            return CredentialsError(
                f"the GitLab token expired or was revoked (401 while trying to {what})",
                "run the job again; GITLAB_ACCESS_TOKEN must stay valid for the whole job",
            )
        if status == 401:
            return CredentialsError(
                f"GitLab rejected the access token while trying to {what} ({message})",
                "check GITLAB_ACCESS_TOKEN: it may be expired, revoked or lack the api scope",
            )
        if status in RETRY_STATUSES and status != 403:
            return PlatformUnavailable(
                f"GitLab API kept failing while trying to {what}: {message}{self.backoff.after()}",
                "GitLab may be having an outage or rate-limiting us; run the job again later",
            )
        return PlatformError(f"GitLab could not {what}: {message}")

    # --- writes made once -----------------------------------------------------------------
    def create(
        self,
        what: str,
        path: str,
        data: dict[str, Any],
        *,
        landed: Callable[[], Any],
        noun: str,
        conflict: Callable[[Exception], bool] | None = None,
    ) -> Any:
        """POST ``data`` to ``path`` to create something, never twice: after an ambiguous failure
        ``landed()`` looks for it (and its JSON is returned when found). A note's ``body`` is
        sealed (``seal``); ``own_note`` compares sealed bodies."""
        if "body" in data:
            data = {**data, "body": self.seal().sign(str(data["body"]))}
        return self.call(
            what, write_once, self.backoff, "POST", "/api/v4" + path,
            send=lambda: self.http_post(path, data), ambiguous=self.ambiguous, landed=landed, noun=noun,
            conflict=conflict,
        )  # fmt: skip

    def ambiguous(self, exc: Exception) -> str | None:
        """Why ``exc`` may have left a write applied ("502", "timeout", "connection reset"), or None."""
        import requests
        from gitlab.exceptions import GitlabError

        if isinstance(exc, GitlabError) and int(exc.response_code or 0) >= 500:
            return str(exc.response_code)
        if isinstance(exc, requests.RequestException):
            why, maybe_applied = transport_failure(exc)
            return why if maybe_applied else None
        return None

    # --- who we are -----------------------------------------------------------------------
    def identity(self) -> str | None:
        """The username our token acts as (``GET /user``); None when GitLab will not say (a job
        token)."""
        if self._identity is None:
            from gitlab.exceptions import GitlabError

            try:
                user = self.http_get("/user")
                self._identity = str(user.get("username") or "") if isinstance(user, Mapping) else ""
                self._person = isinstance(user, Mapping) and not is_bot_account(user)
            except GitlabError as exc:
                if exc.response_code not in (401, 403, 404):
                    raise
                self._identity = ""
        return self._identity or None

    def seal(self) -> Seal:
        """How the bodies we write are sealed and checked (``seal.py``): keyed from the token when
        it is a person's (a personal access token), not at all for a project or group bot."""
        if self._seal is None:
            person = bool(self.token) and self.identity() is not None and self._person
            self._seal = seal_for(self.token, person=person)
        return self._seal

    def owns(self, author: Mapping[str, Any] | None, body: str) -> bool:
        """Whether a note by ``author`` saying ``body`` is the runner's: by its account, and
        sealed when that account is a person's."""
        return self.is_own(author) and self.seal().trusts(body)

    def is_own(self, author: Mapping[str, Any] | None) -> bool:
        """Whether ``author`` (a note's, null for a system note) is the runner."""
        login = self.identity()
        return bool(author and login and author.get("username") == login)

    def writers(self, project_path: str, authors: Mapping[int, str]) -> dict[str, bool]:
        """Username -> can push (an active Developer or above), for ``authors`` (user id ->
        username); one request for those not seen before. A hint for the prompt, not a check."""
        new = {i: name for i, name in authors.items() if name not in self._can_push}
        members = self.members(project_path, new) if new else None
        if members is not None:
            self._can_push.update({name: can_push(members.get(i)) for i, name in new.items()})
        return self._can_push

    def members(self, project_path: str, user_ids: Iterable[int]) -> dict[int, dict[str, Any]] | None:
        """``members/all`` entries (inherited memberships count) of ``user_ids``, by user id; None
        when GitLab will not list them (a job token, a 403): who can push is then not known."""
        ids, found = sorted(set(user_ids)), {}
        try:
            for start in range(0, len(ids), 50):  # user_ids[] in the query: keep the URL short
                chunk = {"user_ids[]": ids[start : start + 50]}
                entries = self.call("list members", self.http_list, f"{project_path}/members/all", chunk)
                found.update({int(m["id"]): dict(m) for m in entries if isinstance(m.get("id"), int)})
        except PlatformUnavailable:
            raise
        except (PlatformError, CredentialsError):
            return None
        return found

    # --- did a write land? ----------------------------------------------------------------
    def own_note(self, notes: Any, body: str) -> dict[str, Any] | None:
        """The newest of ``notes`` that is ours and says exactly ``body`` (as sealed)."""
        text = self.seal().sign(body).replace("\r\n", "\n").strip()
        found = [
            n for n in notes or ()
            if isinstance(n, Mapping) and not n.get("system") and self.is_own(n.get("author"))
            and str(n.get("body") or "").replace("\r\n", "\n").strip() == text
        ]  # fmt: skip
        return dict(max(found, key=lambda n: int(n["id"]))) if found else None

    def own_diff_note(self, path: str, position: Mapping[str, Any], body: str) -> dict[str, Any] | None:
        """Our diff discussion (at ``path``, a merge request's discussions) on ``position``'s line
        saying exactly ``body``."""
        for discussion in reversed(self.http_list(path)):
            first = (discussion.get("notes") or [None])[0]
            where = (first or {}).get("position") or {}
            same_line = all(where.get(k) == position.get(k) for k in ("new_path", "new_line", "old_line"))
            if same_line and self.own_note([first], body):
                return dict(discussion)
        return None

    def own_pipeline(
        self, path: str, query: dict[str, Any], variables: Mapping[str, str]
    ) -> dict[str, Any] | None:
        """Our newest pipeline of those ``path`` (a project's pipelines) lists for ``query`` that
        runs with exactly ``variables``."""
        user = self.identity()
        if user is None:
            return None
        for pipeline in self.http_get(path, {**query, "username": user}):
            given = self.http_get(f"{path}/{int(pipeline['id'])}/variables")
            if {(v.get("key"), v.get("value")) for v in given} == set(variables.items()):
                return dict(pipeline)
        return None
