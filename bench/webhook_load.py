"""Latency of `claude-runner webhook` under a burst of concurrent GitLab hooks, and pipelines started.

Starts the real command (waitress, in its own process, as deployed) against a fake GitLab on
loopback, fires N hooks from N client threads (3 in 4 mention @claude, the rest are plain
comments), each on a new connection as GitLab sends them, and measures each answer client-side.
Then waits for the worker pool to start the pipelines (access check + pipeline API call, after the
answer) and counts them in the fake. Two burst shapes: each thread sends as soon as it starts
(about 2,000 hooks/s; the acceptance target p99 < 100 ms applies, PASS or FAIL), and all N released
at one instant (the harshest case; reported, not gated). Client, fake GitLab and listener share the
host's CPUs, so a small host measures its own client too.

The GitLab acceptance test (tests/webhook/test_webhook.py) asserted this p99 until a busy CI host
failed it; it now checks what is deterministic (every hook answered, exactly one pipeline per
triggering note) and the latency target lives here.

Each hook that asks for a pipeline is committed (and fsynced) to the listener's store before its
202: a new SQLite file by default, or with ``--postgres`` a throwaway PostgreSQL server (the
replicas' store; PostgreSQL's server packages must be installed). ``--store sqlite::memory:`` keeps
them in memory, unsynced: the cost of the rest, to compare with.

    python bench/webhook_load.py [--hooks 200] [--threads 32] [--workers 4] [--postgres] [--json]
    python bench/webhook_load.py --idle-flood 1100

``--idle-flood N`` measures something else: N idle connections are opened and held (over the
listener's default limit of 1000), then 20 valid hooks are sent one after another; it prints how
long each took. The listener closes the longest idle connections to make room, so a valid hook is
not held back by them (before that, waitress stopped accepting at its limit and the hooks waited
for idle connections to time out).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.testing.fake_gitlab import FakeGitLab, fake_sha
from runner.testing.postgres import PostgresCluster
from tests.webhook.test_webhook import TOKEN, fire, mr_note, send_hook, webhook_command

TARGET_P99_S = 0.100
WARMUP_HOOKS = 10  # ignored hooks first: the measured ones do not pay for first connections and threads


def run_load(hooks: int, flags: list[str], together: bool = True, store: str | None = None) -> dict[str, Any]:
    """Fire ``hooks`` hooks at once at a fresh listener; latency percentiles and pipeline counts.

    ``store``: the listener's ``--store`` (default: a new SQLite file)."""
    triggering = hooks * 3 // 4
    with FakeGitLab(
        "gitlab-org/gitlab-test", project_id=5, default_branch="master", tokens={TOKEN: "bot"}
    ) as fake:
        fake.add_branch("fix-flaky", fake_sha("fix-flaky"))
        fake.add_user("user1", "developer")
        with webhook_command(fake, *flags, store=store) as (port, logs):
            warmup = [(json.dumps(mr_note(f"warm-up {i}")).encode(), f"w{i}") for i in range(WARMUP_HOOKS)]
            fire("127.0.0.1", port, warmup, together=False)
            payloads = [
                (json.dumps(mr_note(f"@claude task {i}")).encode(), f"t{i}") for i in range(triggering)
            ]
            payloads += [
                (json.dumps(mr_note(f"plain {i}")).encode(), f"p{i}") for i in range(hooks - triggering)
            ]
            started = time.perf_counter()
            results = fire("127.0.0.1", port, payloads, together)
            burst_s = time.perf_counter() - started
            logs.wait_for(1 + WARMUP_HOOKS + hooks, timeout=60)
            drained_s = time.perf_counter() - started
            time.sleep(0.2)  # nothing more should arrive
            pipelines = len(fake.pipelines)
    latencies = sorted(seconds * 1000 for _, seconds in results)
    cuts = statistics.quantiles(latencies, n=100)
    statuses = [status for status, _ in results]
    return {
        "hooks": hooks,
        "accepted_202": statuses.count(202),
        "ignored_200": statuses.count(200),
        "other": len(statuses) - statuses.count(202) - statuses.count(200),
        "p50_ms": round(cuts[49], 1),
        "p90_ms": round(cuts[89], 1),
        "p99_ms": round(cuts[98], 1),
        "max_ms": round(latencies[-1], 1),
        "burst_s": round(burst_s, 3),
        "pipelines_expected": triggering,
        "pipelines_started": pipelines,
        "all_pipelines_started_s": round(drained_s, 2),
    }


def idle_flood(idle: int, flags: list[str]) -> dict[str, Any]:
    """``idle`` idle connections held open, then 20 valid hooks one by one: their latencies."""
    import resource
    import socket

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, idle + 256)), hard))
    with FakeGitLab(
        "gitlab-org/gitlab-test", project_id=5, default_branch="master", tokens={TOKEN: "bot"}
    ) as fake:
        fake.add_branch("fix-flaky", fake_sha("fix-flaky"))
        fake.add_user("user1", "developer")
        with webhook_command(fake, *flags) as (port, _logs):
            held = []
            for _ in range(idle):
                with contextlib.suppress(OSError):
                    held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            time.sleep(0.5)  # the listener has accepted what it will
            try:
                results = [
                    send_hook("127.0.0.1", port, json.dumps(mr_note(f"@claude {i}")).encode(), f"f{i}")
                    for i in range(20)
                ]
            finally:
                for conn in held:
                    conn.close()
    latencies = sorted(seconds * 1000 for _, seconds in results)
    return {
        "idle_connections": len(held),
        "answered": sum(1 for status, _ in results if status in (200, 202)),
        "p50_ms": round(statistics.median(latencies), 1),
        "max_ms": round(latencies[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--hooks", type=int, default=200)
    parser.add_argument("--threads", type=int, default=32, help="the listener's HTTP threads")
    parser.add_argument("--workers", type=int, default=4, help="the listener's pipeline workers")
    parser.add_argument("--json", action="store_true", help="print one JSON object per burst shape")
    parser.add_argument(
        "--postgres", action="store_true", help="keep hooks in a throwaway PostgreSQL, not SQLite"
    )
    parser.add_argument("--store", help="the listener's --store instead (sqlite::memory:: no fsync, a peer)")
    parser.add_argument(
        "--idle-flood", type=int, metavar="N", help="hold N idle connections, then send 20 hooks"
    )
    args = parser.parse_args()
    flags = ["--threads", str(args.threads), "--workers", str(args.workers)]
    if args.idle_flood:
        print(json.dumps(idle_flood(args.idle_flood, flags)))
        return
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(PostgresCluster()) if args.postgres else None
        sys.exit(0 if measure(args, flags, cluster) else 1)


def measure(args: argparse.Namespace, flags: list[str], cluster: PostgresCluster | None) -> bool:
    ok = True
    for number, (shape, together) in enumerate((("as threads start", False), ("all at one instant", True))):
        store = cluster.create_database(f"load_{number}") if cluster else args.store
        result = run_load(args.hooks, flags, together, store)
        met = result["p99_ms"] < TARGET_P99_S * 1000
        complete = result["pipelines_started"] == result["pipelines_expected"] and result["other"] == 0
        ok = ok and complete and (met or together)  # the target applies to the first shape
        if args.json:
            print(json.dumps({"shape": shape, **result, "p99_pass": None if together else met}))
            continue
        print(f"{args.hooks} concurrent hooks, sent {shape} (burst {result['burst_s']} s):")
        print(f"  answers: {result['accepted_202']} accepted (202), {result['ignored_200']} ignored (200)")
        verdict = "reported, not gated" if together else "PASS" if met else "FAIL"
        print(
            f"  latency ms: p50 {result['p50_ms']}  p90 {result['p90_ms']}  p99 {result['p99_ms']}"
            f"  max {result['max_ms']}  (target p99 < {TARGET_P99_S * 1000:.0f}: {verdict})"
        )
        print(
            f"  pipelines started: {result['pipelines_started']} of {result['pipelines_expected']}"
            f" (all within {result['all_pipelines_started_s']} s)"
        )
    return ok


if __name__ == "__main__":
    main()
