"""A venv with claude-runner installed the way the action installs it, for benchmarks that time what
a user runs: the pinned uv wheel of `scripts/uv-requirements.txt` fetched and unpacked by
`scripts/fetch_uv.py` (hash-checked), `uv venv`, then `uv pip install --no-config --only-binary
:all: --no-binary claude-runner --compile-bytecode --no-deps -r scripts/requirements/base.txt` and
a clean copy of the repository: installed, not linked. A dev venv's editable install loads an
import finder (pathlib, and with it `re`'s compiler and more) at every start; uv's console script
imports nothing but `sys` and the entry point.

Cached in bench/.action-venv/<key>/ (not committed), keyed like action.yml's cache: the sources,
pyproject.toml and the interpreter; a change to the sources builds a new one (the old is removed).

    python bench/action_venv.py        # build (or find) it and print its claude-runner
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "bench" / ".action-venv"
sys.path.insert(0, str(REPO))
# The action's uv flags and its clean copy, as install_time.py (which times that step) has them.
from bench.install_time import UV_INSTALL_FLAGS, clean_copy_ignore  # noqa: E402


def source_key(python: str) -> str:
    """What action.yml keys its cached venv on: pyproject.toml, the lock, every file of runner/,
    the interpreter."""
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes())
    for lock in sorted((REPO / "scripts" / "requirements").glob("*.txt")):
        digest.update(lock.read_bytes())
    for path in sorted((REPO / "runner").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    digest.update(os.path.realpath(python).encode())
    return digest.hexdigest()[:16]


def action_venv(python: str = sys.executable) -> Path:
    """The cached venv's ``claude-runner``, built first when the sources changed."""
    venv = CACHE / source_key(python)
    script = venv / "bin" / "claude-runner"
    if script.exists():
        return script
    CACHE.mkdir(exist_ok=True)
    for old in CACHE.iterdir():
        shutil.rmtree(old, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="claude-runner-action-") as tmp:
        work = Path(tmp)
        action = work / "action"
        shutil.copytree(REPO, action, ignore=clean_copy_ignore)
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env["PIP_CONFIG_FILE"] = os.devnull
        if env.get("PIP_INDEX_URL") and not env.get("UV_DEFAULT_INDEX"):
            env["UV_DEFAULT_INDEX"] = env["PIP_INDEX_URL"]  # as action.yml
        uv_dir = work / "uv"
        uv_dir.mkdir()
        steps = [
            [python, "-I", str(action / "scripts" / "fetch_uv.py"), str(uv_dir)],
            [str(uv_dir / "uv"), "venv", "--no-config", "--quiet", "--python", python, str(venv)],
            [
                str(uv_dir / "uv"),
                "pip",
                "install",
                *UV_INSTALL_FLAGS,
                "--python",
                str(venv / "bin" / "python"),
                "-r",
                str(action / "scripts" / "requirements" / "base.txt"),
                str(action),
            ],
        ]
        for argv in steps:
            done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
                raise SystemExit(f"error: building the action's venv: {Path(argv[0]).name} failed: {last[0]}")
    if not script.exists():
        raise SystemExit(f"error: building the action's venv: no {script} after the install")
    return script


if __name__ == "__main__":
    print(action_venv())
