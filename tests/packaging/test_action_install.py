"""The action's install step: uv, pinned and hash-checked, fetched with the runner's own pip.

The last test runs the step's script for real (it needs the package index, as the Dockerfile test
does; without it, it fails saying so): a fresh venv with a working `claude-runner`, then the same
step again takes the venv as it is, as after an Actions cache hit.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.paths import REPO_ROOT

ACTION = REPO_ROOT / "action.yml"
UV_REQUIREMENTS = REPO_ROOT / "scripts" / "uv-requirements.txt"
UNPACK_UV = REPO_ROOT / "scripts" / "unpack_uv.py"


def _install_script() -> str:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "install"]
    return str(step["run"])


def _bench() -> Any:
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    try:
        import install_time
    finally:
        sys.path.remove(str(REPO_ROOT / "bench"))
    return install_time


def test_uv_is_pinned_with_hashes_and_fetched_with_them() -> None:
    text = UV_REQUIREMENTS.read_text(encoding="utf-8")
    requirement = re.sub(
        r"\\\n\s*", " ", "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    )
    (line,) = [row for row in requirement.splitlines() if row.strip()]
    assert re.match(r"uv==\d+\.\d+\.\d+ ", line), line
    hashes = re.findall(r"--hash=sha256:([0-9a-f]+)", line)
    assert len(hashes) >= 4 and all(len(h) == 64 for h in hashes)
    script = _install_script()
    assert '-r "${GITHUB_ACTION_PATH}/scripts/uv-requirements.txt"' in script
    # the benchmark measures the commands the action runs
    bench = _bench()
    download = re.search(r"-m pip download (.*?) -r ", script.replace("\\\n", " "), re.DOTALL)
    assert download is not None
    assert download.group(1).split() == [*bench.PIP_FLAGS, *bench.UV_DOWNLOAD_FLAGS]
    assert "--require-hashes" in bench.UV_DOWNLOAD_FLAGS
    joined = re.sub(r"\\\n\s*", "", script)
    install = re.search(r'"\$uv" pip install (.*?) --python "\$VENV/bin/python" "\$spec"', joined)
    assert install is not None
    assert install.group(1).split() == bench.UV_INSTALL_FLAGS
    assert bench.UV_INSTALL_FLAGS[1:5] == ["--only-binary", ":all:", "--no-binary", "claude-runner"]


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in members.items():
            wheel.writestr(name, data)
    return path


def test_unpack_uv_takes_the_binary_out_of_the_wheel(tmp_path: Path) -> None:
    _wheel(
        tmp_path / "uv-0.13.9-py3-none-manylinux_2_17_x86_64.whl",
        {"uv-0.13.9.data/scripts/uv": b"#!/bin/sh\necho uv 0.13.9\n", "uv/__init__.py": b""},
    )
    done = subprocess.run(
        [sys.executable, "-I", str(UNPACK_UV), str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    uv = tmp_path / "uv"
    assert uv.stat().st_mode & stat.S_IXUSR
    assert subprocess.run([str(uv)], capture_output=True, text=True).stdout == "uv 0.13.9\n"
    assert not list(tmp_path.glob("*.whl"))


def test_unpack_uv_refuses_a_wheel_without_the_binary(tmp_path: Path) -> None:
    _wheel(tmp_path / "uv-0.13.9-py3-none-any.whl", {"uv/__init__.py": b""})
    done = subprocess.run(
        [sys.executable, "-I", str(UNPACK_UV), str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "unpack_uv: no uv binary in uv-0.13.9-py3-none-any.whl"
    assert not (tmp_path / "uv").exists()


def _action_copy(dest: Path) -> Path:
    """The action as GitHub checks it out: the repository's files, none of its local caches."""
    skip = {".git", ".venv", ".cache", "build", "dist", "node_modules", "results", ".peer"}
    shutil.copytree(
        REPO_ROOT,
        dest,
        ignore=lambda _d, names: {
            n for n in names if n in skip or n.endswith((".egg-info", "_cache", "__pycache__"))
        },
    )
    return dest


@pytest.mark.timeout(600)
@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_the_install_step_installs_with_uv_then_takes_the_cached_venv(tmp_path: Path) -> None:
    action = _action_copy(tmp_path / "action")
    venv = tmp_path / "home" / ".cache" / "claude-runner" / "venv-test"
    out = tmp_path / "github_output"
    python = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_REQUIRE", "VIRTUAL_ENV", "PYTHON", "UV_"))
    }
    env.update(
        HOME=str(tmp_path / "home"),
        GITHUB_ACTION_PATH=str(action),
        GITHUB_OUTPUT=str(out),
        PYTHON=python,
        VENV=str(venv),
        EXTRAS="",
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
    )
    bash = shutil.which("bash") or "bash"
    first = subprocess.run(
        [bash, "-c", _install_script()], env=env, capture_output=True, text=True, timeout=580
    )
    log = first.stdout + first.stderr
    if first.returncode != 0:
        unreachable = re.search(
            r"Could not find a version|No matching distribution|Failed to establish|Network is unreachable"
            r"|Temporary failure in name resolution|error sending request|dns error",
            log,
        )
        if unreachable:
            pytest.fail(
                f"the install step could not reach the package index, which this test needs: {log[-2000:]}"
            )
        pytest.fail(f"the install step failed:\n{log[-3000:]}")
    assert "could not fetch uv" not in log  # uv was used, not the pip fallback
    assert out.read_text().splitlines() == ["installed=true"]
    assert not (venv / "bin" / "pip").exists()  # made by uv: the venv holds only what the runner needs
    version = subprocess.run(
        [str(venv / "bin" / "claude-runner"), "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0 and "claude-runner, version" in version.stdout
    # --compile-bytecode: the runner's modules are compiled at install, so the cached venv has them
    assert list((venv / "lib").glob("python3.*/site-packages/runner/__pycache__/cli.*.pyc"))
    # the same step again, as after an Actions cache hit: the venv is taken as it is
    second = subprocess.run(
        [bash, "-c", _install_script()], env=env, capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 0, second.stderr
    assert f"claude-runner: using the cached venv {venv}" in second.stdout
    assert out.read_text().splitlines() == ["installed=true", "installed=false"]
