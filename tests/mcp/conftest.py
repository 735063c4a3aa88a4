"""MCP test servers: the reference filesystem server from npm (installed once per session into
.cache/, like the GitHub schemas) and the small Python servers next to this file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.paths import REPO_ROOT

HERE = Path(__file__).resolve().parent
FILESYSTEM_PACKAGE = "@modelcontextprotocol/server-filesystem"
FILESYSTEM_VERSION = "2026.8.31"
FILESYSTEM_PREFIX = REPO_ROOT / ".cache" / "mcp-server-filesystem"


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
    npm = shutil.which("npm")
    problem = None
    npm_install = [npm, "install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"]
    if npm is None:
        problem = "npm is not installed"
    else:
        done = subprocess.run(
            [*npm_install, str(FILESYSTEM_PREFIX), f"{FILESYSTEM_PACKAGE}@{FILESYSTEM_VERSION}"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0 or not binary.exists():
            problem = f"npm install {FILESYSTEM_PACKAGE} failed: {done.stderr.strip()[-300:]}"
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


def echo_server(marker: str, **extra: Any) -> dict[str, Any]:
    """The configuration of the Python test server (tests/mcp/echo_server.py)."""
    return {"command": sys.executable, "args": [str(HERE / "echo_server.py"), marker], **extra}


def hang_server(marker: str) -> dict[str, Any]:
    """A server that never answers and ignores SIGTERM."""
    return {"command": sys.executable, "args": [str(HERE / "hang_server.py"), marker]}


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
