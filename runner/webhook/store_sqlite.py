"""The listener's store in one SQLite file (the default; stdlib ``sqlite3``, nothing to install).

Durable before the answer: a hook is answered 202, and a claimed hook's pipeline is requested,
only once the transaction holding it is on disk, so it survives a crash of the process or of the
machine. An fsync costs a few milliseconds (2.5 ms on the project's machine, far more when it is
busy), and in a burst of hooks the answers would queue behind each other's fsyncs; and a
connection shared under a lock convoys: its holder gives the GIL away at every statement and waits
for it behind every other runnable thread. So one writer thread owns the connection and runs every
operation (handlers' accepts, workers' claims and updates) in groups: it takes all that is
waiting, runs it in one transaction, commits, wakes the callers whose writes need only be
visible, and hands the rest to a syncer thread, which fsyncs the WAL once for all of them (and
for everything committed before) while the writer runs the next group. The file is in WAL mode
with ``synchronous=NORMAL`` (commits write the WAL without syncing; checkpoints sync), and the
syncer's fsync gives the durable operations what ``synchronous=FULL`` gives every commit.

Writes start with ``BEGIN IMMEDIATE`` and wait up to 30 s for another process holding the file (a
second listener during a rolling restart). For replicas on several machines use PostgreSQL:
SQLite over a network file system does not lock reliably.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from runner.settings.webhook import StoreLocation
from runner.webhook.store import SqlStore, StoreError, schema

T = TypeVar("T")

MIN_VERSION = (3, 35, 0)  # UPDATE ... RETURNING


@dataclass
class _Slot(Generic[T]):
    """An operation waiting for the writer, and its outcome once committed (and synced)."""

    op: Callable[[Any], T]
    durable: bool
    result: T | None = None
    error: Exception | None = None
    done: threading.Event = field(default_factory=threading.Event)


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
        path = location.target
        self._wal = None if path == ":memory:" else path + "-wal"
        self._waiting: list[_Slot[Any]] = []  # for the writer
        self._unsynced: list[_Slot[Any]] = []  # committed, for the syncer
        lock = threading.Lock()
        self._for_writer, self._for_syncer = threading.Condition(lock), threading.Condition(lock)
        self._closed = self._writer_done = False
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
            if path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with contextmanager(self._transaction_on_writer)() as cursor:
                self._create_schema(cursor)
            self._sync_wal()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the listener's store {location.display}: {exc}",
                "set WEBHOOK_STORE (or --store) to a writable file, on a volume that outlives the container",
            ) from exc
        self._writer = threading.Thread(target=self._write_loop, name="webhook-store", daemon=True)
        self._syncer = threading.Thread(target=self._sync_loop, name="webhook-store-sync", daemon=True)
        self._writer.start()
        self._syncer.start()

    def _schema(self) -> Iterator[str]:
        return schema("INTEGER PRIMARY KEY AUTOINCREMENT", "REAL")

    def _write(self, op: Callable[[Any], T], durable: bool = False) -> T:
        """Hand ``op`` to the writer and wait until it is committed (and synced, if ``durable``)."""
        slot: _Slot[T] = _Slot(op, durable)
        with self._for_writer:
            if self._closed:
                raise StoreError(f"the listener's store {self.location.display} is closed")
            self._waiting.append(slot)
            self._for_writer.notify()
        slot.done.wait()
        if slot.error is not None:
            raise slot.error
        return cast(T, slot.result)

    def _write_loop(self) -> None:
        while True:
            with self._for_writer:
                while not self._waiting and not self._closed:
                    self._for_writer.wait()
                group, self._waiting = self._waiting, []
                if not group:  # closed, and nothing left
                    self._writer_done = True
                    self._for_syncer.notify()
                    return
            try:
                self._run_group(group)
            except Exception as exc:  # a bug here must fail these operations, not stop the writer
                for slot in group:
                    if not slot.done.is_set():
                        slot.error, slot.result = _store_error(self, exc), None
                        slot.done.set()

    def _run_group(self, group: list[_Slot[Any]]) -> None:
        """One transaction for ``group``; then the callers are woken, the durable ones after the
        fsync. An operation writes nothing unless it succeeds (``SqlStore`` builds them so), but a
        failing one aborts the transaction: the group then runs again one operation at a time."""
        try:
            with contextmanager(self._transaction_on_writer)() as cursor:
                for slot in group:
                    slot.result = slot.op(cursor)
        except Exception as exc:
            if len(group) > 1:
                for slot in group:
                    self._run_group([slot])
                return
            group[0].error = _store_error(self, exc) if isinstance(exc, sqlite3.Error) else exc
            group[0].result = None
            group[0].done.set()
            return
        for slot in group:
            if not slot.durable:
                slot.done.set()
        durable = [slot for slot in group if slot.durable]
        if durable:
            with self._for_syncer:
                self._unsynced += durable
                self._for_syncer.notify()

    def _sync_loop(self) -> None:
        """fsync the WAL for every durable operation committed, while the writer runs the next
        group: one fsync covers every commit made before it starts."""
        while True:
            with self._for_syncer:
                while not self._unsynced and not self._writer_done:
                    self._for_syncer.wait()
                batch, self._unsynced = self._unsynced, []
            if not batch:
                return
            try:
                self._sync_wal()
            except OSError as exc:
                for slot in batch:
                    slot.error, slot.result = _store_error(self, exc), None
            for slot in batch:
                slot.done.set()

    def _transaction_on_writer(self) -> Iterator[Any]:
        cursor = self._db.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            self._db.rollback()
            raise
        try:
            cursor.execute("COMMIT")
        except sqlite3.Error:
            self._db.rollback()
            raise

    def _sync_wal(self) -> None:
        """fsync the WAL: every transaction committed so far is then on disk (what
        ``synchronous=FULL`` does inside each commit)."""
        if self._wal is None:
            return
        try:
            fd = os.open(self._wal, os.O_RDONLY)
        except FileNotFoundError:  # no WAL: everything is in the database file, synced by checkpoints
            return
        try:
            os.fdatasync(fd)  # as SQLite syncs: the data and the size, not the timestamps
        finally:
            os.close(fd)

    def close(self) -> None:
        with self._for_writer:
            self._closed = True
            self._for_writer.notify()
        self._writer.join(timeout=30)
        self._syncer.join(timeout=30)
        self._db.close()


def _store_error(store: SqliteStore, exc: BaseException) -> StoreError:
    if isinstance(exc, StoreError):
        return exc
    return StoreError(f"the listener's store {store.location.display} failed: {exc}")
