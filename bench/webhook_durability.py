"""The GitLab listener forgets nothing: the acceptance numbers of "Never lose the answer or the work".

Runs the real `claude-runner webhook` (its own process, as deployed) against the fake GitLab on
loopback and counts pipelines in the fake:

1. SIGTERM with 200 hooks queued (the fake holds every access check, so they stay queued), then a
   restart on the same SQLite store: 200 pipelines, none twice.
2. 50 hooks started, a restart, then GitLab delivering the same 50 again: 0 new pipelines.
3. The pipeline API answering 502 after creating every pipeline: 100 mentions, 100 pipelines.
4. A SIGKILL while 4 creates are in flight (they land after the listener died), then a restart:
   one pipeline per hook (the landed ones are found by CLAUDE_RUNNER_HOOK_ID, not repeated).
5. Two replicas on one PostgreSQL sharing 500 hooks (3 in 4 trigger), each delivered to one
   replica and redelivered to the other: exactly one pipeline per triggering hook.

Each line ends in PASS or FAIL; the exit code is 1 if any failed. Scenario 5 needs PostgreSQL's
server packages (`apt-get install postgresql`); without them it is reported as skipped.

    python bench/webhook_durability.py [--json]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.testing.fake_gitlab import FakeGitLab, fake_sha
from runner.testing.postgres import PostgresCluster, PostgresUnavailable
from tests.webhook.test_webhook import TOKEN, Logs, fire, mr_note, webhook_command


def gitlab() -> FakeGitLab:
    fake = FakeGitLab("gitlab-org/gitlab-test", project_id=5, default_branch="master", tokens={TOKEN: "bot"})
    fake.start()
    fake.add_branch("fix-flaky", fake_sha("fix-flaky"))
    fake.add_user("user1", "developer")
    return fake


def hooks(count: int, prefix: str) -> list[tuple[bytes, str]]:
    return [(json.dumps(mr_note(f"@claude {prefix} {i}")).encode(), f"{prefix}-{i}") for i in range(count)]


def per_request(fake: FakeGitLab) -> Counter[str]:
    """Pipelines per request text (AI_FLOW_INPUT)."""
    return Counter({v["key"]: v["value"] for v in p.variables}["AI_FLOW_INPUT"] for p in fake.pipelines)


def started(*logs: Logs) -> int:
    return sum(1 for log in logs for r in log if r.get("decision") == "started")


def wait_until(condition: Callable[[], bool], timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def latency(results: list[tuple[int, float]]) -> dict[str, float]:
    ms = sorted(seconds * 1000 for _, seconds in results)
    p99 = ms[min(len(ms) - 1, len(ms) * 99 // 100)]
    return {"p50_ms": round(ms[len(ms) // 2], 1), "p99_ms": round(p99, 1)}


def sigterm_then_restart(store: Path, count: int = 200) -> dict[str, Any]:
    fake = gitlab()
    try:
        release = threading.Event()
        fake.fail("list_users", None, hold=release, times=None)
        sent = hooks(count, "sigterm")
        with webhook_command(fake, store=store) as (port, logs):
            answers = fire("127.0.0.1", port, sent, together=False)
        queued_at_stop = logs[-1].get("queued")
        before = len(fake.pipelines)
        release.set()
        fake.route_faults.clear()
        begun = time.perf_counter()
        with webhook_command(fake, store=store) as (port, logs):
            resumed = logs[0].get("queued")
            wait_until(lambda: started(logs) >= count)
            drained_s = time.perf_counter() - begun
        counts = per_request(fake)
        return {
            "accepted_202": sum(1 for status, _ in answers if status == 202),
            **latency(answers),
            "queued_at_sigterm": queued_at_stop,
            "pipelines_before_restart": before,
            "resumed_after_restart": resumed,
            "pipelines": len(fake.pipelines),
            "started_twice": sum(1 for n in counts.values() if n > 1),
            "restart_to_all_started_s": round(drained_s, 2),
            "pass": len(fake.pipelines) == count and len(counts) == count and before == 0,
        }
    finally:
        fake.stop()


def redelivered_after_restart(store: Path, count: int = 50) -> dict[str, Any]:
    fake = gitlab()
    try:
        sent = hooks(count, "redeliver")
        with webhook_command(fake, store=store) as (port, logs):
            fire("127.0.0.1", port, sent, together=False)
            wait_until(lambda: started(logs) >= count)
        first = len(fake.pipelines)
        with webhook_command(fake, store=store) as (port, logs):
            again = fire("127.0.0.1", port, sent, together=False)
            wait_until(lambda: len(logs) >= 1 + count)
            time.sleep(1.0)  # a pipeline started by mistake would show up by now
        new = len(fake.pipelines) - first
        duplicates = sum(1 for r in logs if r.get("decision") == "duplicate")
        return {
            "pipelines_first_run": first,
            "redelivered": count,
            "answered_200": sum(1 for status, _ in again if status == 200),
            "answered_duplicate": duplicates,
            "new_pipelines": new,
            "pass": first == count and new == 0 and duplicates == count,
        }
    finally:
        fake.stop()


def bad_gateway_after_create(store: Path, count: int = 100) -> dict[str, Any]:
    fake = gitlab()
    try:
        fake.fail("create_pipeline", 502, apply=True, times=None)  # every create lands, then 502
        with webhook_command(fake, store=store) as (port, logs):
            fire("127.0.0.1", port, hooks(count, "badgateway"), together=False)
            wait_until(lambda: started(logs) >= count)
        counts = per_request(fake)
        found = sum(1 for r in logs if r.get("decision") == "started" and "had been created" in r["reason"])
        return {
            "mentions": count,
            "create_requests": len(fake.requests_to("POST", "create_pipeline")),
            "answered_502": sum(1 for r in fake.requests_to("POST", "create_pipeline") if r.status == 502),
            "found_by_hook_id": found,
            "pipelines": len(fake.pipelines),
            "started_twice": sum(1 for n in counts.values() if n > 1),
            "pass": len(fake.pipelines) == count and len(counts) == count,
        }
    finally:
        fake.stop()


def killed_while_creating(store: Path, count: int = 40) -> dict[str, Any]:
    fake = gitlab()
    fast = {"WEBHOOK_LEASE_SECONDS": "1", "WEBHOOK_RETRY_SECONDS": "0.2"}
    try:
        release = threading.Event()
        held = fake.fail("create_pipeline", None, hold=release, times=None)
        with webhook_command(fake, store=store, env=fast, stop=signal.SIGKILL) as (port, _):
            fire("127.0.0.1", port, hooks(count, "killed"), together=False)
            wait_until(lambda: held.hits >= 4, timeout=30)
        release.set()  # the creates in flight land after the listener died
        wait_until(lambda: len(fake.pipelines) >= held.hits, timeout=30)
        landed = len(fake.pipelines)
        fake.route_faults.clear()
        with webhook_command(fake, store=store, env=fast) as (_, logs):
            wait_until(lambda: started(logs) >= count)
        counts = per_request(fake)
        found = sum(1 for r in logs if r.get("decision") == "started" and "earlier attempt" in r["reason"])
        return {
            "hooks": count,
            "landed_after_the_kill": landed,
            "found_by_hook_id": found,
            "pipelines": len(fake.pipelines),
            "started_twice": sum(1 for n in counts.values() if n > 1),
            "pass": len(fake.pipelines) == count and len(counts) == count and found == landed,
        }
    finally:
        fake.stop()


def two_replicas_on_postgres(url: str, count: int = 500) -> dict[str, Any]:
    fake = gitlab()
    try:
        triggering = count * 3 // 4
        sent = hooks(triggering, "replicas")
        plain = range(count - triggering)
        sent += [(json.dumps(mr_note(f"thanks {i}")).encode(), f"plain-{i}") for i in plain]
        with (
            webhook_command(fake, store=url) as (port_a, logs_a),
            webhook_command(fake, store=url) as (port_b, logs_b),
        ):
            first: list[tuple[int, float]] = []
            redelivery: list[tuple[int, float]] = []

            def deliver(port: int, items: list[tuple[bytes, str]], into: list[tuple[int, float]]) -> None:
                into += fire("127.0.0.1", port, items, together=False)

            threads = [
                threading.Thread(target=deliver, args=(port_a, sent[0::2], first)),
                threading.Thread(target=deliver, args=(port_b, sent[1::2], first)),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            deliver(port_b, sent[0::2], redelivery)  # GitLab's redeliveries land on the other replica
            deliver(port_a, sent[1::2], redelivery)
            wait_until(lambda: started(logs_a, logs_b) >= triggering)
            time.sleep(1.0)
            by_replica = [started(logs_a), started(logs_b)]
        counts = per_request(fake)
        return {
            "hooks": count,
            "triggering": triggering,
            **latency(first),
            "redeliveries_answered_200": sum(1 for status, _ in redelivery if status == 200),
            "pipelines": len(fake.pipelines),
            "started_twice": sum(1 for n in counts.values() if n > 1),
            "started_by_replica": by_replica,
            "pass": len(fake.pipelines) == triggering and len(counts) == triggering,
        }
    finally:
        fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object per scenario")
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        results["sigterm_200_then_restart"] = sigterm_then_restart(root / "a.sqlite3")
        results["redeliver_50_after_restart"] = redelivered_after_restart(root / "b.sqlite3")
        results["502_after_create_100"] = bad_gateway_after_create(root / "c.sqlite3")
        results["sigkill_while_creating_40"] = killed_while_creating(root / "d.sqlite3")
        try:
            with PostgresCluster() as cluster:
                url = cluster.create_database("bench_hooks")
                results["two_replicas_postgres_500"] = two_replicas_on_postgres(url)
        except PostgresUnavailable as exc:
            results["two_replicas_postgres_500"] = {"skipped": str(exc), "pass": None}
    ok = True
    for name, result in results.items():
        ok = ok and result["pass"] is not False
        if args.json:
            print(json.dumps({"scenario": name, **result}))
            continue
        verdict = {True: "PASS", False: "FAIL", None: "SKIPPED"}[result["pass"]]
        details = ", ".join(f"{k} {v}" for k, v in result.items() if k != "pass")
        print(f"{name}: {details}  [{verdict}]")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
