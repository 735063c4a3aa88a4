"""The `run` command in-process against the fake Messages API (tests of Claude Code's flags and settings)."""

from __future__ import annotations

import io
import json
import os
from contextlib import redirect_stderr
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runner.agent import headless
from runner.cli import run_command
from runner.settings.run import run_settings
from runner.settings.runtime import read_runtime
from runner.testing.fake_messages import FakeMessagesAPI


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    fake: FakeMessagesAPI
    repo: Path
    first: int  # the run's first request among the fake's

    @property
    def request(self) -> dict[str, Any]:
        return self.fake.message_requests[self.first].body

    @property
    def result(self) -> dict[str, Any]:
        return json.loads(self.stdout.strip().splitlines()[-1])

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("warning: ")]


@pytest.fixture
def run_flags(fake: FakeMessagesAPI, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`claude-runner run -p hello <args>` in the repo, in-process; returns a `Run`."""
    # In-process: keep the test process's own environment block and memory as they are.
    monkeypatch.setattr(headless, "wipe_process_environ", lambda names: 0)
    monkeypatch.setattr(headless, "protect_process_environ", lambda: False)
    monkeypatch.setattr(headless, "_said", set())
    monkeypatch.chdir(repo)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    env.update(
        ANTHROPIC_BASE_URL=fake.base_url,
        ANTHROPIC_API_KEY="sk-ant-test-key-0123456789",
        CLAUDE_RUNNER_RETRY_BASE_MS="10",
        CLAUDE_CONFIG_DIR=str(tmp_path / "claude-config"),
    )

    def run(*args: str, prompt: str = "hello", extra_env: dict[str, str] | None = None) -> Run:
        ctx = run_command.make_context("run", ["-p", prompt, *args])
        run_env = {**env, **(extra_env or {})}
        settings = run_settings(ctx.params["prompt"], ctx.params, run_env)
        out, err = io.StringIO(), io.StringIO()
        first = len(fake.message_requests)
        with redirect_stderr(err):
            code = headless.run_headless(settings, read_runtime(run_env), out=out, err=err)
        return Run(code, out.getvalue(), err.getvalue(), fake, repo, first)

    return run
