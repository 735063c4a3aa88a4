"""GitHub Actions: the job's environment, outputs, step summary and log commands."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from runner.errors import UsageError
from runner.flow.job import Job


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
        temp_dir=Path(env.get("RUNNER_TEMP") or "/tmp") / f"claude-runner-{uuid.uuid4().hex[:8]}",
    )


def github_job(run_env: GitHubRunEnv) -> Job:
    """The ``Job`` for a GitHub Actions step."""
    run_env.temp_dir.mkdir(parents=True, exist_ok=True)
    host = urlparse(run_env.server_url).hostname or "github.com"
    job_url = (
        f"{run_env.server_url}/{run_env.repository}/actions/runs/{run_env.run_id}" if run_env.run_id else None
    )

    def write_outputs(outputs: Mapping[str, str]) -> None:
        if run_env.output_path is None:
            return
        with run_env.output_path.open("a", encoding="utf-8") as fh:
            for name, value in outputs.items():
                if "\n" in value:
                    delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
                    fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
                else:
                    fh.write(f"{name}={value}\n")

    def write_summary(markdown: str) -> None:
        if run_env.summary_path is not None:
            with run_env.summary_path.open("a", encoding="utf-8") as fh:
                fh.write(markdown.rstrip("\n") + "\n")

    def mask(value: str) -> None:
        if value:
            print(f"::add-mask::{value}", flush=True)

    return Job(
        workspace=run_env.workspace,
        temp_dir=run_env.temp_dir,
        repo_url=f"{run_env.server_url}/{run_env.repository}",
        job_url=job_url,
        noreply_domain="users.noreply.github.com" if host == "github.com" else f"users.noreply.{host}",
        write_outputs=write_outputs,
        write_summary=write_summary,
        mask=mask,
        group_start="::group::{}",
        group_end="::endgroup::",
    )


def run_github_job(env: Mapping[str, str]) -> int:
    """``claude-runner github``: from the Actions event to the final comment. Returns the exit code."""
    from runner.cli import parse_claude_args
    from runner.events import NotSupported
    from runner.events.github import load_github_event
    from runner.flow.mention import run_flow
    from runner.platforms.github import GitHubAuth, GitHubPlatform
    from runner.review.run import review_trigger, run_review
    from runner.settings.flow import flow_settings
    from runner.triggers import decide

    run_env = github_run_env(env)
    settings = flow_settings(env)
    for warning in settings.warnings:
        print(f"::warning::{warning}", flush=True)
    agent_params = parse_claude_args(settings.claude_args)  # bad flags fail before anything is posted
    event = load_github_event(run_env.event_name, run_env.event_path, env)
    decision = decide(event, settings.trigger)
    review = review_trigger(event, decision, settings)
    print(review.reason if review else decision.reason, flush=True)
    if isinstance(event, NotSupported) or (review is None and not decision.triggered):
        if run_env.output_path is not None:
            with run_env.output_path.open("a", encoding="utf-8") as fh:
                fh.write("conclusion=skipped\n")
        return 0
    job = github_job(run_env)
    for secret in {settings.github_token, settings.anthropic_api_key, settings.app_private_key} - {None, ""}:
        job.mask(str(secret))
    platform = GitHubPlatform(
        run_env.repository,
        GitHubAuth(settings.github_token, settings.app_id, settings.app_private_key),
        api_url=run_env.api_url,
        server_url=run_env.server_url,
        graphql_url=env.get("GITHUB_GRAPHQL_URL") or None,
    )
    if platform.token != settings.github_token:
        job.mask(platform.token)  # a freshly minted App installation token
    try:
        if review is not None:
            return run_review(event, platform, settings, agent_params, job, env, request=review.request)
        return run_flow(event, decision, platform, settings, agent_params, job, env)
    finally:
        platform.close()
