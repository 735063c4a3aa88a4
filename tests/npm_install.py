"""One npm install at a time per prefix: the suite runs on several pytest-xdist workers, and two
workers installing the same package into the same cache folder would corrupt it."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path


def npm_install(prefix: Path, spec: str, installed: Callable[[], bool], timeout: float = 300) -> str | None:
    """Install ``spec`` (``name@version``, or several space-separated: one install, as npm prunes
    what another left) into ``prefix`` unless ``installed()`` already holds; returns why it
    failed, or None. Waits for another worker's install of the same prefix."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return "node/npm is not installed"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    with open(prefix.parent / f".{prefix.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed():
            return None
        done = subprocess.run(
            [
                npm,
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
                str(prefix),
                *spec.split(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0 or not installed():
            lines = done.stderr.strip().splitlines()
            return f"npm install {spec} failed: {lines[-1] if lines else 'no output'}"
    return None
