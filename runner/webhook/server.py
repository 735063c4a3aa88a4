"""The glue of ``claude-runner webhook``: a WSGI app served by waitress, and a small pipeline worker pool.

Why waitress: it is a production WSGI server in pure Python (no compiler, no C extension, one wheel
with no dependencies), threaded, and runs the same on Linux, macOS, Windows and in our slim image.
The handler does little (compare a token, parse JSON, run the pure decision, enqueue): side by side
on 200 hooks sent at one instant, uvicorn answered about 10% faster at p99 with its C parser and
uvloop, and slower with its pure-Python parser, so an async server buys little here. The slow
parts (GitLab's member API, the pipeline API) run on ``PipelineWorkers`` *after* the hook is
answered, so GitLab, which gives up on a hook after 10 s and disables hooks that keep failing,
always gets its answer in milliseconds.

Response codes: 401 bad or missing ``X-Gitlab-Token``; 413 body over the limit; 400 not a JSON
object; 200 ``{"status": "duplicate"}`` for a replayed event; 200 ``{"status": "ignored", "reason"}``
when nothing was asked; 202 ``{"status": "accepted"}`` once queued; 503 when the queue is full;
``GET /healthz`` 200 ``{"ok": true}``. Every hook gives exactly one JSON log line: by the handler for
everything but accepted hooks, by the worker (``started``, ``denied`` or ``failed``) for those.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from runner.platforms.base import permission_at_least
from runner.sanitize import Redactor
from runner.settings.webhook import WebhookListenerSettings, WebhookSettings
from runner.webhook.decision import SeenEvents, WebhookDecision, decide_hook, token_ok

LogSink = Callable[[dict[str, Any]], None]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]

_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
_REASONS |= {405: "Method Not Allowed", 413: "Content Too Large", 503: "Service Unavailable"}


class GitLabActions(Protocol):
    """The two GitLab calls a hook can lead to, made on a worker thread."""

    def permission(self, project_id: int, username: str) -> str:
        """The user's permission level in the project (``runner.platforms.base.PERMISSION_ORDER``)."""
        ...

    def start_pipeline(self, project_id: int, ref: str, variables: Mapping[str, str]) -> tuple[int, str]:
        """Start a pipeline; its id and web URL."""
        ...


def json_log_sink(stream: Any = None) -> LogSink:
    """A sink writing each record as one JSON line (to stderr by default), lines never interleaved."""
    lock = threading.Lock()

    def write(record: dict[str, Any]) -> None:
        line = json.dumps({"ts": round(time.time(), 3), **record}, default=str)
        with lock:
            out = stream or sys.stderr
            out.write(line + "\n")
            out.flush()

    return write


@dataclass
class _Job:
    decision: WebhookDecision
    uuid: str | None
    received: float  # time.monotonic() when the hook arrived
    answer_ms: float = 0.0


MAX_DEFER_S = 0.25  # the longest a worker waits for a quiet moment before starting a pipeline
QUIET_S = 0.005  # no hook for this long: a quiet moment


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
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=queue_size)
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

    def submit(self, job: _Job) -> bool:
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

    def _run(self, job: _Job) -> None:
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
        record |= {"latency_ms": job.answer_ms, "total_ms": _ms_since(job.received)}
        self._log(record)


class WebhookApp:
    """The WSGI application: authenticate, de-duplicate, parse, decide, enqueue; nothing slow."""

    def __init__(
        self,
        settings: WebhookSettings,
        workers: PipelineWorkers,
        log: LogSink,
        seen: SeenEvents | None = None,
    ) -> None:
        self.settings = settings
        self.workers = workers
        self.log = log
        self.seen = seen or SeenEvents()
        self.last_request = 0.0  # time.monotonic() of the latest request: workers yield while recent
        workers.busy = self.recently_busy  # type: ignore[method-assign]

    def recently_busy(self) -> bool:
        """Whether a request arrived in the last ``QUIET_S`` seconds."""
        return time.monotonic() - self.last_request < QUIET_S

    def __call__(self, environ: Mapping[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        status, body = self.handle(environ)
        data = json.dumps(body).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [data]

    def handle(self, environ: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """The status and JSON body for one request (the WSGI environ); logs the decision."""
        started = self.last_request = time.monotonic()
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if path == "/healthz":
            return (200, {"ok": True}) if method in ("GET", "HEAD") else (405, {"error": "use GET"})
        if method != "POST":
            return 405, {"error": "POST GitLab hooks here"}
        uuid = environ.get("HTTP_X_GITLAB_EVENT_UUID")
        hook = environ.get("HTTP_X_GITLAB_EVENT")

        def answer(
            status: int, body: dict[str, Any], decision: str, reason: str, **extra: Any
        ) -> tuple[int, dict[str, Any]]:
            record = {"uuid": uuid, "event": hook, **extra, "decision": decision, "reason": reason}
            self.log(record | {"status": status, "latency_ms": _ms_since(started)})
            return status, body

        if not token_ok(self.settings.secret, environ.get("HTTP_X_GITLAB_TOKEN")):
            return answer(401, {"error": "bad or missing X-Gitlab-Token"}, "unauthorized", "bad token")
        limit = self.settings.max_body_bytes
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return answer(413, {"error": f"body over {limit} bytes"}, "rejected", "body too large")
        stream = environ.get("wsgi.input")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            return answer(413, {"error": f"body over {limit} bytes"}, "rejected", "body too large")
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict):
            return answer(
                400, {"error": "body is not a JSON object"}, "rejected", "body is not a JSON object"
            )
        if self.seen.check_and_add(uuid and f"event:{uuid}", _idempotency_key(environ)):
            return answer(200, {"status": "duplicate"}, "duplicate", "event already received")
        decision = decide_hook(hook, payload, self.settings)
        fields = decision.log_fields()
        if not decision.accepted:
            body = {"status": "ignored", "reason": decision.reason}
            return answer(200, body, "ignored", decision.reason, **fields)
        job = _Job(decision, uuid, started)
        job.answer_ms = _ms_since(started)
        if not self.workers.submit(job):
            # Forget the ids, so GitLab's retry of this delivery is not taken for a replay.
            self.seen.forget(uuid and f"event:{uuid}", _idempotency_key(environ))
            return answer(503, {"error": "queue full, retry later"}, "rejected", "queue full", **fields)
        return 202, {"status": "accepted"}


def _idempotency_key(environ: Mapping[str, Any]) -> str | None:
    key = environ.get("HTTP_IDEMPOTENCY_KEY")
    return f"idem:{key}" if key else None


def _ms_since(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 2)


class ListenerServer:
    """A waitress server for ``app`` on ``host:port`` (port 0: any free one), stoppable from a test."""

    def __init__(
        self, app: WebhookApp, *, host: str = "127.0.0.1", port: int = 8080, threads: int = 8
    ) -> None:
        from waitress.server import create_server

        # waitress warns "Task queue depth is N" whenever a burst outnumbers its threads; a burst of hooks
        # is normal here and each request takes a millisecond, so that warning is noise.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        self.app = app
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._server = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="claude-runner",
            # GitLab may fire many hooks at once (a bulk label change); waitress's default of 100
            # open connections would make the 101st wait for a free slot instead of being answered.
            connection_limit=1000,
            backlog=1024,
            # poll() instead of select(): no 1024-descriptor ceiling under many connections.
            asyncore_use_poll=True,
            # Let the app answer oversized bodies itself (413 + a log line); waitress stops anything larger.
            max_request_body_size=app.settings.max_body_bytes * 2,
            channel_timeout=30,
            expose_tracebacks=False,
        )
        self.host = str(self._server.effective_host)
        self.port = int(self._server.effective_port)

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8080``."""
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve until ``stop()`` (from another thread) or Ctrl-C / SIGTERM (as KeyboardInterrupt)."""
        from waitress import wasyncore

        # waitress's own run() loops until its socket map is empty; this loop also stops on request.
        use_poll = bool(self._server.adj.asyncore_use_poll)
        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=1.0, map=self._server._map, use_poll=use_poll, count=1)
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self._server.task_dispatcher.shutdown()
            wasyncore.close_all(self._server._map)

    def start(self) -> ListenerServer:
        """Serve on a background thread (tests, the bench)."""
        self._thread = threading.Thread(target=self.serve_forever, name="webhook-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the serving thread."""
        self._stopping.set()
        self._server.trigger.pull_trigger()  # wake the poll loop now rather than after its timeout
        if self._thread is not None:
            self._thread.join(timeout=10)


def build_listener(
    settings: WebhookSettings,
    actions: GitLabActions,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    threads: int = 8,
    workers: int = 4,
    log: LogSink | None = None,
    redactor: Redactor | None = None,
) -> ListenerServer:
    """The listener, wired: workers, app, server (not yet serving)."""
    sink = log if log is not None else json_log_sink()
    pool = PipelineWorkers(actions, settings, sink, workers=workers, redactor=redactor)
    return ListenerServer(WebhookApp(settings, pool, sink), host=host, port=port, threads=threads)


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


def run_webhook(
    settings: WebhookListenerSettings, *, host: str, port: int, threads: int, workers: int
) -> int:
    """``claude-runner webhook``: serve until SIGTERM or Ctrl-C, then drain the queue.

    ``settings`` come from ``runner.settings.webhook.read_webhook_listener_settings``.
    """
    import os
    import signal

    from runner.errors import UsageError

    try:
        import waitress  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            "the webhook server is not installed", "pip install 'claude-runner[webhook]'"
        ) from exc
    url, trigger_token = settings.gitlab_url, settings.trigger_token
    redactor = Redactor([settings.decision.secret, settings.access_token, trigger_token or ""])
    sink = json_log_sink()
    actions = platform_actions(url, settings.access_token, trigger_token)
    try:
        server = build_listener(
            settings.decision,
            actions,
            host=host,
            port=port,
            threads=threads,
            workers=workers,
            log=sink,
            redactor=redactor,
        )
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # serve_forever stops on it; a container stop sends SIGTERM

    signal.signal(signal.SIGTERM, stop)
    # The one thread that accepts and reads every connection shares the GIL with the handler and
    # worker threads; a 1 ms switch interval (Python's default is 5 ms) lets it in sooner, which
    # keeps answers to a burst of hooks well under 100 ms while workers are calling GitLab.
    sys.setswitchinterval(0.001)
    sink(
        {"event": "startup", "decision": "listening", "reason": f"{server.url} -> {url}", "pid": os.getpid()}
    )
    server.serve_forever()
    server.app.workers.close(timeout=10.0)
    sink({"event": "shutdown", "decision": "stopped", "reason": "signal"})
    return 0
