"""The listener's durable store, on SQLite and on a real PostgreSQL: what is accepted survives a
reopen, a replay is recognised, claims are exclusive, leases run out and fence their old holder."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runner.settings.webhook import StoreLocation
from runner.webhook.store import DONE, FAILED, HookStore, NewHook, StoreError
from runner.webhook.stores import open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
    if request.param == "sqlite":
        return StoreLocation("sqlite", str(tmp_path / "state" / "hooks.sqlite3"))
    return StoreLocation("postgresql", request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(location: StoreLocation) -> Iterator[HookStore]:
    opened = open_store(location)
    yield opened
    opened.close()


def new(n: int, *keys: str) -> NewHook:
    job = {"pipeline": {"ref": "main", "n": n}, "reason": "mention", "fields": {}}
    return NewHook(f"run-{n}", keys, keys[0].removeprefix("event:") if keys else None, job, time.time(), 1.5)


def test_accepted_hooks_and_seen_ids_survive_a_reopen(location: StoreLocation) -> None:
    first = open_store(location)
    assert first.accept(new(1, "event:a", "idem:k1")) == "accepted"
    assert first.accept(new(2, "event:b")) == "accepted"
    assert first.accept(new(3)) == "accepted"  # no ids: nothing to recognise it by
    first.close()  # as at a SIGTERM: nothing claimed
    again = open_store(location)
    try:
        assert again.pending() == 3
        assert again.accept(new(4, "event:a")) == "duplicate"  # the same event
        assert again.accept(new(5, "event:new", "idem:k1")) == "duplicate"  # GitLab's resend
        assert again.accept(new(6)) == "accepted"
        claimed = again.claim("w", 30)
        assert claimed is not None
        assert (claimed.run_id, claimed.uuid, claimed.attempts) == ("run-1", "a", 1)
        assert claimed.job["pipeline"] == {"ref": "main", "n": 1} and claimed.answer_ms == 1.5
    finally:
        again.close()


def test_exactly_one_of_many_racing_deliveries_is_accepted(store: HookStore) -> None:
    barrier = threading.Barrier(24)

    def deliver(n: int) -> str:
        barrier.wait()
        return store.accept(new(n, "event:same"))

    with ThreadPoolExecutor(24) as pool:
        results = Counter(pool.map(deliver, range(24)))
    assert results == {"accepted": 1, "duplicate": 23}
    assert store.pending() == 1


def test_concurrent_distinct_hooks_are_all_committed(store: HookStore) -> None:
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda n: store.accept(new(n, f"event:{n}")), range(64)))
    assert results == ["accepted"] * 64
    assert store.pending() == 64


def test_a_full_queue_rejects_a_hook_without_recording_its_ids(store: HookStore) -> None:
    assert store.accept(new(1, "event:a"), max_queued=1) == "accepted"
    assert store.accept(new(2, "event:b"), max_queued=1) == "full"
    assert store.accept(new(1, "event:a"), max_queued=1) == "duplicate"  # a replay is still one
    claimed = store.claim("w", 30)
    assert claimed is not None and store.finish(claimed, "w", DONE, {"decision": "started"})
    assert store.accept(new(2, "event:b"), max_queued=1) == "accepted"  # GitLab's retry gets in


def test_claims_are_oldest_first_and_exclusive(store: HookStore) -> None:
    for n in range(3):
        store.accept(new(n, f"event:{n}"))
    one, two = store.claim("replica-1", 60), store.claim("replica-2", 60)
    assert one is not None and two is not None
    assert (one.run_id, two.run_id) == ("run-0", "run-1")
    three = store.claim("replica-1", 60)
    assert three is not None and three.run_id == "run-2"
    assert store.claim("replica-2", 60) is None  # all held
    assert not store.finish(one, "replica-2", DONE, {})  # not its lease
    assert store.finish(one, "replica-1", DONE, {"decision": "started", "pipeline_id": 7})
    assert store.finish(two, "replica-2", FAILED, {"decision": "failed", "reason": "x" * 5000})
    assert store.counts() == {"done": 1, "failed": 1, "queued": 1}


def test_an_expired_lease_goes_to_another_worker_and_fences_the_first(store: HookStore) -> None:
    store.accept(new(1, "event:a"))
    first = store.claim("crashed", 0.2)
    assert first is not None and store.claim("other", 30) is None
    time.sleep(0.4)  # the holder never renewed: it died
    second = store.claim("other", 30)
    assert second is not None and second.id == first.id
    assert second.attempts == 2 and second.first_claimed_at == pytest.approx(first.first_claimed_at)
    assert not store.finish(first, "crashed", DONE, {})  # it woke up: too late, changes nothing
    assert not store.retry(first, "crashed", 0, "late")
    assert store.finish(second, "other", DONE, {"decision": "started"})
    assert store.pending() == 0


def test_renewed_leases_hold_and_retries_wait(store: HookStore) -> None:
    store.accept(new(1, "event:a"))
    held = store.claim("w", 0.3)
    assert held is not None
    store.renew("w", [held.id], 60)
    time.sleep(0.4)
    assert store.claim("other", 30) is None  # renewed: still held
    assert store.retry(held, "w", 60, "GitLab answered 503")
    assert store.claim("other", 30) is None  # held back for a minute
    assert store.pending() == 1
    store.accept(new(2, "event:b"))
    taken = store.claim("w", 30)
    assert taken is not None and taken.run_id == "run-2"
    assert store.release("w", [taken.id]) == 1  # shutting down: due again at once
    again = store.claim("other", 30)
    assert again is not None and (again.run_id, again.attempts) == ("run-2", 2)


def test_prune_forgets_finished_hooks_and_old_ids_only(store: HookStore) -> None:
    store.accept(new(1, "event:a"))
    store.accept(new(2, "event:b"))
    done = store.claim("w", 30)
    assert done is not None and store.finish(done, "w", DONE, {"decision": "started"})
    assert store.prune(older_than_s=3600) == 0
    time.sleep(0.05)
    assert store.prune(older_than_s=0.01) == 3  # two seen ids and the finished hook
    assert store.counts() == {"queued": 1}
    assert store.accept(new(3, "event:a")) == "accepted"  # forgotten after the retention


def test_two_replicas_on_postgres_claim_every_hook_exactly_once(postgres_url: str) -> None:
    location = StoreLocation("postgresql", postgres_url)
    replicas = [open_store(location), open_store(location)]
    try:
        for n in range(200):
            replicas[n % 2].accept(new(n, f"event:{n}"))
        claimed: list[str] = []

        def work(store: HookStore, owner: str) -> None:
            while (hook := store.claim(owner, 30)) is not None:
                claimed.append(hook.run_id)
                assert store.finish(hook, owner, DONE, {"decision": "started"})

        threads = [
            threading.Thread(target=work, args=(replicas[i % 2], f"replica-{i % 2}:{i}")) for i in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(claimed) == sorted(f"run-{n}" for n in range(200))
        assert replicas[0].counts() == {"done": 200}
    finally:
        for replica in replicas:
            replica.close()


def test_an_unwritable_sqlite_store_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError) as err:
        open_store(StoreLocation("sqlite", str(blocker / "hooks.sqlite3")))
    assert "cannot open the listener's store" in err.value.one_line()
    assert "WEBHOOK_STORE" in err.value.one_line() and "\n" not in err.value.one_line()


def test_a_store_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    import sqlite3

    location = StoreLocation("sqlite", str(tmp_path / "hooks.sqlite3"))
    open_store(location).close()
    with sqlite3.connect(location.target) as db:
        db.execute("UPDATE webhook_meta SET value = '99' WHERE name = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99"):
        open_store(location)


def test_an_unreachable_postgres_is_a_store_error(postgres_cluster: object, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot reach the listener's store") as err:
        open_store(StoreLocation("postgresql", f"postgresql://u:secret@/db?host={tmp_path}&port=1"))
    assert "secret" not in err.value.one_line()
