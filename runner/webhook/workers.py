"""The pipeline worker pool of ``claude-runner webhook``: the slow half, after the hook is answered.

GitLab gives up on a hook after 10 s and disables hooks that keep failing, so the handler
(``runner/webhook/server.py``) only decides and enqueues; ``PipelineWorkers`` then checks the
author's access level and starts the pipeline on a few threads, through ``GitLabActions``
(``platform_actions``: the real ones, through ``GitLabPlatform``). Each accepted hook gets its one
JSON log line here: ``started``, ``denied`` or ``failed``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from runner.platforms.base import permission_at_least
from runner.sanitize import Redactor
from runner.settings.webhook import WebhookSettings
from runner.webhook.decision import WebhookDecision

LogSink = Callable[[dict[str, Any]], None]


class GitLabActions(Protocol):
    """The two GitLab calls a hook can lead to, made on a worker thread."""

    def permission(self, project_id: int, username: str) -> str:
        """The user's permission level in the project (``runner.platforms.base.PERMISSION_ORDER``)."""
        ...

    def start_pipeline(self, project_id: int, ref: str, variables: Mapping[str, str]) -> tuple[int, str]:
        """Start a pipeline; its id and web URL."""
        ...


@dataclass
class PipelineJob:
    """An accepted hook waiting for a worker: its decision, and when it arrived and was answered."""

    decision: WebhookDecision
    uuid: str | None
    received: float  # time.monotonic() when the hook arrived
    answer_ms: float = 0.0


MAX_DEFER_S = 0.25  # the longest a worker waits for a quiet moment before starting a pipeline


class PipelineWorkers:
    """A bounded queue and a few threads that check the author's access and start the pipeline."""

    def __init__(
        self,
        actions: GitLabActions,
        settings: WebhookSettings,
        log: LogSink,
        *,
        workers: int = 4,
        queue_size: int = 1000,
        access_ttl: float = 30.0,
        redactor: Redactor | None = None,
    ) -> None:
        self._actions = actions
        self._settings = settings
        self._log = log
        self._redactor = redactor or Redactor()
        self._queue: queue.Queue[PipelineJob | None] = queue.Queue(maxsize=queue_size)
        self._threads = [
            threading.Thread(target=self._loop, name=f"webhook-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        self.started = 0  # pipelines started, for the bench and tests
        self._count_lock = threading.Lock()
        self._access: dict[tuple[int, str], tuple[str, float]] = {}
        self._access_ttl = access_ttl
        for thread in self._threads:
            thread.start()

    def submit(self, job: PipelineJob) -> bool:
        """Queue a job; False when the queue is full (the hook is answered 503)."""
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            return False
        return True

    def join(self, timeout: float) -> bool:
        """Wait until every queued job is done; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Finish the queued jobs (up to ``timeout`` seconds), then stop the threads."""
        self.join(timeout)
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=1.0)

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._yield_to_answers()
                self._run(job)
            finally:
                self._queue.task_done()

    def _yield_to_answers(self) -> None:
        """Wait (at most ``MAX_DEFER_S``) while hooks are still arriving.

        Answers have priority: threads share one GIL (and a small host few cores), and a worker busy
        building GitLab requests delays the thread reading the next hook. Starting a pipeline a few
        milliseconds later costs nothing; GitLab timing out on a hook costs the hook.
        """
        deadline = time.monotonic() + MAX_DEFER_S
        while self.busy() and time.monotonic() < deadline:
            time.sleep(0.002)

    def busy(self) -> bool:
        """Whether a hook arrived in the last few milliseconds (``WebhookApp`` replaces this)."""
        return False

    def _permission(self, project_id: int, username: str) -> str:
        """The author's level, remembered for ``access_ttl`` seconds.

        A burst of hooks usually comes from one person (a bulk label change, a reply storm); asking
        GitLab twice per hook (user lookup, then membership) would spend its rate limit on the same
        answer. The cost: a removed member keeps triggering for up to ``access_ttl`` seconds.
        """
        key, now = (project_id, username.lower()), time.monotonic()
        with self._count_lock:
            cached = self._access.get(key)
        if cached is not None and now - cached[1] < self._access_ttl:
            return cached[0]
        level = self._actions.permission(project_id, username)
        with self._count_lock:
            self._access[key] = (level, now)
            if len(self._access) > 10_000:  # bounded: drop the oldest entries
                for old in sorted(self._access, key=lambda k: self._access[k][1])[:1000]:
                    del self._access[old]
        return level

    def _run(self, job: PipelineJob) -> None:
        request = job.decision.pipeline
        assert request is not None  # only accepted decisions are queued
        record: dict[str, Any] = {"uuid": job.uuid, **job.decision.log_fields(), "ref": request.ref}
        try:
            level = self._permission(request.project_id, request.author)
            if not permission_at_least(level, self._settings.min_permission):
                record |= {
                    "decision": "denied",
                    "reason": f"{request.author} has access '{level}', below the required "
                    f"'{self._settings.min_permission}'",
                }
            else:
                pipeline_id, url = self._actions.start_pipeline(
                    request.project_id, request.ref, request.variables
                )
                with self._count_lock:
                    self.started += 1
                record |= {"decision": "started", "reason": job.decision.reason}
                record |= {"pipeline_id": pipeline_id, "pipeline_url": url}
        except Exception as exc:  # a worker must survive any failure of one job
            message = self._redactor.text(f"{type(exc).__name__}: {exc}")[:300]
            record |= {"decision": "failed", "reason": message}
        record |= {"latency_ms": job.answer_ms, "total_ms": ms_since(job.received)}
        self._log(record)


def platform_actions(url: str, token: str, trigger_token: str | None = None) -> GitLabActions:
    """The real ``GitLabActions``, through ``GitLabPlatform`` (imported only when the listener starts)."""
    return _PlatformActions(url, token, trigger_token)


class _PlatformActions:
    def __init__(self, url: str, token: str, trigger_token: str | None) -> None:
        self._url, self._token, self._trigger_token = url.rstrip("/"), token, trigger_token
        # Import python-gitlab now, not on the first hook: an import holds the GIL for a few hundred
        # milliseconds, which would stall the answers to every hook arriving meanwhile.
        import gitlab  # noqa: F401
        import requests  # noqa: F401

        import runner.platforms.gitlab  # noqa: F401

        # One adapter per worker thread and project: its HTTP session keeps connections to GitLab
        # open between hooks, and no session is shared between threads.
        self._local = threading.local()

    def _platform(self, project_id: int) -> Any:
        from runner.platforms.gitlab import GitLabPlatform

        cache: dict[int, Any] = self._local.__dict__.setdefault("platforms", {})
        if project_id not in cache:
            cache[project_id] = GitLabPlatform(
                str(project_id), url=self._url, token=self._token, job_token=None
            )
        return cache[project_id]

    def permission(self, project_id: int, username: str) -> str:
        return str(self._platform(project_id).permission(username))

    def start_pipeline(self, project_id: int, ref: str, variables: Mapping[str, str]) -> tuple[int, str]:
        if not self._trigger_token:
            pipeline_id, url = self._platform(project_id).start_pipeline(ref, dict(variables))
            return int(pipeline_id), str(url)
        # A pipeline trigger token can start pipelines and nothing else: the access token then
        # needs only read_api (for the member check). CI sees CI_PIPELINE_SOURCE == "trigger".
        import requests

        form = {"token": self._trigger_token, "ref": ref}
        form |= {f"variables[{key}]": value for key, value in variables.items()}
        response = requests.post(
            f"{self._url}/api/v4/projects/{project_id}/trigger/pipeline", data=form, timeout=30
        )
        response.raise_for_status()
        data = response.json()
        return int(data["id"]), str(data.get("web_url", ""))


def ms_since(start: float) -> float:
    """Milliseconds since ``start`` (a ``time.monotonic()``), to two decimals."""
    return round((time.monotonic() - start) * 1000, 2)
