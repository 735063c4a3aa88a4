"""GitHub Actions: the job's environment, outputs, step summary and log commands."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from urllib.parse import urlparse

from runner.flow.job import Job
from runner.settings.github import GitHubJobSettings, GitHubRunEnv


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
        for line in value.splitlines():  # ::add-mask:: takes one line: a PEM key is masked line by line
            if line.strip():
                print(f"::add-mask::{line}", flush=True)

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


def run_github_job(job_settings: GitHubJobSettings) -> int:
    """``claude-runner github``: from the Actions event to the final comment. Returns the exit code."""
    from runner.events import NotSupported
    from runner.events.github import load_github_event
    from runner.flow.mention import run_flow
    from runner.platforms.github import GitHubAuth, GitHubPlatform
    from runner.review.run import review_trigger, run_review
    from runner.triggers import decide

    run_env, settings, runtime = job_settings.run_env, job_settings.flow, job_settings.runtime
    for warning in settings.warnings:
        print(f"::warning::{warning}", flush=True)
    event = load_github_event(run_env.event_name, run_env.event_path, run_env.ci_run)
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
        graphql_url=run_env.graphql_url,
    )
    if platform.token != settings.github_token:
        job.mask(platform.token)  # a freshly minted App installation token
    agent = job_settings.agent
    try:
        if review is not None:
            return run_review(event, platform, settings, agent, job, runtime, request=review.request)
        return run_flow(event, decision, platform, settings, agent, job, runtime)
    finally:
        platform.close()
