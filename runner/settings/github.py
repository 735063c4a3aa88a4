"""A GitHub Actions step's settings: the variables Actions sets, the inputs, ``claude_args``, the
runtime, read once by ``claude-runner github``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from runner.errors import UsageError
from runner.events import CIRun
from runner.settings.ack import AckSettings, read_ack_settings
from runner.settings.api import ApiSettings, read_api_settings
from runner.settings.flow import FlowSettings, flow_settings, github_token, read_inputs, with_flow_effort
from runner.settings.quick_ack import STATE_FILE
from runner.settings.run import RunSettings, agent_settings, env_int
from runner.settings.runtime import Runtime, read_flow_runtime


@dataclass(frozen=True)
class GitHubRunEnv:
    """The variables GitHub Actions sets for a step."""

    event_name: str
    event_path: Path
    repository: str
    api_url: str
    server_url: str
    run_id: str | None
    workspace: Path
    output_path: Path | None
    summary_path: Path | None
    temp_dir: Path
    graphql_url: str | None = None
    state_path: Path | None = None  # the run's state file, for `claude-runner finalize`

    @property
    def ci_run(self) -> CIRun | None:
        """This run, for "view the run" links."""
        if not self.run_id:
            return None
        return CIRun(self.run_id, f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}")


def github_run_env(env: Mapping[str, str]) -> GitHubRunEnv:
    """Read the Actions variables; a missing one is a one-line error naming it."""
    missing = [
        name for name in ("GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_REPOSITORY") if not env.get(name)
    ]
    if missing:
        raise UsageError(
            f"{', '.join(missing)} not set: `claude-runner github` runs inside a GitHub Actions job",
            "use `claude-runner run` outside Actions, or `claude-runner explain` to test a payload",
        )
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    api = env.get("GITHUB_API_URL") or (
        "https://api.github.com" if server == "https://github.com" else f"{server}/api/v3"
    )
    return GitHubRunEnv(
        event_name=env["GITHUB_EVENT_NAME"],
        event_path=Path(env["GITHUB_EVENT_PATH"]),
        repository=env["GITHUB_REPOSITORY"],
        api_url=api.rstrip("/"),
        server_url=server,
        run_id=env.get("GITHUB_RUN_ID"),
        workspace=Path(env.get("GITHUB_WORKSPACE") or os.getcwd()),
        output_path=Path(env["GITHUB_OUTPUT"]) if env.get("GITHUB_OUTPUT") else None,
        summary_path=Path(env["GITHUB_STEP_SUMMARY"]) if env.get("GITHUB_STEP_SUMMARY") else None,
        temp_dir=Path(env.get("RUNNER_TEMP") or "/tmp") / f"claude-runner-{os.urandom(4).hex()}",
        graphql_url=env.get("GITHUB_GRAPHQL_URL") or None,
        # RUNNER_TEMP is the job's own, emptied before and after it: the always() step finds it there.
        state_path=Path(env.get("RUNNER_TEMP") or "/tmp") / STATE_FILE,
    )


@dataclass(frozen=True)
class GitHubJobSettings:
    """Everything ``claude-runner github`` was told, typed."""

    run_env: GitHubRunEnv
    flow: FlowSettings
    agent: RunSettings  # claude_args, parsed with the flags of `claude-runner run`
    runtime: Runtime = field(repr=False)
    api: ApiSettings = field(default_factory=ApiSettings)  # retries of calls to the code host
    ack: AckSettings = field(default_factory=AckSettings)  # how the tracking comment is posted


def read_github_job(env: Mapping[str, str]) -> GitHubJobSettings:
    """Read the step's variables and inputs; bad ones raise a one-line ``UsageError``."""
    run_env = github_run_env(env)
    flow = flow_settings(env)
    agent = with_flow_effort(claude_args_settings(flow.claude_args, env), flow)  # bad flags fail early
    agent = replace(agent, sandbox_by_default=True)  # CI: tools run in the OS sandbox where it works
    return GitHubJobSettings(
        run_env, flow, agent, read_flow_runtime(env, flow), read_api_settings(env), read_ack_settings(env)
    )


def claude_args_settings(claude_args: str, env: Mapping[str, str]) -> RunSettings:
    """``claude_args`` parsed with the flags of ``run`` (``run_flags.parse_claude_args``). Without a
    flag (blank, or only ``#`` comments: most workflows) those flags' defaults, the same settings
    without loading click before the tracking comment."""
    if not any(line.strip() and not line.strip().startswith("#") for line in claude_args.splitlines()):
        return agent_settings({}, env)
    from runner.settings.run_flags import parse_claude_args

    return parse_claude_args(claude_args, env)


@dataclass(frozen=True)
class GitHubFinalizeSettings:
    """What ``claude-runner finalize`` reads in the action's ``if: always()`` step."""

    run_env: GitHubRunEnv
    github_token: str | None = field(default=None, repr=False)
    app_id: str | None = None
    app_private_key: str | None = field(default=None, repr=False)
    job_status: str | None = None  # CLAUDE_RUNNER_JOB_STATUS: the main step's outcome
    retry_base_ms: int = 500  # CLAUDE_RUNNER_RETRY_BASE_MS: the pauses before retrying the comment update
    api: ApiSettings = field(default_factory=ApiSettings)  # CLAUDE_RUNNER_API_*: retries of the update

    @property
    def state_key(self) -> str | None:
        """The key of the state file's HMAC: the credential the main step used."""
        return github_state_key(self.github_token, self.app_private_key)


def github_state_key(github_token: str | None, app_private_key: str | None) -> str | None:
    """The key of the state file's HMAC: the token, or the App's key (its tokens change per step)."""
    return github_token or app_private_key or None


def read_github_finalize(env: Mapping[str, str]) -> GitHubFinalizeSettings:
    """The Actions variables and the credential inputs only: finalize must not fail on an input
    the main step already refused (it then wrote no state, and there is nothing to finish)."""
    raw = read_inputs(env)
    return GitHubFinalizeSettings(
        run_env=github_run_env(env),
        github_token=github_token(raw, env),
        app_id=raw.get("app_id"),
        app_private_key=raw.get("app_private_key"),
        job_status=env.get("CLAUDE_RUNNER_JOB_STATUS", "").strip().lower() or None,
        retry_base_ms=env_int(env, "CLAUDE_RUNNER_RETRY_BASE_MS", 500),
        api=read_api_settings(env),
    )
