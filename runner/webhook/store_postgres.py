"""The listener's store in PostgreSQL, for several replicas sharing one queue (the
``webhook-postgres`` extra: psycopg 3).

Connections are pooled: an operation takes an idle one (the most recently used, so a few stay
warm) or opens one when all are busy, and gives it back after its transaction; a connection that
broke (the server restarted, a network blip) is dropped, and the operation that met the break
fails with ``StoreError`` (a hook is then answered 503, and a worker tries again after its poll
interval). Claims use ``FOR UPDATE SKIP LOCKED``: replicas
never wait on each other's rows and never take the same row. Times come from the server's clock
(``clock_timestamp()``), so replicas with skewed clocks still agree on leases. The schema is
created under an advisory lock, so replicas starting together do not race.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from runner.settings.webhook import StoreLocation
from runner.webhook.store import SqlStore, StoreError, schema

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
