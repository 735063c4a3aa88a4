"""The runner image's Dockerfile, checked without a Docker engine.

First its instructions (base image, non-root user, entrypoint, the extras it installs exist), then
its install steps run for real in a fresh venv, from a build context that honours .dockerignore:
the package installs, `claude-runner --version` works and `rg` comes with it. The second test needs
the package index (CI has it); without it, it fails saying so rather than skipping silently.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped and continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def only(keyword: str) -> str:
    values = [rest for kw, rest in instructions() if kw == keyword]
    assert values, f"no {keyword} in the Dockerfile"
    return values[-1]  # the last one wins, as in Docker


def install_command() -> list[str]:
    """The `pip install ...` of the RUN that builds the venv, as argv."""
    for keyword, rest in instructions():
        if keyword == "RUN" and "pip install" in rest:
            for step in rest.split("&&"):
                if "pip install" in step:
                    return shlex.split(step)
    raise AssertionError("no RUN ... pip install in the Dockerfile")


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, in order (what comes before the first FROM dropped)."""
    out: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            out.append([])
        if out:
            out[-1].append((keyword, rest))
    return out


def test_base_image_user_and_entrypoint() -> None:
    # The base is a build argument (the offline build passes a debootstrap base); its default is public.
    assert instructions()[0] == ("ARG", "BASE_IMAGE=python:3.12-slim")
    build, final = stages()
    assert build[0] == ("FROM", "${BASE_IMAGE} AS build")
    assert final[0] == ("FROM", "${BASE_IMAGE}")
    user = only("USER").split(":")[0]
    assert user not in ("root", "0", "")
    assert "--uid 10001" in " ".join(rest for kw, rest in final if kw == "RUN")
    assert json.loads(only("ENTRYPOINT")) == ["claude-runner"]
    assert json.loads(only("CMD")) == ["--help"]
    assert only("WORKDIR") == "/workspace"
    assert only("EXPOSE") == "8080"
    apt = next(rest for kw, rest in final if kw == "RUN" and "apt-get install" in rest)
    assert "--no-install-recommends" in apt and "ca-certificates" in apt.split()
    # git's libraries, not the git package (it depends on Perl): its files come from stage 1
    assert "git" not in apt.split() and "$(cat /tmp/git-libraries)" in apt
    assert "bubblewrap" in apt.split()  # the OS sandbox for the agent's tools
    assert "ripgrep" not in apt  # rg comes from the ripgrep wheel, a dependency of the package
    assert "rm -rf /var/lib/apt/lists/*" in apt
    assert "binutils" not in apt  # a build tool: stage 1 only


def test_the_image_takes_only_the_venv_from_the_build_stage() -> None:
    build, final = stages()
    copies = [rest for kw, rest in final if kw == "COPY"]
    assert copies == [
        "--from=build /git-root.packages /tmp/git-libraries",
        "--from=build /git-root/ /",
        "--from=build /opt/claude-runner /opt/claude-runner",
    ]
    assert not any("pip install" in rest for _kw, rest in final)
    run = next(rest for kw, rest in build if kw == "RUN" and "pip install" in rest)
    steps = [step.strip() for step in run.split("&&")]
    # no pip cache, no pip in the venv, no build context, rg without its debug info
    assert "--no-cache-dir" in next(step for step in steps if "pip install" in step)
    assert "/opt/claude-runner/bin/pip uninstall --yes --quiet pip setuptools" in steps
    assert "strip /opt/claude-runner/bin/rg" in steps
    # bytecode only for what runs (by build_stage.py), not pip's for every file
    assert "--no-compile" in next(step for step in steps if "pip install" in step)
    assert "/opt/claude-runner/bin/python /src/container/build_stage.py slim-venv /opt/claude-runner" in steps
    assert "python3 /src/container/build_stage.py git-files /git-root" in steps
    assert steps[-1] == "rm -rf /src"
    assert steps.index("python3 -m venv /opt/claude-runner") < steps.index("strip /opt/claude-runner/bin/rg")


def test_installed_extras_exist_and_the_user_is_set_after_the_install() -> None:
    argv = install_command()
    target = next(arg for arg in argv if arg.startswith("/src"))
    extras = set(re.fullmatch(r"/src\[(.*)\]", target).group(1).split(","))  # type: ignore[union-attr]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert extras == {"bedrock", "vertex", "webhook", "webhook-postgres", "telemetry"}
    assert extras <= set(project["optional-dependencies"])
    assert any("ripgrep" in dep for dep in project["dependencies"])
    keywords = [kw for kw, _ in instructions()]
    # Installing as root, then dropping to the user: the venv is not writable by the agent.
    assert keywords.index("USER") > max(i for i, (kw, rest) in enumerate(instructions()) if "pip" in rest)


def build_context(dest: Path) -> Path:
    """Copy the repository as `docker build` would send it: minus what .dockerignore names."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(directory: str, names: list[str]) -> set[str]:
        rel = Path(directory).relative_to(ROOT)
        out = set()
        for name in names:
            path = (rel / name).as_posix()
            for pattern in patterns:
                bare = pattern.removeprefix("**/")
                if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(name, bare):
                    out.add(name)
        return out

    shutil.copytree(ROOT, dest, ignore=ignored)
    return dest


def test_dockerignore_keeps_what_the_install_needs(tmp_path: Path) -> None:
    src = build_context(tmp_path / "src")
    needed_files = ("pyproject.toml", "README.md", "LICENSE", "runner/cli.py", "runner/templates")
    for needed in (*needed_files, "container/build_stage.py"):
        assert (src / needed).exists(), needed
    for dropped in (".git", "tests", "Dockerfile"):
        assert not (src / dropped).exists(), dropped


@pytest.mark.timeout(180)
def test_the_image_install_steps_work_in_a_venv(tmp_path: Path) -> None:
    """The Dockerfile's `python3 -m venv` + `pip install /src[...]`, run here (slow-ish: ~20 s cached)."""
    started = time.monotonic()
    src = build_context(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=60)
    argv = install_command()
    pip = venv / "bin" / "pip"
    # The same command, with /src where the context is. --no-cache-dir keeps the image small; here
    # the cache only makes the download faster, so it is allowed.
    args = [str(src) + arg[len("/src") :] if arg.startswith("/src") else arg for arg in argv[1:]]
    args = [arg for arg in args if arg != "--no-cache-dir"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_REQUIRE")}
    done = subprocess.run(
        [str(pip), *args, "--disable-pip-version-check"], capture_output=True, text=True, timeout=170, env=env
    )
    if done.returncode != 0:
        output = done.stdout + done.stderr
        unreachable = re.search(
            r"Could not find a version|No matching distribution|NewConnectionError|Failed to establish"
            r"|Temporary failure in name resolution|Network is unreachable|ConnectTimeout",
            output,
        )
        if unreachable:
            pytest.fail(
                f"pip could not reach the package index, which this test needs: {unreachable.group(0)}"
            )
        pytest.fail(f"pip install failed:\n{output[-3000:]}")
    version = subprocess.run(
        [str(venv / "bin" / "claude-runner"), "--version"], capture_output=True, text=True, timeout=30
    )
    assert version.returncode == 0 and "claude-runner, version" in version.stdout
    rg = venv / "bin" / "rg"
    assert rg.exists()
    assert subprocess.run([str(rg), "--version"], capture_output=True, timeout=30).returncode == 0
    # The extras really came along: the webhook server, both cloud SDKs and OpenTelemetry's import.
    python = venv / "bin" / "python"
    imports = "import waitress, boto3, google.auth, runner.webhook.server, runner.telemetry.otel"
    assert subprocess.run([str(python), "-c", imports], timeout=60).returncode == 0
    print(f"image install steps in a venv: {time.monotonic() - started:.1f} s")
