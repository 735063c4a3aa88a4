"""A GitHub Actions job in a box: bare origin, checked-out workspace, fake GitHub, fake model."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.testing.fake_github import FakeGitHub
from runner.testing.fake_messages import FakeMessagesAPI
from tests.paths import FIXTURES_DIR

FIXTURES = FIXTURES_DIR / "github" / "webhooks"
OWNER, REPO = "Codertocat", "Hello-World"
GIT = ["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev"]


def git(*args: str, cwd: Path) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ActionsJob:
    """Everything one `claude-runner github` run needs, built in a temp dir."""

    root: Path
    github: FakeGitHub
    model: FakeMessagesAPI
    env_extra: dict[str, str] = field(default_factory=dict)
    last_env: dict[str, str] = field(default_factory=dict)  # the last run's variables

    @property
    def origin(self) -> Path:
        return self.root / "remotes" / OWNER / f"{REPO}.git"

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    def remote_branches(self) -> dict[str, str]:
        out = git("ls-remote", "--heads", str(self.origin), cwd=self.root)
        return {
            line.split("\t")[1].removeprefix("refs/heads/"): line.split("\t")[0] for line in out.splitlines()
        }

    def remote_log(self, branch: str, fmt: str = "%s") -> list[str]:
        return git(
            "--git-dir", str(self.origin), "log", f"--format={fmt}", branch, cwd=self.root
        ).splitlines()

    def payload(self, event: str, variant: str = "created.payload.json", **changes: Any) -> dict[str, Any]:
        data = json.loads((FIXTURES / event / variant).read_text())
        return copy.deepcopy(data)

    def run(self, event_name: str, payload: dict[str, Any], timeout: float = 60, **inputs: str):
        proc = self.start(event_name, payload, **inputs)
        stdout, stderr = proc.communicate(timeout=timeout)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        outputs, summary = self.root / "github_output", self.root / "step_summary"
        return done, _read_outputs(outputs), summary.read_text() if summary.exists() else ""

    def start(self, event_name: str, payload: dict[str, Any], **inputs: str) -> subprocess.Popen[str]:
        """Start `claude-runner github` with the Actions variables set (outputs reset)."""
        event_path = self.root / "event.json"
        event_path.write_text(json.dumps(payload))
        outputs = self.root / "github_output"
        summary = self.root / "step_summary"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "GITHUB_", "INPUT_"))}
        env.update(
            GITHUB_EVENT_NAME=event_name,
            GITHUB_EVENT_PATH=str(event_path),
            GITHUB_REPOSITORY=f"{OWNER}/{REPO}",
            GITHUB_API_URL=self.github.api_url,
            GITHUB_SERVER_URL=self.github.web_url,
            GITHUB_RUN_ID="777",
            GITHUB_WORKSPACE=str(self.workspace),
            GITHUB_OUTPUT=str(outputs),
            GITHUB_STEP_SUMMARY=str(summary),
            RUNNER_TEMP=str(self.root / "runner_temp"),
            ANTHROPIC_BASE_URL=self.model.base_url,
            ANTHROPIC_API_KEY="sk-ant-test-0123456789",
            CLAUDE_CONFIG_DIR=str(self.root / "claude-config"),  # never the machine's user settings
            CLAUDE_RUNNER_RETRY_BASE_MS="10",
            CLAUDE_RUNNER_API_RETRY_BASE_MS="10",  # API retries (a 502 the test scripts) without waiting
            INPUT_GITHUB_TOKEN="ghp_fake_token",
        )
        env.update(self.env_extra)
        env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
        outputs.unlink(missing_ok=True)
        self.last_env = env
        return subprocess.Popen(
            [sys.executable, "-m", "runner", "github"],
            cwd=self.workspace,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finalize(self, job_status: str = "cancelled", timeout: float = 60):
        """`claude-runner finalize` as the action's always() step runs it: the last run's
        variables, a step outputs file and summary of its own."""
        outputs, summary = self.root / "finalize_output", self.root / "finalize_summary"
        outputs.unlink(missing_ok=True)
        summary.unlink(missing_ok=True)
        env = {**self.last_env, "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
        env["CLAUDE_RUNNER_JOB_STATUS"] = job_status
        done = subprocess.run(
            [sys.executable, "-m", "runner", "finalize", "--platform", "github"],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return done, _read_outputs(outputs), summary.read_text() if summary.exists() else ""


def _read_outputs(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, delimiter = line.split("<<", 1)
            j = lines.index(delimiter, i + 1)
            values[name] = "\n".join(lines[i + 1 : j])
            i = j + 1
            continue
        name, _, value = line.partition("=")
        values[name] = value
        i += 1
    return values


def make_job(root: Path, github: FakeGitHub, model: FakeMessagesAPI) -> ActionsJob:
    """Origin with `master` (calc.py with a bug) and `fix-calc`, and a workspace cloned from it."""
    job = ActionsJob(root, github, model)
    seed = root / "seed"
    seed.mkdir(parents=True)
    git("init", "-q", "-b", "master", cwd=seed)
    (seed / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    git("add", ".", cwd=seed)
    git("commit", "-qm", "init", cwd=seed)
    git("checkout", "-q", "-b", "fix-calc", cwd=seed)
    (seed / "README.md").write_text("calc\n")
    git("add", ".", cwd=seed)
    git("commit", "-qm", "readme", cwd=seed)
    job.origin.parent.mkdir(parents=True)
    git("clone", "-q", "--bare", str(seed), str(job.origin), cwd=root)
    git("clone", "-q", "-b", "master", str(job.origin), str(job.workspace), cwd=root)
    return job


@contextlib.contextmanager
def actions_job(root: Path) -> Iterator[ActionsJob]:
    """`make_job` with the fakes running: a fake GitHub that sees the branches pushed to origin."""
    origin = root / "remotes" / OWNER / f"{REPO}.git"

    def branch_lookup(name: str) -> str | None:
        out = subprocess.run(
            ["git", "ls-remote", "--heads", str(origin), name], capture_output=True, text=True
        )
        return out.stdout.split("\t")[0] or None

    with FakeMessagesAPI() as model:
        github = FakeGitHub(
            OWNER,
            REPO,
            default_branch="master",
            branch_lookup=branch_lookup,
            web_url=f"file://{root / 'remotes'}",
        )
        with github:
            yield make_job(root, github, model)


ANNOTATION = "::error title=claude-runner::"


def error_lines(stderr: str) -> list[str]:
    """The run's errors, shown as annotations: each line once, as ``error: <message>``."""
    lines = stderr.splitlines()
    assert not [line for line in lines if line.startswith("error:")], "an error printed as well as annotated"
    return [
        "error: " + line.removeprefix(ANNOTATION).replace("%0A", "\n").replace("%25", "%")
        for line in lines
        if line.startswith(ANNOTATION)
    ]
