"""Mermaid diagrams checked by the `mermaid` package itself (npm), headless under node with jsdom:
``mermaid.parse`` for the syntax, then the gantt's own model for its sections, tasks and dates.

Used by the run report's tests. Installed into .cache/mermaid on first use (npm's cache keeps a
reinstall fast); under CI=true a missing node, npm or package fails the test instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.npm_install import npm_install
from tests.paths import REPO_ROOT

PACKAGES = ("mermaid@11.17.2", "jsdom@29.1.1")
PREFIX = REPO_ROOT / ".cache" / "mermaid"
SCRIPT = Path(__file__).with_name("mermaid_parse.mjs")


def _missing(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"mermaid is missing ({why}): npm install {' '.join(PACKAGES)}", pytrace=False)
    pytest.skip(f"mermaid is missing ({why})")


def _installed() -> bool:
    for spec in PACKAGES:
        name, version = spec.rsplit("@", 1)
        manifest = PREFIX / "node_modules" / name / "package.json"
        if not manifest.is_file() or json.loads(manifest.read_text()).get("version") != version:
            return False
    return True


@cache
def _node() -> str:
    """node, with the packages installed (npm install into .cache/mermaid on first use)."""
    problem = npm_install(PREFIX, " ".join(PACKAGES), _installed, timeout=600)
    node = shutil.which("node")
    if problem is not None or node is None:
        _missing(problem or "node is not installed")
    return str(node)


def mermaid_parse(diagrams: list[str]) -> list[dict[str, Any]]:
    """Parse diagrams (one node process per call): per diagram ``ok``, ``error``, ``type`` and,
    for a gantt, ``title``, ``sections`` and ``tasks`` (``section``, ``task``, ``id``, ``crit``,
    ``start``, ``end`` in epoch ms)."""
    done = subprocess.run(
        [_node(), "--input-type=module", "-e", SCRIPT.read_text()],
        input=json.dumps(diagrams), capture_output=True, text=True, cwd=PREFIX, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results
