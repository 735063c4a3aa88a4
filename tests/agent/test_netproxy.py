"""The sandbox's filtering proxy: which hosts and methods pass, spoken to over its unix socket."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runner.agent.netproxy import DomainRules, FilteringProxy


class Upstream:
    """A loopback HTTP server that records the paths it was asked for."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                upstream.paths.append(self.path)
                body = f"hello {self.path}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    up = Upstream()
    yield up
    up.server.shutdown()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[FilteringProxy]:
    p = FilteringProxy(tmp_path / "proxy.sock", DomainRules(allowed=("localhost", "*.example.test"))).start()
    yield p
    p.close()


def ask(proxy: FilteringProxy, request: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(proxy.socket_path))
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def test_domain_rules_are_claude_codes() -> None:
    rules = DomainRules(allowed=("github.com", "*.npmjs.org"), denied=("evil.npmjs.org",))
    assert rules.allows("github.com") and rules.allows("GitHub.com.")
    assert not rules.allows("api.github.com")  # a bare domain is that host only
    assert rules.allows("registry.npmjs.org") and not rules.allows("npmjs.org")
    assert not rules.allows("evil.npmjs.org")  # denied wins
    assert not rules.allows("127.0.0.1") and not rules.allows("")
    only_denied = DomainRules(denied=("evil.example",))
    assert only_denied.allows("anything.example") and not only_denied.allows("evil.example")


def test_connect_to_an_allowed_host_tunnels(proxy: FilteringProxy, upstream: Upstream) -> None:
    reply = ask(
        proxy,
        f"CONNECT localhost:{upstream.port} HTTP/1.1\r\nHost: localhost\r\n\r\n"
        f"GET /tunnelled HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode(),
    )
    assert reply.startswith(b"HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.0 200")
    assert reply.endswith(b"hello /tunnelled") and upstream.paths == ["/tunnelled"]


def test_a_plain_get_to_an_allowed_host_is_forwarded(proxy: FilteringProxy, upstream: Upstream) -> None:
    reply = ask(
        proxy,
        f"GET http://localhost:{upstream.port}/page?q=1 HTTP/1.1\r\nHost: localhost\r\n"
        "Proxy-Connection: keep-alive\r\n\r\n".encode(),
    )
    assert b" 200 " in reply.split(b"\r\n")[0] and reply.endswith(b"hello /page?q=1")
    assert upstream.paths == ["/page?q=1"]


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        ("CONNECT 127.0.0.1:{port} HTTP/1.1", b"403"),  # not on the list, even though it is loopback
        ("GET http://127.0.0.1:{port}/x HTTP/1.1", b"403"),
        ("CONNECT other.test:{port} HTTP/1.1", b"403"),
        ("POST http://localhost:{port}/upload HTTP/1.1", b"405"),  # plain HTTP: GET and HEAD only
        ("GET /relative HTTP/1.1", b"405"),
    ],
)
def test_everything_else_is_refused_and_never_reaches_the_host(
    proxy: FilteringProxy, upstream: Upstream, request_line: str, status: bytes
) -> None:
    reply = ask(proxy, (request_line.format(port=upstream.port) + "\r\nHost: x\r\n\r\n").encode())
    assert reply.split(b"\r\n")[0].split(b" ")[1] == status
    assert b"claude-runner sandbox" in reply
    assert upstream.paths == []
    if status == b"403":
        assert proxy.refused and proxy.refused[-1] in ("127.0.0.1", "other.test")


def test_garbage_gets_a_400(proxy: FilteringProxy) -> None:
    assert ask(proxy, b"junk\r\n\r\n").startswith(b"HTTP/1.1 400")
