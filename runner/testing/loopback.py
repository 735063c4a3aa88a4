"""What every loopback fake shares: an HTTP server in a daemon thread, started and stopped
as a context manager, with its address as a base URL. Stdlib only."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


class FakeServer(ThreadingHTTPServer):
    """The HTTP server of a fake: handler threads reach the fake as ``self.server.fake``, open
    connections are tracked so ``stop`` can cut kept-alive and hanging ones, and a client that
    hangs up is not reported as an error."""

    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog is 5: a client opening more connections at once (a pool of
    # workers) would see SYNs dropped and retried a second later, as no real host does.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: Any) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut every open connection down (handlers blocked on them return)."""
        for conn in list(self.connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | OSError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """Subclasses set ``_address`` and implement ``_make_server``; hooks run around start and shutdown."""

    _thread_name: ClassVar[str] = "fake"
    _poll_s: ClassVar[float] = 0.05  # how often serve_forever checks for shutdown
    _address: tuple[str, int]
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def _make_server(self) -> ThreadingHTTPServer:
        """A bound server whose handlers reach back to this fake."""
        raise NotImplementedError

    def _before_start(self) -> None:
        """Reset what ``stop`` set (e.g. an event that wakes delayed replies)."""

    def _before_shutdown(self) -> None:
        """Wake handlers that are waiting, so shutdown does not wait for them."""

    def start(self) -> Self:
        """Start serving in a daemon thread (idempotent)."""
        if self._server is None:
            self._before_start()
            self._server = self._make_server()
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(self._poll_s,), name=self._thread_name, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        self._before_shutdown()
        server.shutdown()
        if isinstance(server, FakeServer):
            server.close_connections()  # kept-alive or hanging connections
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``."""
        return f"http://{self._address[0]}:{self.port}"
