"""The listener forgets nothing: the real `claude-runner webhook` process is stopped, killed and
restarted on the same store, GitLab redelivers, the pipeline API fails after creating, and two
replicas share one PostgreSQL; every triggering hook ends with exactly one pipeline.

The fake GitLab holds or fails requests (its fault hooks) so hooks stay queued, or a create lands
without its answer; the checks count pipelines and their variables in the fake.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import signal
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from runner.testing.fake_gitlab import FakeGitLab
from runner.webhook.gitlab_api import HOOK_ID_VARIABLE, AmbiguousCreate, RetryLater, platform_actions
from tests.webhook.test_webhook import SECRET, Logs, fire, mr_note, webhook_command


def hooks_for(count: int, prefix: str = "t") -> list[tuple[bytes, str]]:
    """``count`` triggering notes, each with its own text and event UUID."""
    return [(json.dumps(mr_note(f"@claude task {i}")).encode(), f"{prefix}{i}") for i in range(count)]


def inputs(fake: FakeGitLab) -> Counter[str]:
    """How many pipelines each request (AI_FLOW_INPUT) got."""
    return Counter({v["key"]: v["value"] for v in p.variables}["AI_FLOW_INPUT"] for p in fake.pipelines)


def hook_ids(fake: FakeGitLab) -> list[str]:
    return [{v["key"]: v["value"] for v in p.variables}[HOOK_ID_VARIABLE] for p in fake.pipelines]


def started(logs: Logs) -> list[dict[str, Any]]:
    return [r for r in logs if r.get("decision") == "started"]


def wait_until(condition: Any, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def deliver(port: int, body: bytes, uuid: str, idempotency_key: str | None = None) -> tuple[int, Any]:
    """One delivery as GitLab makes it (a resend keeps the Idempotency-Key); status and JSON body."""
    headers = {"Content-Type": "application/json", "X-Gitlab-Event": "Note Hook", "X-Gitlab-Token": SECRET}
    headers["X-Gitlab-Event-UUID"] = uuid
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_sigterm_with_hooks_queued_then_a_restart_starts_each_pipeline_once(
    fake_gitlab: FakeGitLab, tmp_path: Path
) -> None:
    store, count = tmp_path / "hooks.sqlite3", 24
    release = threading.Event()
    # Every access check hangs: the workers hold four hooks, the other twenty wait in the queue.
    fault = fake_gitlab.fail("list_users", None, hold=release, times=None)
    hooks = hooks_for(count)
    with webhook_command(fake_gitlab, store=store) as (port, logs):
        assert [status for status, _ in fire("127.0.0.1", port, hooks, together=False)] == [202] * count
        assert wait_until(lambda: fault.hits >= 1)
    assert logs[-1]["queued"] == count  # stopped, nothing lost, nothing started
    assert fake_gitlab.pipelines == []
    release.set()
    fake_gitlab.route_faults.clear()
    with webhook_command(fake_gitlab, store=store) as (port, logs):
        assert logs[0]["queued"] == count  # the restart resumes the queue
        assert wait_until(lambda: len(started(logs)) == count), list(logs)
        # GitLab delivering them again after the restart starts nothing.
        assert [status for status, _ in fire("127.0.0.1", port, hooks, together=False)] == [200] * count
        assert logs.wait_for(1 + 2 * count)
    assert inputs(fake_gitlab) == Counter(f"@claude task {i}" for i in range(count))
    assert len(set(hook_ids(fake_gitlab))) == count
    assert [r["decision"] for r in logs[-1 - count : -1]] == ["duplicate"] * count


def test_a_listener_killed_while_creating_is_resumed_without_second_pipelines(
    fake_gitlab: FakeGitLab, tmp_path: Path
) -> None:
    store, count = tmp_path / "hooks.sqlite3", 12
    release = threading.Event()
    # The pipeline API takes each create and sits on it: the listener is killed while it waits.
    held = fake_gitlab.fail("create_pipeline", None, hold=release, times=None)
    fast = {"WEBHOOK_LEASE_SECONDS": "1", "WEBHOOK_RETRY_SECONDS": "0.1"}
    with webhook_command(fake_gitlab, store=store, env=fast, stop=signal.SIGKILL) as (port, _):
        assert [status for status, _ in fire("127.0.0.1", port, hooks_for(count), together=False)] == [
            202
        ] * count
        assert wait_until(lambda: held.hits == 4)  # one create in flight per worker
    release.set()  # GitLab finishes the four creates after the listener died: they landed
    assert wait_until(lambda: len(fake_gitlab.pipelines) == 4)
    fake_gitlab.route_faults.clear()
    with webhook_command(fake_gitlab, store=store, env=fast) as (_, logs):
        assert logs[0]["queued"] == count
        assert wait_until(lambda: len(started(logs)) == count), list(logs)
    assert inputs(fake_gitlab) == Counter(f"@claude task {i}" for i in range(count))
    found = [r for r in started(logs) if "earlier attempt had started it" in r["reason"]]
    assert len(found) == 4 and all(r["attempts"] == 2 for r in found)


def test_redelivered_hooks_after_a_restart_start_nothing(fake_gitlab: FakeGitLab, tmp_path: Path) -> None:
    store, count = tmp_path / "hooks.sqlite3", 10
    hooks = hooks_for(count)
    with webhook_command(fake_gitlab, store=store) as (port, logs):
        for body, uuid in hooks:
            assert deliver(port, body, uuid, f"idem-{uuid}")[0] == 202
        assert wait_until(lambda: len(started(logs)) == count)
    assert len(fake_gitlab.pipelines) == count
    with webhook_command(fake_gitlab, store=store) as (port, logs):
        for body, uuid in hooks:
            assert deliver(port, body, uuid) == (200, {"status": "duplicate"})  # same event
            # An admin's "Resend request": GitLab keeps the Idempotency-Key.
            assert deliver(port, body, f"new-{uuid}", f"idem-{uuid}") == (200, {"status": "duplicate"})
    assert len(fake_gitlab.pipelines) == count


def test_a_pipeline_api_failing_after_creating_makes_one_pipeline_per_mention(
    fake_gitlab: FakeGitLab,
) -> None:
    count = 20
    fake_gitlab.fail("create_pipeline", 502, apply=True, times=6)  # created, then a proxy's 502
    fake_gitlab.fail("create_pipeline", 0, apply=True, times=4)  # created, then the connection reset
    fake_gitlab.fail("create_pipeline", 503, times=4)  # refused before creating: tried again
    with webhook_command(fake_gitlab, env={"WEBHOOK_RETRY_SECONDS": "0.1"}) as (port, logs):
        assert [status for status, _ in fire("127.0.0.1", port, hooks_for(count), together=False)] == [
            202
        ] * count
        assert wait_until(lambda: len(started(logs)) == count), list(logs)
    assert inputs(fake_gitlab) == Counter(f"@claude task {i}" for i in range(count))
    found = [r for r in started(logs) if "it had been created" in r["reason"]]
    assert len(found) == 10  # the 502s and resets: found by their CLAUDE_RUNNER_HOOK_ID
    assert len([r for r in logs if r.get("decision") == "retrying"]) == 4
    assert len(fake_gitlab.requests_to("POST", "create_pipeline")) == count + 4


def test_two_listeners_on_one_postgres_start_one_pipeline_per_hook(
    fake_gitlab: FakeGitLab, postgres_url: str
) -> None:
    count = 60
    hooks = hooks_for(count)
    plain = [(json.dumps(mr_note(f"thanks {i}")).encode(), f"p{i}") for i in range(20)]
    with (
        webhook_command(fake_gitlab, store=postgres_url) as (port_a, logs_a),
        webhook_command(fake_gitlab, store=postgres_url) as (port_b, logs_b),
    ):
        # The reverse proxy spreads the deliveries over both replicas...
        first = fire("127.0.0.1", port_a, hooks[::2] + plain, together=False)
        first += fire("127.0.0.1", port_b, hooks[1::2], together=False)
        # ...and GitLab's redeliveries may land on the other one.
        again = fire("127.0.0.1", port_b, hooks[::2], together=False)
        again += fire("127.0.0.1", port_a, hooks[1::2], together=False)
        assert wait_until(lambda: len(started(logs_a)) + len(started(logs_b)) == count)
    assert Counter(status for status, _ in first) == {202: count, 200: 20}
    assert [status for status, _ in again] == [200] * count
    assert inputs(fake_gitlab) == Counter(f"@claude task {i}" for i in range(count))
    assert started(logs_a) and started(logs_b)  # both replicas worked the shared queue


def test_a_replica_killed_on_postgres_leaves_its_hooks_to_the_other(
    fake_gitlab: FakeGitLab, postgres_url: str
) -> None:
    release = threading.Event()
    held = fake_gitlab.fail("list_users", None, hold=release, times=4)  # replica A's four workers
    fast = {"WEBHOOK_LEASE_SECONDS": "1"}
    hooks = hooks_for(20)
    with contextlib.ExitStack() as replica_a:
        port_a, _ = replica_a.enter_context(
            webhook_command(fake_gitlab, store=postgres_url, env=fast, stop=signal.SIGKILL)
        )
        assert [status for status, _ in fire("127.0.0.1", port_a, hooks[:4], together=False)] == [202] * 4
        assert wait_until(lambda: held.hits == 4)  # A holds all four, stuck on GitLab
        with webhook_command(fake_gitlab, store=postgres_url, env=fast) as (port_b, logs_b):
            assert [s for s, _ in fire("127.0.0.1", port_b, hooks[4:], together=False)] == [202] * 16
            assert wait_until(lambda: len(started(logs_b)) == 16), list(logs_b)
            replica_a.close()  # SIGKILL: A dies holding four leases
            release.set()
            assert wait_until(lambda: len(started(logs_b)) == 20), list(logs_b)  # after A's leases ran out
    assert inputs(fake_gitlab) == Counter(f"@claude task {i}" for i in range(20))
    assert sorted(r["attempts"] for r in started(logs_b))[-4:] == [2, 2, 2, 2]


def test_gitlab_calls_say_what_a_failure_means() -> None:
    """The worker's three cases: nothing sent (retry), sent without an answer (look first), refused."""
    with socket.socket() as probe:  # a port nothing listens on: the request is never sent
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(RetryLater) as refused:
        platform_actions(closed, "glpat-x").start_pipeline(5, "main", {})
    assert not isinstance(refused.value, AmbiguousCreate)
    with FakeGitLab("g/p", project_id=5, tokens={"glpat-dev": "dev"}, token_access="developer") as fake:
        actions = platform_actions(fake.base_url, "glpat-dev")
        fake.fail("create_pipeline", 0)  # the connection is cut after the request went out
        with pytest.raises(AmbiguousCreate):
            actions.start_pipeline(5, "main", {"A": "1"})
        with pytest.raises(RuntimeError, match="Reference not found"):
            actions.start_pipeline(5, "no-such-branch", {})
        other = fake.add_pipeline("main", user="someone-else", variables=[{"key": "K", "value": "v"}])
        with pytest.raises(RuntimeError, match="to its creator and to maintainers"):
            actions.find_pipeline(5, "main", "K", "v", other.created_at)
        mine = fake.add_pipeline("main", user="dev", variables=[{"key": "K", "value": "mine"}])
        fake.pipelines.remove(other)
        assert actions.find_pipeline(5, "main", "K", "mine", mine.created_at) == (
            mine.id,
            f"{fake.web_url}/g/p/-/pipelines/{mine.id}",
        )
        assert actions.find_pipeline(5, "main", "K", "nobody", mine.created_at) is None
