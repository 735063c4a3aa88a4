"""The listener's store in one SQLite file (the default; stdlib ``sqlite3``, nothing to install).

Durable before the answer: the file is in WAL mode with ``synchronous=FULL``, so a hook answered
202 has been fsynced and survives a crash of the process or of the machine. An fsync costs a few
milliseconds, and a burst of hooks would queue behind each other's; so accepts are committed in
groups: a handler thread that finds the connection busy leaves its hook in ``_pending``, and
whichever thread holds the connection next commits everything pending in one transaction (one
fsync), each hook in its own savepoint. No hook is answered before the transaction holding it
has committed.

One connection, shared by the handler and worker threads under a lock; writes start with
``BEGIN IMMEDIATE`` and wait up to 30 s for another process holding the file (a second listener
during a rolling restart). For replicas on several machines use PostgreSQL: SQLite over a network
file system does not lock reliably.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.settings.webhook import StoreLocation
from runner.webhook.store import Acceptance, NewHook, SqlStore, StoreError, _Duplicate, _Full, schema

MIN_VERSION = (3, 35, 0)  # UPDATE ... RETURNING


@dataclass
class _Slot:
    """A hook waiting for the next group commit, and its answer once committed."""

    hook: NewHook
    max_queued: int
    result: Acceptance | None = None
    error: Exception | None = None


class SqliteStore(SqlStore):
    """``HookStore`` in an SQLite file (or ``:memory:``, which keeps nothing: tests only)."""

    NOW = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self, location: StoreLocation) -> None:
        if sqlite3.sqlite_version_info < MIN_VERSION:
            raise StoreError(
                f"SQLite {sqlite3.sqlite_version} is too old for the listener's store (3.35 or later)",
                "use a Python built with a newer SQLite, or a PostgreSQL store",
            )
        self.location = location
        self._lock = threading.Lock()  # the connection
        self._pending_lock = threading.Lock()
        self._pending: list[_Slot] = []
        path = location.target
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
            if path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            with self._transaction() as cursor:
                self._create_schema(cursor)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the listener's store {location.display}: {exc}",
                "set WEBHOOK_STORE (or --store) to a writable file, on a volume that outlives the container",
            ) from exc

    def _schema(self) -> Iterator[str]:
        return schema("INTEGER PRIMARY KEY AUTOINCREMENT", "REAL")

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._lock:
            yield from self._locked_transaction()

    def _locked_transaction(self) -> Iterator[Any]:
        cursor = self._db.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"the listener's store {self.location.display} is unavailable: {exc}") from exc
        try:
            yield cursor
        except BaseException:
            self._db.rollback()
            raise
        try:
            cursor.execute("COMMIT")
        except sqlite3.Error as exc:
            self._db.rollback()
            raise StoreError(f"the listener's store {self.location.display} could not commit: {exc}") from exc

    def accept(self, hook: NewHook, max_queued: int = 0) -> Acceptance:
        """Commit ``hook`` in the next group commit (see the module's docstring)."""
        slot = _Slot(hook, max_queued)
        with self._pending_lock:
            self._pending.append(slot)
        with self._lock:
            if slot.result is None and slot.error is None:
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                self._commit_group(batch)
        if slot.error is not None:
            raise slot.error
        assert slot.result is not None
        return slot.result

    def _commit_group(self, batch: list[_Slot]) -> None:
        """Commit every slot of ``batch`` in one transaction (the caller holds the connection)."""
        results: list[Acceptance] = []
        try:
            with contextmanager(self._locked_transaction)() as cursor:
                for slot in batch:
                    cursor.execute("SAVEPOINT hook")
                    try:
                        self._accept_in(cursor, slot.hook, slot.max_queued)
                        results.append("accepted")
                    except (_Duplicate, _Full) as exc:
                        cursor.execute("ROLLBACK TO hook")
                        results.append("duplicate" if isinstance(exc, _Duplicate) else "full")
                    cursor.execute("RELEASE hook")
        except (sqlite3.Error, StoreError) as exc:
            error = exc if isinstance(exc, StoreError) else StoreError(f"the listener's store failed: {exc}")
            for slot in batch:
                slot.error = error
            return
        for slot, result in zip(batch, results, strict=True):
            slot.result = result

    def close(self) -> None:
        with self._lock:
            self._db.close()
