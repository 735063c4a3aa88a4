"""What one client may cost the listener: a body nested too deep is a 400 with a log line naming
why (before the parser could recurse), an oversized one a 413; idle connections beyond the limit
make room for a valid hook instead of holding it back; a request that trickles in is closed."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from runner.errors import UsageError
from runner.settings.webhook import ConnectionLimits, WebhookSettings, read_webhook_listener_settings
from runner.webhook.limits import json_depth
from runner.webhook.server import ListenerServer, build_listener
from tests.webhook.test_webhook import SECRET, Logs, StubGitLab, mr_note, post


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[ListenerServer, Logs]]]:
    servers: list[ListenerServer] = []

    def start(settings: WebhookSettings | None = None, **kw: Any) -> tuple[ListenerServer, Logs]:
        logs = Logs()
        settings = settings or WebhookSettings(secret=SECRET)
        gitlab = StubGitLab({"user1": "write"})
        server = build_listener(settings, gitlab, host="127.0.0.1", port=0, log=logs, **kw).start()
        servers.append(server)
        return server, logs

    yield start
    for server in servers:
        server.stop()
        server.app.workers.close(timeout=5)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"1", 0),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[[[[", "b": "\\"[{"}', 1),  # brackets in strings, escaped quotes
        (b"[" * 100_000, 100_000),
        (b'["' + b'\\"[' * 1000 + b'"]', 1),  # escaped quotes: one string, its brackets not counted
    ],
)
def test_json_depth_is_measured_without_parsing(text: bytes, depth: int) -> None:
    assert json_depth(text) == depth


def test_deeply_nested_json_with_a_valid_token_is_400_with_a_log_line(serve) -> None:
    server, logs = serve()
    deep = b'{"object_kind": "note", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    status, body, _ = post(server, None, raw=deep)
    assert status == 400 and "deeper than 64" in body["error"]
    (record,) = logs.wait_for(1)
    assert record["status"] == 400 and record["reason"] == "JSON nested 50001 deep, over 64"
    assert post(server, mr_note(), uuid="after")[0] == 202  # the listener is fine


def test_nesting_within_the_limit_is_parsed(serve) -> None:
    server, _ = serve(WebhookSettings(secret=SECRET, max_json_depth=8))
    payload = mr_note()
    payload["extra"] = [[[[1]]]]  # 5 deep with the hook object
    assert post(server, payload, uuid="ok")[0] == 202


def test_an_oversized_body_is_413(serve) -> None:
    server, logs = serve(WebhookSettings(secret=SECRET, max_body_bytes=4096))
    assert post(server, None, raw=b'{"a": "' + b"x" * 5000 + b'"}')[0] == 413
    assert logs.wait_for(1)[0]["reason"] == "body too large"


def _closed_by_server(conn: socket.socket) -> bool:
    conn.settimeout(10)
    try:
        return conn.recv(1) == b""
    except (ConnectionResetError, TimeoutError):
        return False


def test_idle_connections_over_the_limit_make_room_for_a_valid_hook(serve) -> None:
    server, _ = serve(limits=ConnectionLimits(max_connections=8, idle_s=3600, request_s=3600))
    idle = [socket.create_connection((server.host, server.port)) for _ in range(8)]
    try:
        # The ninth connection is accepted at once: the longest idle one is closed to make room.
        assert post(server, mr_note(), uuid="valid")[0] == 202
        assert _closed_by_server(idle[0])
    finally:
        for conn in idle:
            conn.close()


def test_a_request_that_trickles_in_is_closed(serve) -> None:
    now = [0.0]
    clock = lambda: __import__("time").time() + now[0]  # noqa: E731
    server, _ = serve(limits=ConnectionLimits(request_s=10, idle_s=3600), clock=clock)
    slow = socket.create_connection((server.host, server.port))
    try:
        slow.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Gitlab-Token: ")  # headers never finish
        assert post(server, mr_note(), uuid="first")[0] == 202  # the loop has seen the partial request
        now[0] = 30.0  # later than request_s: the next sweep closes it
        assert _closed_by_server(slow)
    finally:
        slow.close()


def test_an_idle_connection_is_closed_after_the_idle_timeout(serve) -> None:
    now = [0.0]
    clock = lambda: __import__("time").time() + now[0]  # noqa: E731
    server, _ = serve(limits=ConnectionLimits(idle_s=5, request_s=3600), clock=clock)
    idle = socket.create_connection((server.host, server.port))
    try:
        assert post(server, mr_note(), uuid="first")[0] == 202
        now[0] = 30.0
        assert _closed_by_server(idle)
    finally:
        idle.close()


def test_limits_are_read_from_the_environment() -> None:
    env = {
        "GITLAB_WEBHOOK_SECRET": "s", "GITLAB_ACCESS_TOKEN": "t", "WEBHOOK_STORE": "sqlite::memory:",
        "WEBHOOK_MAX_BODY_BYTES": "2048", "WEBHOOK_MAX_JSON_DEPTH": "16", "WEBHOOK_MAX_CONNECTIONS": "50",
        "WEBHOOK_IDLE_TIMEOUT": "7", "WEBHOOK_REQUEST_TIMEOUT": "9",
    }  # fmt: skip
    settings = read_webhook_listener_settings(env)
    assert (settings.decision.max_body_bytes, settings.decision.max_json_depth) == (2048, 16)
    assert settings.connections == ConnectionLimits(max_connections=50, idle_s=7.0, request_s=9.0)
    with pytest.raises(UsageError, match="WEBHOOK_MAX_JSON_DEPTH='deep' is not a whole number"):
        read_webhook_listener_settings({**env, "WEBHOOK_MAX_JSON_DEPTH": "deep"})
