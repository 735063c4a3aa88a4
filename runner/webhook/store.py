"""The listener's durable store: every accepted hook, who is working on it, and the event ids seen.

GitLab is answered 202 only once the hook is committed here, and it does not deliver a hook again
after a 202; so the queue of accepted hooks and the record of events already received live in a
database, not in the process. A SIGTERM, a crash or a restart resumes the queue, and GitLab's
redeliveries (the same ``X-Gitlab-Event-UUID`` or ``Idempotency-Key``) are recognised after it.
SQLite (``store_sqlite.py``, the default, one file) serves one listener; PostgreSQL
(``store_postgres.py``) serves several replicas sharing the queue; ``stores.open_store`` opens
the one a ``StoreLocation`` names.

The schema, the same in both (times are seconds since the epoch, from the database's clock):

- ``webhook_hooks``: one row per accepted hook. ``run_id`` (a UUID) goes into the pipeline's
  variables as ``CLAUDE_RUNNER_HOOK_ID``, so a pipeline that landed despite an error can be found;
  ``job`` is the JSON of what to start; ``state`` is ``queued`` until the hook is ``done`` (a
  pipeline started or found, or the author refused) or ``failed`` (retries used up, or GitLab said
  no for good); ``available_at`` holds a retry back; ``lease_owner``/``lease_until`` mark a claim;
  ``attempts`` counts claims (and fences a worker whose lease was taken over); ``first_claimed_at``
  bounds the search for a pipeline already made; ``outcome``, ``reason``, ``pipeline_id``,
  ``pipeline_url`` and ``finished_at`` record how it ended.
- ``webhook_seen``: ``key`` (``event:<uuid>``, ``idem:<key>``) ⇒ the ``run_id`` it brought in.
- ``webhook_meta``: ``schema_version``.

Claiming: one statement takes the oldest queued row that is due and not leased (PostgreSQL adds
``FOR UPDATE SKIP LOCKED``, so replicas never wait for each other's rows), sets the lease and
counts the attempt. A worker renews its leases while it works (``renew``); a crashed worker's
lease runs out and another worker claims the hook. Every later write is conditional on the lease
and the attempt number, so a worker that lost its lease changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, TypeVar

from runner.errors import RunnerError
from runner.settings.webhook import StoreLocation

QUEUED, DONE, FAILED = "queued", "done", "failed"
RETENTION_S = 7 * 24 * 3600.0  # finished hooks and seen ids are kept a week (GitLab's resend window)
SCHEMA_VERSION = "1"

Acceptance = Literal["accepted", "duplicate", "full"]
T = TypeVar("T")


class StoreError(RunnerError):
    """The store cannot be opened, read or written (a hook is then answered 503, not 202)."""

    kind = "store"


@dataclass(frozen=True)
class NewHook:
    """An accepted hook, about to be committed: its replay keys and what to start."""

    run_id: str
    keys: tuple[str, ...]  # "event:<X-Gitlab-Event-UUID>", "idem:<Idempotency-Key>"
    uuid: str | None
    job: Mapping[str, Any]
    received_at: float  # time.time() when it arrived
    answer_ms: float = 0.0


@dataclass(frozen=True)
class ClaimedHook:
    """A hook a worker holds a lease on; ``attempts`` counts this claim too."""

    id: int
    run_id: str
    uuid: str | None
    job: dict[str, Any]
    attempts: int
    first_claimed_at: float
    received_at: float
    answer_ms: float


class HookStore(Protocol):
    """What the listener needs from its store (``SqlStore`` implements it for both databases)."""

    location: StoreLocation

    def accept(self, hook: NewHook, max_queued: int = 0) -> Acceptance:
        """Commit ``hook`` unless one of its keys was seen (``duplicate``) or ``max_queued`` hooks
        are waiting (``full``); only a committed hook is ``accepted``."""
        ...

    def claim(self, owner: str, lease_s: float) -> ClaimedHook | None: ...

    def renew(self, owner: str, ids: Collection[int], lease_s: float) -> None: ...

    def finish(self, hook: ClaimedHook, owner: str, state: str, outcome: Mapping[str, Any]) -> bool: ...

    def retry(self, hook: ClaimedHook, owner: str, delay_s: float, reason: str) -> bool: ...

    def release(self, owner: str, ids: Collection[int], delay_s: float = 0.0) -> int: ...

    def pending(self) -> int: ...

    def counts(self) -> dict[str, int]: ...

    def prune(self, older_than_s: float = RETENTION_S) -> int: ...

    def close(self) -> None: ...


class _Duplicate(Exception):
    pass


class _Full(Exception):
    pass


_COLUMNS = "id, run_id, event_uuid, job, attempts, first_claimed_at, received_at, answer_ms"


class SqlStore:
    """The store's SQL, shared by SQLite and PostgreSQL; subclasses supply connections.

    ``NOW`` is the database's clock in seconds; ``?`` placeholders become ``%s`` for psycopg. Every
    operation is a function of a cursor run by ``_write`` in a transaction of its own (PostgreSQL),
    or in the next group commit (SQLite); an exception it raises undoes only its own writes.
    """

    NOW: ClassVar[str]
    PLACEHOLDER: ClassVar[str] = "?"
    SKIP_LOCKED: ClassVar[str] = ""
    location: StoreLocation

    def _transaction(self) -> AbstractContextManager[Any]:
        """A cursor in a write transaction: committed on exit, rolled back on an exception."""
        raise NotImplementedError

    def _write(self, op: Callable[[Any], T], durable: bool = False) -> T:
        """``op(cursor)`` in a committed transaction; its result, or its exception with its writes
        undone. ``durable``: on disk when this returns, not only visible (a hook about to be
        answered 202, a claim about to create a pipeline); PostgreSQL's commits always are."""
        with self._transaction() as cursor:
            return op(cursor)

    def _sql(self, text: str) -> str:
        return text.replace("{now}", self.NOW).replace("?", self.PLACEHOLDER)

    def _run(self, cursor: Any, text: str, params: tuple[Any, ...] = ()) -> Any:
        cursor.execute(self._sql(text), params)
        return cursor

    def _schema(self) -> Iterator[str]:
        """The DDL, for the subclass's types."""
        raise NotImplementedError

    def accept(self, hook: NewHook, max_queued: int = 0) -> Acceptance:
        keys = hook.keys
        marks = ", ".join("?" * len(keys))
        # One guarded INSERT: nothing is written when a key was seen or the queue is full, so the
        # operation needs no savepoint in a group commit.
        new = f"NOT EXISTS (SELECT 1 FROM webhook_seen WHERE key IN ({marks}))" if keys else "1 = 1"
        room = "(SELECT count(*) FROM webhook_hooks WHERE state = 'queued') < ?"
        insert = (
            "INSERT INTO webhook_hooks (run_id, event_uuid, job, state, received_at, answer_ms, available_at)"
            f" SELECT ?, ?, ?, 'queued', ?, ?, {{now}} WHERE {new} AND {room if max_queued > 0 else '1 = 1'}"
        )
        values = (hook.run_id, hook.uuid, json.dumps(hook.job), hook.received_at, hook.answer_ms)
        params = (*values, *keys, *((max_queued,) if max_queued > 0 else ()))
        record = (
            "INSERT INTO webhook_seen (key, run_id, seen_at) VALUES "
            + ", ".join("(?, ?, {now})" for _ in keys)
            + " ON CONFLICT (key) DO NOTHING"
        )

        def op(cursor: Any) -> None:
            if self._run(cursor, insert, params).rowcount == 0:
                seen = f"SELECT 1 FROM webhook_seen WHERE key IN ({marks})"
                if keys and self._run(cursor, seen, keys).fetchone():
                    raise _Duplicate
                raise _Full
            if keys:
                recorded = self._run(cursor, record, tuple(v for key in keys for v in (key, hook.run_id)))
                if recorded.rowcount < len(keys):
                    # PostgreSQL: a concurrent transaction recorded a key after the check above; the
                    # exception rolls this one back. (SQLite's writer is alone: it cannot happen.)
                    raise _Duplicate

        try:
            self._write(op, durable=True)
        except _Duplicate:
            return "duplicate"
        except _Full:
            return "full"
        return "accepted"

    def claim(self, owner: str, lease_s: float) -> ClaimedHook | None:
        row = self._write(
            lambda cursor: self._run(
                cursor,
                "UPDATE webhook_hooks SET lease_owner = ?, lease_until = {now} + ?, attempts = attempts + 1,"
                " first_claimed_at = coalesce(first_claimed_at, {now})"
                " WHERE id = (SELECT id FROM webhook_hooks WHERE state = 'queued'"
                " AND available_at <= {now} AND (lease_until IS NULL OR lease_until < {now})"
                " ORDER BY id LIMIT 1" + self.SKIP_LOCKED + ")"
                f" RETURNING {_COLUMNS}",
                (owner, lease_s),
            ).fetchone(),
            durable=True,  # a claim that a power cut undid would hide the create it led to
        )
        if row is None:
            return None
        hook_id, run_id, uuid, job, attempts, first, received, answer_ms = row
        return ClaimedHook(
            int(hook_id), str(run_id), uuid, json.loads(job), int(attempts), float(first),
            float(received), float(answer_ms),
        )  # fmt: skip

    def renew(self, owner: str, ids: Collection[int], lease_s: float) -> None:
        if ids:
            self._update_each(
                "UPDATE webhook_hooks SET lease_until = {now} + ? WHERE id = ? AND lease_owner = ?"
                " AND state = 'queued'",
                [(lease_s, hook_id, owner) for hook_id in ids],
            )

    def finish(self, hook: ClaimedHook, owner: str, state: str, outcome: Mapping[str, Any]) -> bool:
        """Close a hook (``done`` or ``failed``) with what happened; False if the lease was lost."""
        params = (
            state, outcome.get("decision"), str(outcome.get("reason", ""))[:1000], outcome.get("pipeline_id"),
            outcome.get("pipeline_url"), hook.id, owner, hook.attempts,
        )  # fmt: skip
        return bool(
            self._update_each(
                "UPDATE webhook_hooks SET state = ?, outcome = ?, reason = ?, pipeline_id = ?,"
                " pipeline_url = ?, finished_at = {now}, lease_owner = NULL, lease_until = NULL"
                " WHERE id = ? AND lease_owner = ? AND attempts = ? AND state = 'queued'",
                [params],
            )
        )

    def retry(self, hook: ClaimedHook, owner: str, delay_s: float, reason: str) -> bool:
        """Queue a hook again after ``delay_s``; False if the lease was lost."""
        return bool(
            self._update_each(
                "UPDATE webhook_hooks SET lease_owner = NULL, lease_until = NULL, available_at = {now} + ?,"
                " reason = ? WHERE id = ? AND lease_owner = ? AND attempts = ? AND state = 'queued'",
                [(delay_s, reason[:1000], hook.id, owner, hook.attempts)],
            )
        )

    def release(self, owner: str, ids: Collection[int], delay_s: float = 0.0) -> int:
        """Give up the leases on ``ids`` (shutting down): due again after ``delay_s``."""
        if not ids:
            return 0
        return self._update_each(
            "UPDATE webhook_hooks SET lease_owner = NULL, lease_until = NULL,"
            " available_at = {now} + ? WHERE id = ? AND lease_owner = ? AND state = 'queued'",
            [(delay_s, hook_id, owner) for hook_id in ids],
        )

    def _update_each(self, text: str, rows: list[tuple[Any, ...]]) -> int:
        """Run ``text`` once per parameter row in one transaction; the rows it changed."""

        def op(cursor: Any) -> int:
            return sum(int(self._run(cursor, text, params).rowcount) for params in rows)

        return self._write(op)

    def pending(self) -> int:
        """Hooks not finished yet (waiting, held back for a retry, or being worked on)."""
        return self.counts().get(QUEUED, 0)

    def counts(self) -> dict[str, int]:
        """Hooks by state."""
        rows = self._write(
            lambda cursor: self._run(
                cursor, "SELECT state, count(*) FROM webhook_hooks GROUP BY state"
            ).fetchall()
        )
        return {str(state): int(n) for state, n in rows}

    def prune(self, older_than_s: float = RETENTION_S) -> int:
        """Forget finished hooks and seen ids older than ``older_than_s``; how many rows went."""
        return self._update_each(
            "DELETE FROM webhook_seen WHERE seen_at < {now} - ?", [(older_than_s,)]
        ) + self._update_each(
            "DELETE FROM webhook_hooks WHERE state <> 'queued' AND finished_at < {now} - ?", [(older_than_s,)]
        )

    def _create_schema(self, cursor: Any) -> None:
        for statement in self._schema():
            cursor.execute(statement)
        self._run(
            cursor,
            "INSERT INTO webhook_meta (name, value) VALUES ('schema_version', ?)"
            " ON CONFLICT (name) DO NOTHING",
            (SCHEMA_VERSION,),
        )
        version = self._run(cursor, "SELECT value FROM webhook_meta WHERE name = 'schema_version'").fetchone()
        if version is None or str(version[0]) != SCHEMA_VERSION:
            raise StoreError(
                f"{self.location.display} holds a store of schema version {version and version[0]}, "
                f"this listener reads version {SCHEMA_VERSION}",
                "run the listener version that wrote it, or point WEBHOOK_STORE elsewhere",
            )


def schema(id_column: str, real: str) -> Iterator[str]:
    """The tables and the queue's index, with the database's id and float types."""
    yield (
        "CREATE TABLE IF NOT EXISTS webhook_hooks ("
        f" id {id_column}, run_id TEXT NOT NULL UNIQUE, event_uuid TEXT, job TEXT NOT NULL,"
        " state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'failed')),"
        f" received_at {real} NOT NULL, answer_ms {real} NOT NULL DEFAULT 0, available_at {real} NOT NULL,"
        f" attempts INTEGER NOT NULL DEFAULT 0, first_claimed_at {real}, lease_owner TEXT,"
        f" lease_until {real}, outcome TEXT, reason TEXT, pipeline_id BIGINT, pipeline_url TEXT,"
        f" finished_at {real})"
    )
    yield "CREATE INDEX IF NOT EXISTS webhook_hooks_queue ON webhook_hooks (id) WHERE state = 'queued'"
    yield (
        "CREATE TABLE IF NOT EXISTS webhook_seen"
        f" (key TEXT PRIMARY KEY, run_id TEXT NOT NULL, seen_at {real} NOT NULL)"
    )
    yield "CREATE INDEX IF NOT EXISTS webhook_seen_age ON webhook_seen (seen_at)"
    yield "CREATE TABLE IF NOT EXISTS webhook_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
