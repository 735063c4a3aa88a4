"""A loopback HTTP server that plays a team's hook endpoint: it records every request and answers
each path as a test scripts it (a status and body, a closed connection, or no answer at all)."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CLOSE = "close"  # read the request, then close the connection without a word
HANG = "hang"  # read the request, then answer nothing until the server stops


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str  # with the query string
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HookServer:
    """The server's address, its script and what it received."""

    base_url: str
    answers: dict[str, tuple[int, str] | str] = field(default_factory=dict)  # by path, no query
    received: list[Received] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    def answer(self, path: str, status: int = 200, body: str | dict[str, Any] = "") -> str:
        """Script ``path``'s answer; returns its URL."""
        self.answers[path] = (status, body if isinstance(body, str) else json.dumps(body))
        return self.base_url + path

    def misbehave(self, path: str, how: str) -> str:
        """``path`` answers with ``CLOSE`` or ``HANG``; returns its URL."""
        self.answers[path] = how
        return self.base_url + path

    def bodies(self, path: str) -> list[Any]:
        return [r.json() for r in self.received if r.path.split("?")[0] == path]


@contextmanager
def hook_server(tls: ssl.SSLContext | None = None) -> Iterator[HookServer]:
    """A ``HookServer`` on 127.0.0.1 (over TLS with ``tls``), stopped (and any hanging answer
    released) on exit."""
    state: HookServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.received.append(Received("POST", self.path, headers, body))
            script = state.answers.get(self.path.split("?")[0], (404, "no such hook"))
            if script == CLOSE:
                self.close_connection = True
                return
            if script == HANG:
                state.released.wait(60)
                self.close_connection = True
                return
            status, text = script
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    state = HookServer(f"{scheme}://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        server.shutdown()
        server.server_close()
