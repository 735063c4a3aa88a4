"""The listener's GitLab calls: the author's access level, starting a pipeline once, and finding a
pipeline an earlier attempt started.

Creating a pipeline is not idempotent on GitLab's side, and a create can fail ambiguously: a 502
from a proxy after Rails created the pipeline, a connection reset or a read timeout after the
request went out. So each pipeline carries the hook's run id in its variables
(``CLAUDE_RUNNER_HOOK_ID``), the create is sent exactly once per attempt (no client-side retry:
python-gitlab's transient-error retry would repeat a POST that may have landed), and after an
ambiguous failure, or on any later attempt, ``find_pipeline`` lists the ref's recent pipelines
(``GET /projects/:id/pipelines``) and reads their variables (``GET .../pipelines/:id/variables``)
before anything is created again.

Errors tell the worker what to do: ``AmbiguousCreate`` (look before creating again),
``RetryLater`` (nothing happened; try again after a backoff), anything else (GitLab said no for
good: the hook fails with GitLab's message).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

HOOK_ID_VARIABLE = "CLAUDE_RUNNER_HOOK_ID"
SKEW_S = 300.0  # GitLab's clock may differ from the store's by this much
MAX_PAGES = 5  # pipelines looked at per search: 500 on the ref since the first attempt
TIMEOUT = (10.0, 30.0)  # connect, read (seconds)


class RetryLater(Exception):
    """Nothing was done, or nothing could be checked; the same call may work later."""


class AmbiguousCreate(RetryLater):
    """The create request went out and no answer says whether the pipeline exists."""


class GitLabActions(Protocol):
    """The GitLab calls a hook can lead to, made on a worker thread."""

    def permission(self, project_id: int, username: str) -> str:
        """The user's permission level in the project (``runner.platforms.base.PERMISSION_ORDER``)."""
        ...

    def start_pipeline(self, project_id: int, ref: str, variables: Mapping[str, str]) -> tuple[int, str]:
        """Start a pipeline once (no retry); its id and web URL. ``AmbiguousCreate``, ``RetryLater``."""
        ...

    def find_pipeline(
        self, project_id: int, ref: str, key: str, value: str, since: float
    ) -> tuple[int, str] | None:
        """A pipeline on ``ref`` updated after ``since`` (epoch seconds, before the first create)
        whose variable ``key`` is ``value``: its id and web URL, or None."""
        ...

    def reply(self, project_id: int, noteable: str, iid: int, body: str, marker: str) -> str:
        """Post ``body`` as a note on merge request (or issue) ``iid`` unless a note of the runner's
        already carries ``marker``; the note's web URL."""
        ...


def platform_actions(url: str, token: str, trigger_token: str | None = None) -> GitLabActions:
    """The real ``GitLabActions`` (python-gitlab and requests are imported now, not on the first hook)."""
    return _PlatformActions(url, token, trigger_token)


class _PlatformActions:
    def __init__(self, url: str, token: str, trigger_token: str | None) -> None:
        self._url, self._token, self._trigger_token = url.rstrip("/"), token, trigger_token
        # Import python-gitlab now, not on the first hook: an import holds the GIL for a few hundred
        # milliseconds, which would stall the answers to every hook arriving meanwhile.
        import gitlab  # noqa: F401
        import requests

        import runner.platforms.gitlab  # noqa: F401

        self._requests = requests
        # One adapter and one HTTP session per worker thread: connections to GitLab stay open
        # between hooks, and no session is shared between threads.
        self._local = threading.local()
        # A pipeline's variables never change: each pipeline's are read once per process.
        self._variables: dict[tuple[int, int], dict[str, str]] = {}
        self._lock = threading.Lock()

    def _platform(self, project_id: int) -> Any:
        from runner.platforms.gitlab import GitLabPlatform

        cache: dict[int, Any] = self._local.__dict__.setdefault("platforms", {})
        if project_id not in cache:
            cache[project_id] = GitLabPlatform(
                str(project_id), url=self._url, token=self._token, job_token=None
            )
        return cache[project_id]

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._requests.Session()
            session.headers["PRIVATE-TOKEN"] = self._token
        return session

    def reply(self, project_id: int, noteable: str, iid: int, body: str, marker: str) -> str:
        platform = self._platform(project_id)
        kind = "merge_request" if noteable == "merge_request" else "issue"
        found = platform.find_comment(iid, marker, noteable=kind)
        if found is not None:
            return str(found.url)
        return str(platform.create_comment(iid, body, noteable=kind).url)

    def permission(self, project_id: int, username: str) -> str:
        from gitlab.exceptions import GitlabError

        try:
            return str(self._platform(project_id).permission(username))
        except Exception as exc:
            cause = exc.__cause__
            transient = isinstance(cause, self._requests.RequestException) or (
                isinstance(cause, GitlabError) and (cause.response_code or 0) in (429, 500, 502, 503, 504)
            )
            if transient:
                raise RetryLater(f"could not read {username}'s access level: {exc}") from exc
            raise

    def start_pipeline(self, project_id: int, ref: str, variables: Mapping[str, str]) -> tuple[int, str]:
        api = f"{self._url}/api/v4/projects/{project_id}"
        try:
            if self._trigger_token:
                # A pipeline trigger token can start pipelines and nothing else: the access token then
                # needs only read_api. CI sees CI_PIPELINE_SOURCE == "trigger".
                form = {"token": self._trigger_token, "ref": ref}
                form |= {f"variables[{key}]": value for key, value in variables.items()}
                response = self._requests.post(f"{api}/trigger/pipeline", data=form, timeout=TIMEOUT)
            else:
                body = {"ref": ref, "variables": [{"key": k, "value": v} for k, v in variables.items()]}
                response = self._session().post(f"{api}/pipeline", json=body, timeout=TIMEOUT)
        except self._requests.RequestException as exc:
            if _was_sent(exc):
                raise AmbiguousCreate(f"no answer to the pipeline request: {_reason(exc)}") from exc
            raise RetryLater(f"GitLab could not be reached: {_reason(exc)}") from exc
        status = response.status_code
        if status in (200, 201):
            try:
                data = response.json()
                return int(data["id"]), str(data.get("web_url", ""))
            except (ValueError, KeyError, TypeError) as exc:
                raise AmbiguousCreate(f"GitLab answered {status} with an unreadable body") from exc
        if status == 429:
            raise RetryLater("GitLab answered 429 (rate limited)")
        if status >= 500 or status == 408:
            raise AmbiguousCreate(f"GitLab answered {status} to the pipeline request")
        raise RuntimeError(f"GitLab refused to start a pipeline on {ref} ({status}): {_message(response)}")

    def find_pipeline(
        self, project_id: int, ref: str, key: str, value: str, since: float
    ) -> tuple[int, str] | None:
        for pipeline in self._recent(project_id, ref, since):
            pipeline_id = int(pipeline["id"])
            if self._pipeline_variables(project_id, pipeline_id).get(key) == value:
                return pipeline_id, str(pipeline.get("web_url", ""))
        return None

    def _recent(self, project_id: int, ref: str, since: float) -> Iterator[Mapping[str, Any]]:
        after = datetime.fromtimestamp(since - SKEW_S, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = {"ref": ref, "updated_after": after, "order_by": "id", "sort": "desc", "per_page": "100"}
        for page in range(1, MAX_PAGES + 1):
            response = self._get(f"/projects/{project_id}/pipelines", {**query, "page": str(page)})
            yield from response.json()
            if not response.headers.get("X-Next-Page"):
                return

    def _pipeline_variables(self, project_id: int, pipeline_id: int) -> dict[str, str]:
        with self._lock:
            known = self._variables.get((project_id, pipeline_id))
        if known is not None:
            return known
        path = f"/projects/{project_id}/pipelines/{pipeline_id}/variables"
        found = {str(v.get("key")): str(v.get("value")) for v in self._get(path, {"per_page": "100"}).json()}
        with self._lock:
            if len(self._variables) > 20_000:
                self._variables.clear()
            self._variables[(project_id, pipeline_id)] = found
        return found

    def _get(self, path: str, query: Mapping[str, str]) -> Any:
        try:
            response = self._session().get(f"{self._url}/api/v4{path}", params=query, timeout=TIMEOUT)
        except self._requests.RequestException as exc:
            raise RetryLater(f"could not look for an earlier pipeline: {_reason(exc)}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise RetryLater(f"could not look for an earlier pipeline: GitLab answered {status}")
        if response.status_code != 200:
            raise RuntimeError(
                f"could not look for an earlier pipeline ({response.status_code}: {_message(response)}); "
                "GitLab shows a pipeline's variables to its creator and to maintainers: the access"
                " token's user must be one of them"
            )
        return response


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps (``args``, ``reason``, causes), each once."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [*item.args, getattr(item, "reason", None), item.__cause__, item.__context__]


def _was_sent(exc: BaseException) -> bool:
    """Whether a failed request may have reached GitLab: not when the connection was never made."""
    import urllib3.exceptions as u3

    never = (u3.NewConnectionError, u3.ConnectTimeoutError)  # name resolution failures included
    return not any(isinstance(e, never) for e in _chain(exc))


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _message(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return str(response.text)[:200]
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or data)[:300]
    return str(data)[:300]
