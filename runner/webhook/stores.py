"""Open the listener's store a ``StoreLocation`` names: SQLite, or PostgreSQL (imported only then)."""

from __future__ import annotations

from runner.settings.webhook import StoreLocation
from runner.webhook.store import HookStore


def open_store(location: StoreLocation) -> HookStore:
    """The store at ``location``, its schema created if new; ``StoreError`` when it cannot be opened."""
    if location.kind == "postgresql":
        from runner.webhook.store_postgres import PostgresStore

        return PostgresStore(location)
    from runner.webhook.store_sqlite import SqliteStore

    return SqliteStore(location)
