"""Shared fixtures: a real git workspace and a way to run the real CLI against the fake API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runner.testing.fake_messages import FakeMessagesAPI


@dataclass
class RunOutput:
    """What a user sees from one `claude-runner run`: exit code, stdout, stderr."""

    code: int
    stdout: str
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        """The result object (the last JSON line of stdout)."""
        return json.loads(self.stdout.strip().splitlines()[-1])

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every stream-json line."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with a buggy calc.py, committed."""
    path = tmp_path / "repo"
    path.mkdir()
    (path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", str(path)], check=True)
    subprocess.run([*git, "-C", str(path), "add", "."], check=True)
    subprocess.run([*git, "-C", str(path), "commit", "-qm", "init"], check=True)
    return path


@pytest.fixture
def fake() -> Iterator[FakeMessagesAPI]:
    """A fresh fake Messages API on loopback."""
    with FakeMessagesAPI() as api:
        yield api


def base_env(fake: FakeMessagesAPI) -> dict[str, str]:
    """The environment of a CI job pointed at the fake, with fast retries."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_CODE_"))}
    env.update(
        ANTHROPIC_BASE_URL=fake.base_url,
        ANTHROPIC_API_KEY="sk-ant-test-key-0123456789",
        # Never the machine's ~/.claude/settings.json (its hooks would run in the tests).
        CLAUDE_CONFIG_DIR=os.path.join(tempfile.gettempdir(), "claude-runner-tests-no-user-settings"),
        CLAUDE_RUNNER_RETRY_BASE_MS="10",
    )
    return env


@pytest.fixture
def run_cli(fake: FakeMessagesAPI) -> Callable[..., RunOutput]:
    """Run the real command in a subprocess, like CI would."""

    def run(
        *args: str,
        cwd: Path,
        env: dict[str, str] | None = None,
        timeout: float = 60,
        stdin: str | None = None,
    ) -> RunOutput:
        proc = subprocess.run(
            [sys.executable, "-m", "runner", *args],
            cwd=cwd,
            env=env if env is not None else base_env(fake),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
        )
        return RunOutput(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def bwrap() -> str:
    """bubblewrap's path where it works here; skipped where it does not, except under CI=true,
    where a missing or broken bubblewrap fails the test (.ci/run installs it)."""
    from runner.agent.sandbox import unavailable_reason

    path = shutil.which("bwrap")
    reason = unavailable_reason(path, network=True)
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the sandbox tests need a working bubblewrap: {reason}", pytrace=False)
        pytest.skip(f"no working bubblewrap: {reason}")
    assert path is not None
    return path
