"""A loopback package index (simple API, PEP 691 JSON or PEP 503 HTML) serving a fake uv wheel.

The wheel's binary is a shell script that answers ``--version`` as the pinned uv and logs every
other call to ``$FAKE_UV_LOG``; ``venv DIR`` makes DIR, and ``pip install`` fails when the call
has ``--no-deps`` and ``$FAKE_UV_LOCK_FAILS`` is set (a lock the platform has no wheel for; ``hash``:
a wheel whose hash is not the locked one).
Each request's path and headers are kept, so tests can see what was asked and with which credentials.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import sys
import threading
import urllib.parse
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VERSION = "0.13.9"
FAKE_UV = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "uv 0.13.9 (fake)"; exit 0; fi
echo "$*" >> "${FAKE_UV_LOG:-/dev/null}"
case "$1" in
  venv) for last in "$@"; do :; done; mkdir -p "$last"; exit 0 ;;
  pip)
    case " $* " in *" --no-deps "*)
      [ "${FAKE_UV_LOCK_FAILS:-}" != hash ] || echo '  cause: Hash mismatch for `anthropic==2.17.0`' >&2
      if [ -n "${FAKE_UV_LOCK_FAILS:-}" ]; then echo "error: no wheel for this platform" >&2; exit 1; fi ;;
    esac
    exit 0 ;;
esac
exit 2
"""


def platform_tag() -> str:
    """A wheel platform tag this machine accepts (what the real uv wheels are tagged with)."""
    machine = platform.machine().lower()
    if sys.platform == "darwin":
        return f"macosx_10_12_{machine}"
    return f"manylinux_2_17_{machine}.manylinux2014_{machine}"


def uv_wheel(binary: str = FAKE_UV) -> bytes:
    """A uv wheel whose binary is ``binary``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        info = f"uv-{VERSION}.dist-info"
        wheel.writestr(f"uv-{VERSION}.data/scripts/uv", binary)
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: uv\nVersion: {VERSION}\n")
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: py3-none-any\n")
        wheel.writestr(f"{info}/RECORD", "")
    return buffer.getvalue()


def requirements(*wheels: bytes) -> str:
    """A uv-requirements.txt pinning the given wheels' hashes."""
    hashes = " ".join(f"--hash=sha256:{hashlib.sha256(w).hexdigest()}" for w in wheels)
    return f"# pinned for a test\nuv=={VERSION} {hashes}\n"


@dataclass
class FakeIndex:
    """What the index serves, and what it was asked."""

    wheel: bytes
    style: str = "json"  # or "html"
    filename: str = field(default_factory=lambda: f"uv-{VERSION}-py3-none-{platform_tag()}.whl")
    listed_sha256: str | None = None  # the hash the page gives (default: the wheel's own)
    files_base: str = ""  # where the page points for the file (default: this server)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def page(self) -> tuple[bytes, str]:
        digest = self.listed_sha256 or hashlib.sha256(self.wheel).hexdigest()
        href = (
            f"{self.files_base}/files/{self.filename}" if self.files_base else f"../../files/{self.filename}"
        )
        other = f"uv-{VERSION}-py3-none-win_amd64.whl"  # never this machine's
        if self.style == "json":
            body = {
                "meta": {"api-version": "1.1"},
                "name": "uv",
                "files": [
                    {"filename": other, "url": f"../../files/{other}", "hashes": {"sha256": "0" * 64}},
                    {"filename": self.filename, "url": href, "hashes": {"sha256": digest}},
                ],
            }
            return json.dumps(body).encode(), "application/vnd.pypi.simple.v1+json"
        links = (
            f'<a href="../../files/{other}#sha256={"0" * 64}">{other}</a><br>'
            f'<a href="{href}#sha256={digest}">{self.filename}</a><br>'
        )
        return f"<!DOCTYPE html><html><body>{links}</body></html>".encode(), "text/html"


def _handler(index: FakeIndex) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            index.requests.append((self.path, dict(self.headers.items())))
            # a proxy is asked for the absolute URL: this server answers as the index behind it
            path = urllib.parse.urlsplit(self.path).path
            if path.rstrip("/") == "/simple/uv":
                body, kind = index.page()
            elif path == f"/files/{index.filename}":
                body, kind = index.wheel, "application/octet-stream"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(index: FakeIndex, host: str = "127.0.0.1") -> Iterator[FakeIndex]:
    """The index on a free loopback port; ``index.url`` is its simple API's root."""
    server = ThreadingHTTPServer((host, 0), _handler(index))
    index.url = f"http://{host}:{server.server_address[1]}/simple"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield index
    finally:
        server.shutdown()
        server.server_close()


def write_scripts(scripts: Path, pin: str) -> Path:
    """A copy of scripts/fetch_uv.py in ``scripts`` beside a uv-requirements.txt holding ``pin``."""
    from tests.paths import REPO_ROOT

    scripts.mkdir(parents=True, exist_ok=True)
    (scripts / "fetch_uv.py").write_bytes((REPO_ROOT / "scripts" / "fetch_uv.py").read_bytes())
    (scripts / "uv-requirements.txt").write_text(pin, encoding="utf-8")
    return scripts / "fetch_uv.py"
