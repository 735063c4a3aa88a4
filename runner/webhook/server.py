"""The glue of ``claude-runner webhook``: a WSGI app served by waitress, feeding the pipeline workers.

Why waitress: it is a production WSGI server in pure Python (no compiler, no C extension, one wheel
with no dependencies), threaded, and runs the same on Linux, macOS, Windows and in our slim image.
The handler does little (compare a token, parse JSON, run the pure decision, enqueue): side by side
on 200 hooks sent at one instant, uvicorn answered about 10% faster at p99 with its C parser and
uvloop, and slower with its pure-Python parser, so an async server buys little here. The slow
parts (GitLab's member API, the pipeline API) run on ``PipelineWorkers`` (``workers.py``) *after*
the hook is answered, so GitLab, which gives up on a hook after 10 s and disables hooks that keep
failing, always gets its answer in milliseconds.

A hook that asks for a pipeline is committed to the durable store (``store.py``) before it is
answered 202, together with its ``X-Gitlab-Event-UUID`` and ``Idempotency-Key``: after a SIGTERM,
a crash or a restart the queue resumes, and a redelivery is answered ``duplicate``. Hooks that ask
for nothing are not stored (deciding again gives the same answer).

Response codes: 401 bad or missing ``X-Gitlab-Token``; 413 body over the limit; 400 not a JSON
object; 200 ``{"status": "ignored", "reason"}`` when nothing was asked; 200 ``{"status":
"duplicate"}`` for a hook whose event was already accepted; 202 ``{"status": "accepted"}`` once
committed; 503 when the queue is full or the store cannot be written (GitLab may deliver it again);
``GET /healthz`` 200 ``{"ok": true}``. Every hook gives exactly one final JSON log line: by the
handler for everything but accepted hooks, by the worker (``started``, ``denied`` or ``failed``)
for those.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid as uuids
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from runner.sanitize import Redactor
from runner.settings.webhook import ConnectionLimits, StoreLocation, WebhookListenerSettings, WebhookSettings
from runner.webhook.decision import decide_hook, token_ok
from runner.webhook.gitlab_api import GitLabActions, platform_actions
from runner.webhook.limits import guard_connections, json_depth
from runner.webhook.store import HookStore, NewHook, StoreError
from runner.webhook.stores import open_store
from runner.webhook.workers import LogSink, PipelineWorkers, job_of, ms_since

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
_REASONS |= {405: "Method Not Allowed", 413: "Content Too Large", 503: "Service Unavailable"}
QUIET_S = 0.005  # no hook for this long: a quiet moment
SHUTDOWN_GRACE_S = 5.0  # on SIGTERM, how long pipelines being created may take to answer


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


class WebhookApp:
    """The WSGI application: authenticate, parse, decide, commit to the store; nothing slow."""

    def __init__(self, settings: WebhookSettings, workers: PipelineWorkers, log: LogSink) -> None:
        self.settings = settings
        self.workers = workers
        self.log = log
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
            self.log(record | {"status": status, "latency_ms": ms_since(started)})
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
        depth, most = json_depth(raw), self.settings.max_json_depth
        if depth > most:  # measured before parsing: the parser recurses once per level
            why = f"JSON nested {depth} deep, over {most}"
            return answer(400, {"error": f"body nests deeper than {most}"}, "rejected", why)
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            payload = None
        if not isinstance(payload, dict):
            return answer(
                400, {"error": "body is not a JSON object"}, "rejected", "body is not a JSON object"
            )
        decision = decide_hook(hook, payload, self.settings)
        fields = decision.log_fields()
        if not decision.accepted:
            body = {"status": "ignored", "reason": decision.reason}
            return answer(200, body, "ignored", decision.reason, **fields)
        idempotency = environ.get("HTTP_IDEMPOTENCY_KEY")
        keys = tuple(k for k in (uuid and f"event:{uuid}", idempotency and f"idem:{idempotency}") if k)
        stored = NewHook(uuids.uuid4().hex, keys, uuid, job_of(decision), time.time(), ms_since(started))
        try:
            # Committed before the answer. A rejected hook's ids are not recorded, so GitLab's
            # retry of the same delivery is taken as new.
            result = self.workers.submit(stored)
        except StoreError as exc:
            reason = f"store unavailable: {exc.message}"[:300]
            return answer(503, {"error": "store unavailable, retry later"}, "rejected", reason, **fields)
        if result == "duplicate":
            return answer(200, {"status": "duplicate"}, "duplicate", "event already received", **fields)
        if result == "full":
            return answer(503, {"error": "queue full, retry later"}, "rejected", "queue full", **fields)
        return 202, {"status": "accepted"}


class ListenerServer:
    """A waitress server for ``app`` on ``host:port`` (port 0: any free one), stoppable from a test."""

    def __init__(
        self,
        app: WebhookApp,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        threads: int = 8,
        limits: ConnectionLimits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from waitress.server import create_server

        limits = limits or ConnectionLimits()
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
            # The connection limit and timeouts are guard_connections' (webhook/limits.py); waitress's
            # own would stop accepting at the limit and let idle connections hold their slots.
            connection_limit=limits.max_connections + 100,
            cleanup_interval=limits.sweep_s,
            backlog=1024,
            # poll() instead of select(): no 1024-descriptor ceiling under many connections.
            asyncore_use_poll=True,
            # Let the app answer oversized bodies itself (413 + a log line); waitress stops anything larger.
            max_request_body_size=app.settings.max_body_bytes * 2,
            channel_timeout=int(limits.idle_s) + 60,  # a backstop: the guard closes idle ones first
            expose_tracebacks=False,
        )
        guard_connections(self._server, limits, clock)
        self.host = str(self._server.effective_host)
        self.port = int(self._server.effective_port)

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8080``."""
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve until ``stop()`` (from another thread) or Ctrl-C / SIGTERM (as KeyboardInterrupt);
        the pipeline workers start with it."""
        from waitress import wasyncore

        self.app.workers.start()

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
    store: HookStore | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    threads: int = 8,
    workers: int = 4,
    log: LogSink | None = None,
    redactor: Redactor | None = None,
    limits: ConnectionLimits | None = None,
    clock: Callable[[], float] = time.time,
    **worker_settings: Any,
) -> ListenerServer:
    """The listener, wired: store (default: SQLite in memory, for tests), workers, app, server
    (not yet serving). ``worker_settings``: ``PipelineWorkers``' keywords (lease, retry, queue size)."""
    sink = log if log is not None else json_log_sink()
    store = store if store is not None else open_store(StoreLocation("sqlite", ":memory:"))
    pool = PipelineWorkers(
        actions, settings, sink, store, workers=workers, redactor=redactor, **worker_settings
    )
    app = WebhookApp(settings, pool, sink)
    return ListenerServer(app, host=host, port=port, threads=threads, limits=limits, clock=clock)


def run_webhook(
    settings: WebhookListenerSettings, *, host: str, port: int, threads: int, workers: int
) -> int:
    """``claude-runner webhook``: serve until SIGTERM or Ctrl-C; pipelines being created get a few
    seconds to finish, and every other accepted hook stays in the store for the next start (or for
    another replica, at once).

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
    store = open_store(settings.store)
    try:
        server = build_listener(
            settings.decision,
            actions,
            store=store,
            host=host,
            port=port,
            threads=threads,
            workers=workers,
            log=sink,
            redactor=redactor,
            limits=settings.connections,
            lease_s=settings.lease_s,
            retry_s=settings.retry_s,
        )
    except OSError as exc:
        store.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # serve_forever stops on it; a container stop sends SIGTERM

    signal.signal(signal.SIGTERM, stop)
    # The one thread that accepts and reads every connection shares the GIL with the handler and
    # worker threads; a 1 ms switch interval (Python's default is 5 ms) lets it in sooner, which
    # keeps answers to a burst of hooks well under 100 ms while workers are calling GitLab.
    sys.setswitchinterval(0.001)
    queued = store.pending()
    startup = {"event": "startup", "decision": "listening", "reason": f"{server.url} -> {url}"}
    sink(startup | {"pid": os.getpid(), "store": settings.store.display, "queued": queued})
    server.serve_forever()
    left = server.app.workers.close(timeout=SHUTDOWN_GRACE_S)
    store.close()
    sink({"event": "shutdown", "decision": "stopped", "reason": "signal", "queued": left})
    return 0
