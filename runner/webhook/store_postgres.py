"""The listener's store in PostgreSQL, for several replicas sharing one queue (the
``webhook-postgres`` extra: psycopg 3).

Connections are pooled: an operation takes an idle one (the most recently used, so a few stay
warm) or opens one when all are busy, and gives it back after its transaction; a connection that
broke (the server restarted, a network blip) is dropped, and the operation that met the break
fails with ``StoreError`` (a hook is then answered 503, and a worker tries again after its poll
interval). Every operation is one statement in autocommit mode, one round trip: an accept is a
data-modifying CTE that inserts the hook and its ids together (a concurrent delivery of the same
event makes it fail whole with a unique violation: a duplicate). Claims use ``FOR UPDATE SKIP
LOCKED``: replicas never wait on each other's rows and never take the same row. Times come from
the server's clock (``clock_timestamp()``), so replicas with skewed clocks still agree on leases.
The schema is created under an advisory lock, so replicas starting together do not race.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from runner.settings.webhook import StoreLocation
from runner.webhook.store import Acceptance, NewHook, SqlStore, StoreError, schema

T = TypeVar("T")

_SCHEMA_LOCK = 0x636C7264  # pg_advisory_xact_lock key: "clrd"


class PostgresStore(SqlStore):
    """``HookStore`` in a PostgreSQL database (``location.target``: a libpq URL)."""

    NOW = "extract(epoch from clock_timestamp())::double precision"
    PLACEHOLDER = "%s"
    SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"

    def __init__(self, location: StoreLocation) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise StoreError(
                "a PostgreSQL store needs psycopg", "pip install 'claude-runner[webhook-postgres]'"
            ) from exc
        self._psycopg = psycopg
        self.location = location
        self._idle: list[Any] = []  # a stack: the warmest connection on top
        self._lock = threading.Lock()
        self._closed = False
        with self._transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            self._create_schema(cursor)

    def _schema(self) -> Iterator[str]:
        return schema("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "DOUBLE PRECISION")

    def accept(self, hook: NewHook, max_queued: int = 0) -> Acceptance:
        room = "(SELECT count(*) FROM webhook_hooks WHERE state = 'queued') < %s" if max_queued else "true"
        statement = (
            "WITH new AS (INSERT INTO webhook_hooks"
            " (run_id, event_uuid, job, state, received_at, answer_ms, available_at)"
            f" SELECT %s, %s, %s, 'queued', %s, %s, {self.NOW}"
            f" WHERE NOT EXISTS (SELECT 1 FROM webhook_seen WHERE key = ANY(%s)) AND {room}"
            " RETURNING run_id),"
            f" ids AS (INSERT INTO webhook_seen (key, run_id, seen_at) SELECT k, new.run_id, {self.NOW}"
            " FROM new, unnest(%s::text[]) AS k)"
            " SELECT (SELECT count(*) FROM new), EXISTS (SELECT 1 FROM webhook_seen WHERE key = ANY(%s))"
        )
        keys = list(hook.keys)
        values = (hook.run_id, hook.uuid, json.dumps(hook.job), hook.received_at, hook.answer_ms, keys)
        params = (*values, *((max_queued,) if max_queued else ()), keys, keys)
        try:
            inserted, seen = self._write(lambda cursor: cursor.execute(statement, params).fetchone())
        except StoreError as exc:
            if isinstance(exc.__cause__, self._psycopg.errors.UniqueViolation):
                return "duplicate"  # the same event, committed by another delivery meanwhile
            raise
        if inserted:
            return "accepted"
        return "duplicate" if seen else "full"

    def _write(self, op: Callable[[Any], T], durable: bool = False) -> T:
        """``op`` in autocommit mode: each of its statements commits (durably: PostgreSQL's
        ``synchronous_commit``) on its own; every operation but ``accept`` is one statement."""
        conn = self._connection()
        try:
            with conn.cursor() as cursor:
                return op(cursor)
        except self._psycopg.Error as exc:
            raise StoreError(
                f"the listener's store {self.location.display} failed: {_first_line(exc)}"
            ) from exc
        finally:
            self._give_back(conn)

    def _connection(self) -> Any:
        with self._lock:
            if self._closed:
                raise StoreError(f"the listener's store {self.location.display} is closed")
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed and not conn.broken:
                    return conn
        try:
            return self._psycopg.connect(
                self.location.target,
                autocommit=True,
                connect_timeout=10,
                application_name="claude-runner webhook",
            )
        except self._psycopg.Error as exc:
            raise StoreError(
                f"cannot reach the listener's store {self.location.display}: {_first_line(exc)}",
                "check WEBHOOK_STORE and that the PostgreSQL server is up",
            ) from exc

    def _give_back(self, conn: Any) -> None:
        with self._lock:
            if not self._closed and not conn.closed and not conn.broken:
                self._idle.append(conn)
                return
        with contextlib.suppress(Exception):
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        conn = self._connection()
        try:
            with conn.transaction(), conn.cursor() as cursor:
                yield cursor
        except self._psycopg.Error as exc:
            raise StoreError(
                f"the listener's store {self.location.display} failed: {_first_line(exc)}"
            ) from exc
        finally:
            self._give_back(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._idle = self._idle, []
        for conn in conns:
            with contextlib.suppress(Exception):  # a broken connection must not stop the shutdown
                conn.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
