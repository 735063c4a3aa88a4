"""The sandbox's way out: an HTTP(S) proxy on a unix socket that only reaches allowed domains.

Sandboxed commands have no network of their own when network rules are set; their HTTP(S)
traffic comes here (through ``netrelay``) and is allowed only as ``CONNECT host:port`` (HTTPS,
any protocol over TLS) or a plain-HTTP ``GET``/``HEAD`` to a host that ``sandbox.network``
allows. Everything else gets ``403`` (a host not allowed) or ``405`` (another method); the
refused hosts are recorded so the Bash tool can tell the model why its request failed.

Domain rules are Claude Code's: ``example.com`` matches that host only, ``*.example.com`` its
subdomains; ``deniedDomains`` wins; with only ``deniedDomains`` set, every other host is allowed.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from runner.agent.netrelay import splice

MAX_HEAD = 65536  # bytes of request line and headers
CONNECT_TIMEOUT_S = 15.0
_HOP_HEADERS = frozenset({b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive"})


@dataclass(frozen=True)
class DomainRules:
    """``sandbox.network``'s allowed and denied domains."""

    allowed: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()

    def allows(self, host: str) -> bool:
        """Whether the sandbox may reach ``host`` (a name or an IP literal)."""
        name = host.strip().strip("[]").rstrip(".").lower()
        if not name or any(_matches(p, name) for p in self.denied):
            return False
        return not self.allowed or any(_matches(p, name) for p in self.allowed)


def _matches(pattern: str, host: str) -> bool:
    pattern = pattern.strip("[]").rstrip(".").lower()
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


class FilteringProxy:
    """The proxy, serving on ``socket_path`` in a thread until ``close``."""

    def __init__(self, socket_path: Path, rules: DomainRules) -> None:
        self.socket_path = socket_path
        self.rules = rules
        self.refused: list[str] = []  # hosts refused, in order (a list: appends are atomic)
        self._server: socketserver.ThreadingUnixStreamServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FilteringProxy:
        """Bind the socket and serve in a daemon thread."""
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        server = socketserver.ThreadingUnixStreamServer(str(self.socket_path), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="sandbox-proxy", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving (connections in flight end with the run's sandboxes)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(CONNECT_TIMEOUT_S)
        try:
            head, rest = _read_head(client)
            method, target, version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        except (OSError, ValueError, UnicodeError):
            _reply(client, 400, "Bad Request", "claude-runner sandbox: not an HTTP proxy request")
            return
        if method == "CONNECT":
            host, port = _host_port(target, 443)
        elif method in ("GET", "HEAD") and target.lower().startswith("http://"):
            url = urlsplit(target)
            host, port = url.hostname or "", url.port or 80
        else:
            why = f"claude-runner sandbox: {method} {target} is not allowed (CONNECT, GET, HEAD only)"
            _reply(client, 405, "Method Not Allowed", why)
            return
        if not self.rules.allows(host):
            self.refused.append(host)
            why = f"claude-runner sandbox: {host} is not in sandbox.network.allowedDomains"
            _reply(client, 403, "Forbidden", why)
            return
        try:
            upstream = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
        except OSError as exc:
            _reply(client, 502, "Bad Gateway", f"claude-runner sandbox: cannot reach {host}:{port}: {exc}")
            return
        upstream.settimeout(None)
        client.settimeout(None)
        if method == "CONNECT":
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            splice(client, upstream)
            return
        upstream.sendall(_origin_request(head, method, target, version))
        try:  # a GET has no body: only the response flows, then both close
            while chunk := upstream.recv(65536):
                client.sendall(chunk)
        except OSError:
            pass
        finally:
            upstream.close()


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk or len(data) > MAX_HEAD:
            raise ValueError("incomplete request head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _host_port(target: str, default: int) -> tuple[str, int]:
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or (host.count(":") and not host.startswith("[")):
        return target.strip("[]"), default
    return host.strip("[]"), int(port)


def _origin_request(head: bytes, method: str, target: str, version: str) -> bytes:
    url = urlsplit(target)
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    lines = [f"{method} {path} {version}".encode("latin-1")]
    for line in head.split(b"\r\n")[1:]:
        name = line.split(b":", 1)[0].strip().lower()
        if name not in _HOP_HEADERS:
            lines.append(line)
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _reply(sock: socket.socket, status: int, reason: str, text: str) -> None:
    body = (text + "\n").encode()
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
    with contextlib.suppress(OSError):
        sock.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)


def refused_since(refused: Sequence[str], mark: int) -> list[str]:
    """The distinct hosts refused after the first ``mark`` refusals."""
    return list(dict.fromkeys(refused[mark:]))
