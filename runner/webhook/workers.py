"""The pipeline workers of ``claude-runner webhook``: the slow half, after the hook is committed and
answered.

GitLab gives up on a hook after 10 s and disables hooks that keep failing, so the handler
(``runner/webhook/server.py``) only decides and commits the hook to the store (``store.py``);
``PipelineWorkers`` then claim hooks from the store, check the author's access level and start the
pipeline, through ``GitLabActions`` (``gitlab_api.py``). Workers of several listener processes may
share one store (PostgreSQL): a claim is a lease, renewed by a heartbeat while the hook is worked
on, and taken over by another worker when its holder dies.

Every pipeline carries the hook's run id (``CLAUDE_RUNNER_HOOK_ID``). A hook claimed for the
second time or later, or whose create failed ambiguously, is first looked for among the ref's
recent pipelines, so it is started at most once. Failures that may pass (GitLab unreachable, a
5xx, a 429) are retried with a doubling backoff (``retry_s``, 2x, ..., at most 10 min) up to
``max_attempts`` claims.

Each accepted hook gets one final JSON log line here (``started``, ``denied`` or ``failed``), plus
one ``retrying`` line per retry.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from runner.flow.refusal import reply_marker, reply_text
from runner.platforms.base import permission_at_least
from runner.sanitize import Redactor
from runner.settings.webhook import LEASE_S, RETRY_S, WebhookSettings
from runner.webhook.decision import PipelineRequest, WebhookDecision
from runner.webhook.gitlab_api import (
    HOOK_ID_VARIABLE,
    AmbiguousCreate,
    GitLabActions,
    RetryLater,
    platform_actions,
)
from runner.webhook.store import DONE, FAILED, Acceptance, ClaimedHook, HookStore, NewHook, StoreError

__all__ = ["GitLabActions", "PipelineWorkers", "job_of", "ms_since", "platform_actions"]

LogSink = Callable[[dict[str, Any]], None]

MAX_DEFER_S = 0.25  # the longest a worker waits for a quiet moment before starting a pipeline
MAX_ATTEMPTS = 10  # claims of one hook before it fails (about 40 minutes of retries at 5 s)
MAX_RETRY_S = 600.0
POLL_S = 0.5  # how often an idle worker looks for hooks other replicas accepted, or retries now due
PRUNE_EVERY_S = 3600.0
QUEUE_SIZE = 10_000  # hooks waiting before new ones are answered 503


def job_of(decision: WebhookDecision) -> dict[str, Any]:
    """What the store keeps of an accepted decision: the pipeline to start and the log fields."""
    assert decision.pipeline is not None
    pipeline = asdict(decision.pipeline) | {"variables": dict(decision.pipeline.variables)}
    return {"pipeline": pipeline, "reason": decision.reason, "fields": decision.log_fields()}


class PipelineWorkers:
    """A few threads that claim hooks from ``store``, check access and start each pipeline once."""

    def __init__(
        self,
        actions: GitLabActions,
        settings: WebhookSettings,
        log: LogSink,
        store: HookStore,
        *,
        workers: int = 4,
        queue_size: int = QUEUE_SIZE,
        lease_s: float = LEASE_S,
        retry_s: float = RETRY_S,
        max_attempts: int = MAX_ATTEMPTS,
        poll_s: float = POLL_S,
        access_ttl: float = 30.0,
        redactor: Redactor | None = None,
    ) -> None:
        self._actions = actions
        self._settings = settings
        self._log = log
        self.store = store
        self._redactor = redactor or Redactor()
        self._queue_size, self._lease_s, self._retry_s = queue_size, lease_s, retry_s
        self._max_attempts, self._poll_s = max_attempts, poll_s
        # Who holds a lease: unique per process, readable in the store when something is stuck.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._stopping = threading.Event()
        self._wake = threading.Semaphore(0)
        self._held: dict[int, str] = {}  # hook id -> "checking" or "creating"
        self.started = 0  # pipelines started (or found started), for the bench and tests
        self._count_lock = threading.Lock()
        self._access: dict[tuple[int, str], tuple[str, float]] = {}
        self._access_ttl = access_ttl
        self._store_down = False
        self._threads = [
            threading.Thread(target=self._loop, name=f"webhook-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        self._threads.append(threading.Thread(target=self._heartbeat, name="webhook-lease", daemon=True))
        self._started = False

    def start(self) -> None:
        """Start the worker threads (once): the listener does when it starts serving."""
        with self._count_lock:
            if self._started:
                return
            self._started = True
        for thread in self._threads:
            thread.start()

    def submit(self, hook: NewHook) -> Acceptance:
        """Commit ``hook`` to the store and wake a worker; ``StoreError`` if it could not be written."""
        result = self.store.accept(hook, self._queue_size)
        if result == "accepted":
            self._wake.release()
        return result

    def join(self, timeout: float) -> bool:
        """Wait until the store holds no unfinished hook; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.store.pending():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self, timeout: float = 5.0) -> int:
        """Stop claiming; wait up to ``timeout`` seconds for pipelines being created, give back the
        leases of hooks still held (due again at once, or after ``retry_s`` when a create was in
        flight, since GitLab may still make that pipeline); the number of hooks left queued."""
        self._stopping.set()
        for _ in self._threads:
            self._wake.release()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._count_lock:
                if "creating" not in self._held.values():
                    break
            time.sleep(0.01)
        with self._count_lock:
            held = dict(self._held)
        try:
            self.store.release(self.owner, [i for i, stage in held.items() if stage != "creating"])
            self.store.release(self.owner, [i for i, s in held.items() if s == "creating"], self._retry_s)
            return self.store.pending()
        except StoreError:
            return -1  # the leases run out by themselves
        finally:
            for thread in self._threads:
                if thread.is_alive():
                    thread.join(timeout=0.2)

    # --- the worker threads ---------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._yield_to_answers()  # a claim is a write the answers would wait behind
            while self._wake.acquire(blocking=False):
                pass  # the claim below sees every hook committed before it: their wake-ups are spent
            try:
                hook = self.store.claim(self.owner, self._lease_s)
            except StoreError as exc:
                self._store_trouble(exc)
                self._stopping.wait(self._poll_s)
                continue
            self._store_down = False
            if hook is None:
                self._wake.acquire(timeout=self._poll_s)
                continue
            with self._count_lock:
                self._held[hook.id] = "checking"
            try:
                self._run(hook)
            finally:
                with self._count_lock:
                    self._held.pop(hook.id, None)

    def _heartbeat(self) -> None:
        """Renew the leases of held hooks every third of a lease; prune old rows every hour."""
        pruned = 0.0
        while not self._stopping.wait(self._lease_s / 3):
            with self._count_lock:
                held = list(self._held)
            try:
                self.store.renew(self.owner, held, self._lease_s)
                if time.monotonic() - pruned > PRUNE_EVERY_S:
                    pruned = time.monotonic()
                    self.store.prune()
            except StoreError as exc:
                self._store_trouble(exc)

    def _store_trouble(self, exc: StoreError) -> None:
        if not self._store_down:  # one line per outage, not one per poll
            self._store_down = True
            self._log({"event": "store", "decision": "unavailable", "reason": exc.one_line()[:300]})

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

    def _run(self, hook: ClaimedHook) -> None:
        request = PipelineRequest(**hook.job["pipeline"])
        record: dict[str, Any] = {"uuid": hook.uuid, **hook.job["fields"], "ref": request.ref}
        record["hook_id"] = hook.run_id
        state = DONE
        try:
            level = "bot" if request.author_is_bot else self._permission(request.project_id, request.author)
            if level != "bot" and not permission_at_least(level, self._settings.min_permission):
                record |= {
                    "decision": "denied",
                    "reason": f"{request.author} has access '{level}', below the required "
                    f"'{self._settings.min_permission}'",
                }
                record |= self._reply_refused(request)
            else:
                found = self._start_once(hook, request)
                if found is None:
                    return  # stopping: the lease is given back, the hook stays queued
                (pipeline_id, url), note = found
                with self._count_lock:
                    self.started += 1
                record |= {"decision": "started", "reason": hook.job["reason"] + note}
                record |= {"pipeline_id": pipeline_id, "pipeline_url": url}
        except RetryLater as exc:
            message = self._redactor.text(str(exc))[:300]
            if hook.attempts < self._max_attempts:
                delay = min(self._retry_s * 2 ** (hook.attempts - 1), MAX_RETRY_S)
                try:
                    self.store.retry(hook, self.owner, delay, message)
                except StoreError as store_exc:
                    self._store_trouble(store_exc)  # the lease runs out and the hook is claimed again
                self._log(record | {"decision": "retrying", "reason": message, "retry_in_s": round(delay, 2)})
                return
            state = FAILED
            record |= {"decision": "failed", "reason": f"gave up after {hook.attempts} attempts: {message}"}
        except Exception as exc:  # a worker must survive any failure of one job
            state = FAILED
            message = self._redactor.text(f"{type(exc).__name__}: {exc}")[:300]
            record |= {"decision": "failed", "reason": message}
        record |= {"attempts": hook.attempts, "latency_ms": hook.answer_ms}
        record["total_ms"] = round((time.time() - hook.received_at) * 1000, 2)
        try:
            if not self.store.finish(hook, self.owner, state, record):
                record["lease_lost"] = True  # another worker holds it now, and will find this pipeline
        except StoreError as exc:
            self._store_trouble(exc)
        self._log(record)

    def _reply_refused(self, request: PipelineRequest) -> dict[str, Any]:
        """The short note a refused author gets (``REPLY_TO_REFUSED``), for the log line: its URL,
        or why there is none. A failure to post does not fail the hook: it was refused either way."""
        phrase = self._settings.triggers.trigger_phrase
        text = reply_text(request.author, "gitlab", self._settings.min_permission, phrase)
        if not self._settings.reply_to_refused:
            return {"reply": "none: REPLY_TO_REFUSED is false"}
        if text is None or request.iid is None or request.noteable is None or request.event_key is None:
            return {"reply": "none: nowhere to reply, or every wording would mention the trigger phrase"}
        marker = reply_marker(request.event_key)
        try:
            url = self._actions.reply(
                request.project_id, request.noteable, request.iid, f"{text}\n\n{marker}", marker
            )
        except Exception as exc:  # a worker must survive any failure of one job
            return {"reply": "failed: " + self._redactor.text(f"{type(exc).__name__}: {exc}")[:300]}
        return {"reply": url}

    def _start_once(self, hook: ClaimedHook, request: PipelineRequest) -> tuple[tuple[int, str], str] | None:
        """The pipeline for ``hook`` and a note for the log: found from an earlier attempt, or created
        now; None when the pool is stopping before it was created."""
        since = hook.first_claimed_at
        find = self._actions.find_pipeline
        if hook.attempts > 1:  # an earlier attempt may have created it, and not lived to record it
            found = find(request.project_id, request.ref, HOOK_ID_VARIABLE, hook.run_id, since)
            if found is not None:
                return found, " (found: an earlier attempt had started it)"
        if self._stopping.is_set():
            return None
        with self._count_lock:
            self._held[hook.id] = "creating"
        variables = {**request.variables, HOOK_ID_VARIABLE: hook.run_id}
        try:
            return self._actions.start_pipeline(request.project_id, request.ref, variables), ""
        except AmbiguousCreate as exc:
            found = find(request.project_id, request.ref, HOOK_ID_VARIABLE, hook.run_id, since)
            if found is None:
                raise
            return found, f" (found after '{exc}': it had been created)"


def ms_since(start: float) -> float:
    """Milliseconds since ``start`` (a ``time.monotonic()``), to two decimals."""
    return round((time.monotonic() - start) * 1000, 2)
