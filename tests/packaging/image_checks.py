"""What tests/packaging/test_image_build.py runs inside the built image, and the servers it runs
beside it on this machine (buildah's chroot isolation shares the host's network, so the image
reaches them on 127.0.0.1).
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

# Run with the venv's Python inside: the runner's console script in this process, then, at exit
# (normal or os._exit, which the runner uses once the SDK is loaded), the venv's modules it imported
# without a valid .pyc (each would be compiled in memory at every start: the image's user cannot
# write the venv), as JSON into the file named by UNCOMPILED_REPORT.
UNCOMPILED = r"""
import atexit, importlib.util, json, os, sys
def compiled(path):
    # a .pyc the import system takes: this Python's magic number and, for a timestamp .pyc, the
    # source's mtime and size (a copy that changed them would leave every .pyc stale)
    try:
        with open(importlib.util.cache_from_source(path), "rb") as pyc:
            head = pyc.read(16)
    except OSError:
        return False
    if head[:4] != importlib.util.MAGIC_NUMBER:
        return False
    if int.from_bytes(head[4:8], "little"):
        return True
    st = os.stat(path)
    return head[8:16] == (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little") + (
        st.st_size & 0xFFFFFFFF).to_bytes(4, "little")
def report():
    missing = sorted(
        name for name, module in list(sys.modules.items())
        if (path := getattr(module, "__file__", None) or "").startswith("/opt/claude-runner/")
        and path.endswith(".py") and not compiled(path)
    )
    with open(os.environ["UNCOMPILED_REPORT"], "w") as out:
        json.dump(missing, out)
atexit.register(report)
_exit = os._exit
def exit_after_report(code):
    report()
    _exit(code)
os._exit = exit_after_report
sys.argv = ["claude-runner", *sys.argv[1:]]
from runner.main import main
main()
"""

# Started inside with the venv's Python: the listener (through UNCOMPILED) answers /healthz on
# localhost; prints the answer as JSON, then stops it with SIGTERM (its graceful stop).
HEALTHZ = r"""
import json, os, subprocess, sys, time, urllib.request
port, wrapper = sys.argv[1], sys.argv[2]
env = dict(os.environ, GITLAB_WEBHOOK_SECRET="image-test", GITLAB_ACCESS_TOKEN="unused")
argv = [sys.executable, wrapper, "webhook", "--host", "127.0.0.1", "--port", port]
server = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
deadline = time.monotonic() + 90
try:
    while True:
        if server.poll() is not None:
            sys.exit("webhook exited " + str(server.returncode) + ": " + server.stderr.read()[-2000:])
        try:
            with urllib.request.urlopen("http://127.0.0.1:" + port + "/healthz", timeout=5) as answer:
                print(json.dumps({"status": answer.status, "body": json.loads(answer.read())}))
                break
        except OSError:
            if time.monotonic() > deadline:
                sys.exit("no answer from /healthz in 90 s")
            time.sleep(0.05)
finally:
    server.terminate()
    server.wait(timeout=30)
"""

# Every extension module in the venv imports (strip --strip-unneeded left them loadable); prints
# the ones that do not, with the error.
EXTENSIONS = r"""
import importlib, pathlib, sys
import psycopg  # the modules of psycopg_binary refuse to load before it
site = next(pathlib.Path("/opt/claude-runner/lib").glob("python3*/site-packages"))
failed = [] if psycopg.pq.__impl__ == "binary" else ["psycopg: not its binary libpq"]
for path in sorted(site.rglob("*.so")):
    rel = path.relative_to(site)
    if any(part.endswith(".libs") or "-" in part for part in rel.parts[:-1]):
        continue
    name = ".".join((*rel.parts[:-1], rel.name.split(".")[0]))
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {exc!r}")
print("\n".join(failed))
"""

# git as the runner uses it, over smart HTTP (git-remote-http, libcurl) against GitHttpServer:
# clone, branch, commit, diff, push, and a rebase onto a main that moved.
GIT_OVER_HTTP = r"""
set -e
cd "$(mktemp -d)"
git config --global user.name "Image Test"
git config --global user.email image@example.com
git clone -q "$REMOTE" work
git clone -q "$REMOTE" other
cd other
echo "Docs." > README.md
git add README.md
git commit -qm "Docs"
git push -q origin main
cd ../work
git switch -q -c fix
sed -i "s/a - b/a + b/" calc.py
git diff --stat
git commit -qam "Fix add"
git fetch -q origin
git rebase -q origin/main
git push -q origin fix
git log --format=%s origin/fix
"""


class _GitCgi(BaseHTTPRequestHandler):
    """``git http-backend`` as a CGI program: git's smart HTTP protocol, fetches and pushes."""

    root: Path

    def _cgi(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": "image-test",  # http-backend takes pushes only from an authenticated user
            "REQUEST_METHOD": self.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _cgi

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def git_http_server(root: Path) -> Iterator[str]:
    """Serve the bare repositories under ``root`` over git's smart HTTP; yields the base URL."""
    handler = type("GitCgi", (_GitCgi,), {"root": root})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def bare_project(root: Path) -> Path:
    """``root/project.git``: one commit on main with a ``calc.py`` whose add() subtracts."""
    work = root / "seed"
    work.mkdir(parents=True)
    git = ["git", "-c", "user.name=Seed", "-c", "user.email=seed@example.com", "-C", str(work)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (work / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    subprocess.run([*git, "add", "calc.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "Initial"], check=True)
    bare = root / "project.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return bare
