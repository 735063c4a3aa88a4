"""Inside the sandbox: a loopback port that leads to the runner's filtering proxy, then the command.

A sandbox with network rules has its own network namespace (nothing but loopback), so the only way
out is the proxy's unix socket, bound into the sandbox. Tools speak HTTP(S) proxy over TCP
(``HTTPS_PROXY=http://127.0.0.1:3128``), so this script listens there, relays every connection to
the socket, runs the command and exits with its status:

    python -I -S netrelay.py SOCKET PORT -- bash -c '...'

It runs under ``python -I -S`` from the read-only host filesystem and imports nothing but the
standard library (``splice`` is shared with the proxy).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading


def _copy(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:  # a reset on either side ends both directions
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)  # a clean end: the other direction may still have data


def splice(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways between two connected sockets until both ends are done; close them."""
    other = threading.Thread(target=_copy, args=(b, a), daemon=True)
    other.start()
    _copy(a, b)
    other.join()
    a.close()
    b.close()


def _accept(listener: socket.socket, path: str) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(path)
        except OSError:
            conn.close()
            upstream.close()
            continue
        threading.Thread(target=splice, args=(conn, upstream), daemon=True).start()


def main(argv: list[str]) -> int:
    """Listen on ``127.0.0.1:PORT``, relay to ``SOCKET``, run the command after ``--``."""
    if len(argv) < 4 or argv[2] != "--":
        print("usage: netrelay.py SOCKET PORT -- COMMAND...", file=sys.stderr)
        return 2
    path, port, command = argv[0], int(argv[1]), argv[3:]
    listener = socket.create_server(("127.0.0.1", port))
    threading.Thread(target=_accept, args=(listener, path), daemon=True).start()
    try:
        child = subprocess.Popen(command)
    except OSError as exc:
        print(f"netrelay: cannot run {command[0]}: {exc}", file=sys.stderr)
        return 127
    code = child.wait()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.stdout.flush()
    os._exit(main(sys.argv[1:]))  # without waiting for relay threads of background clients
