"""MCP test servers: the reference filesystem server from npm (installed once per session into
.cache/, like the GitHub schemas) and the small Python servers next to this file."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.npm_install import npm_install
from tests.paths import REPO_ROOT

HERE = Path(__file__).resolve().parent
FILESYSTEM_PACKAGE = "@modelcontextprotocol/server-filesystem"
FILESYSTEM_VERSION = "2026.8.31"
# The sandbox gives each run a private /tmp: with the checkout under /tmp (a CI clone can be one),
# what the servers run from goes next to the interpreter, which the sandbox keeps visible.
UNDER_TMP = (str(REPO_ROOT) + "/").startswith("/tmp/")
SERVERS_DIR = Path(sys.prefix) / "claude-runner-test-servers" if UNDER_TMP else REPO_ROOT / ".cache"
FILESYSTEM_PREFIX = SERVERS_DIR / "mcp-server-filesystem"


@pytest.fixture(scope="session")
def filesystem_server() -> Path:
    """The `mcp-server-filesystem` executable from npm; skipped without npm, except under CI=true."""
    return install_filesystem_server()


def install_filesystem_server() -> Path:
    """``filesystem_server``, for tests outside this directory."""
    binary = FILESYSTEM_PREFIX / "node_modules" / ".bin" / "mcp-server-filesystem"
    package_json = FILESYSTEM_PREFIX / "node_modules" / FILESYSTEM_PACKAGE / "package.json"
    if binary.exists() and package_json.exists() and _version(package_json) == FILESYSTEM_VERSION:
        return binary
    problem = npm_install(
        FILESYSTEM_PREFIX,
        f"{FILESYSTEM_PACKAGE}@{FILESYSTEM_VERSION}",
        lambda: binary.exists() and package_json.exists() and _version(package_json) == FILESYSTEM_VERSION,
    )
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the MCP end-to-end tests need {FILESYSTEM_PACKAGE}: {problem}", pytrace=False)
        pytest.skip(problem)
    return binary


def _version(package_json: Path) -> str:
    return str(json.loads(package_json.read_text())["version"])


def new_marker() -> str:
    """A word every process of a test's servers carries in its command line."""
    return f"mcp-test-{uuid.uuid4().hex}"


@pytest.fixture
def marker() -> str:
    """``new_marker()`` for a test."""
    return new_marker()


def server_script(name: str) -> str:
    """Where a test server's script runs from. The sandbox gives each run a private ``/tmp``, so a
    checkout under ``/tmp`` (a CI clone can be one) is not there inside it: the script is copied
    next to the interpreter, which the sandbox keeps visible."""
    source = HERE / name
    if not UNDER_TMP:
        return str(source)
    target = SERVERS_DIR / name
    target.parent.mkdir(parents=True, exist_ok=True)
    # Copied under a private name, then renamed: another pytest-xdist worker may be starting the
    # same script at this moment, and must never read it half written.
    partial = target.with_name(f".{name}.{os.getpid()}")
    shutil.copyfile(source, partial)
    os.replace(partial, target)
    return str(target)


def echo_server(marker: str, **extra: Any) -> dict[str, Any]:
    """The configuration of the Python test server (tests/mcp/echo_server.py)."""
    return {"command": sys.executable, "args": [server_script("echo_server.py"), marker], **extra}


def hang_server(marker: str) -> dict[str, Any]:
    """A server that never answers and ignores SIGTERM."""
    return {"command": sys.executable, "args": [server_script("hang_server.py"), marker]}


def processes_with(marker: str, grace_s: float = 10.0) -> list[int]:
    """The pids whose command line carries ``marker`` (this process's own excluded), once none are
    left or ``grace_s`` has passed: a sandboxed server's processes die just after bubblewrap, which
    the runner waited for."""
    deadline = time.monotonic() + grace_s
    while (found := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found
