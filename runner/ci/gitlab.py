"""GitLab CI: the job's predefined variables, the mention context, outputs and logs."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from runner.errors import UsageError
from runner.flow.job import Job

if TYPE_CHECKING:
    from runner.events import Event

OUTPUTS_FILE = "claude-runner.env"  # for `artifacts: reports: dotenv:`
TRANSCRIPT_FILE = "claude-execution.jsonl"  # for `artifacts: paths:`


@dataclass(frozen=True)
class GitLabRunEnv:
    """The variables GitLab CI sets for a job (the ones the runner reads)."""

    project: str  # CI_PROJECT_ID (or CI_PROJECT_PATH)
    project_path: str
    server_url: str
    api_url: str
    project_url: str
    job_url: str | None
    workspace: Path
    pipeline_source: str | None
    merge_request_iid: int | None
    default_branch: str | None


def gitlab_run_env(env: Mapping[str, str]) -> GitLabRunEnv:
    """Read the CI variables; a missing one is a one-line error naming it."""
    missing = [name for name in ("CI_PROJECT_ID", "CI_SERVER_URL") if not env.get(name)]
    if missing:
        raise UsageError(
            f"{', '.join(missing)} not set: `claude-runner gitlab` runs inside a GitLab CI job",
            "use `claude-runner run` elsewhere, or `claude-runner explain --platform gitlab` to test a hook",
        )
    server = env["CI_SERVER_URL"].rstrip("/")
    path = env.get("CI_PROJECT_PATH", env["CI_PROJECT_ID"])
    iid = env.get("CI_MERGE_REQUEST_IID", "")
    return GitLabRunEnv(
        project=env["CI_PROJECT_ID"],
        project_path=path,
        server_url=server,
        api_url=(env.get("CI_API_V4_URL") or f"{server}/api/v4").rstrip("/"),
        project_url=(env.get("CI_PROJECT_URL") or f"{server}/{path}").rstrip("/"),
        job_url=env.get("CI_JOB_URL"),
        workspace=Path(env.get("CI_PROJECT_DIR") or os.getcwd()),
        pipeline_source=env.get("CI_PIPELINE_SOURCE"),
        merge_request_iid=int(iid) if iid.isdigit() else None,
        default_branch=env.get("CI_DEFAULT_BRANCH"),
    )


def gitlab_job(run_env: GitLabRunEnv) -> Job:
    """The ``Job`` for a GitLab CI job.

    GitLab has no step outputs: they go to a dotenv file (``artifacts: reports: dotenv``),
    written after the runner has committed, so it never lands in a commit. The transcript is
    kept outside the checkout and copied next to it at the end for ``artifacts: paths``.
    """
    temp_dir = Path(tempfile.mkdtemp(prefix=f"claude-runner-{uuid.uuid4().hex[:8]}-"))
    host = urlparse(run_env.server_url).hostname or "gitlab.com"

    def write_outputs(outputs: Mapping[str, str]) -> None:
        lines = [f"CLAUDE_{name.upper()}={value.replace(chr(10), ' ')}" for name, value in outputs.items()]
        (run_env.workspace / OUTPUTS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
        transcript = temp_dir / "execution.jsonl"
        if transcript.exists():
            shutil.copyfile(transcript, run_env.workspace / TRANSCRIPT_FILE)

    def write_summary(markdown: str) -> None:
        for line in markdown.splitlines():
            print(line, flush=True)

    return Job(
        workspace=run_env.workspace,
        temp_dir=temp_dir,
        repo_url=run_env.project_url,
        platform="gitlab",
        job_url=run_env.job_url,
        noreply_domain=f"users.noreply.{host}",
        write_outputs=write_outputs,
        write_summary=write_summary,
    )


def run_gitlab_job(env: Mapping[str, str], event_path: Path | None = None) -> int:
    """``claude-runner gitlab``: from the mention (hook payload or AI_FLOW_* variables) to the final note."""
    import dataclasses

    from runner.events import NotSupported
    from runner.events.gitlab import gitlab_event_from_ci, load_gitlab_event
    from runner.flow.mention import run_flow
    from runner.platforms.gitlab import GitLabPlatform
    from runner.review.run import review_trigger, run_review
    from runner.settings.flow import flow_settings, read_inputs
    from runner.settings.run_flags import parse_claude_args
    from runner.settings.runtime import read_flow_runtime
    from runner.triggers import decide

    run_env = gitlab_run_env(env)
    settings = flow_settings(env)
    if "pr_mode" not in read_inputs(env):
        settings = dataclasses.replace(settings, pr_mode="draft")  # GitLab: a draft MR by default
    for warning in settings.warnings:
        print(f"warning: {warning}", flush=True)
    agent = dataclasses.replace(parse_claude_args(settings.claude_args, env), **_job_limits(env))
    prompt_file = env.get("PROMPT_FILE", "").strip()
    if prompt_file and not settings.trigger.prompt:
        try:
            prompt = (run_env.workspace / prompt_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"PROMPT_FILE {prompt_file}: {exc.strerror}", "give a path inside the project"
            ) from exc
        settings = dataclasses.replace(settings, trigger=dataclasses.replace(settings.trigger, prompt=prompt))
    trigger = settings.trigger
    event: Event | NotSupported
    if event_path is not None:
        event = load_gitlab_event(
            event_path, env, label_trigger=trigger.label_trigger, assignee_trigger=trigger.assignee_trigger
        )
    elif is_merge_request_pipeline(env, run_env):
        event = merge_request_pipeline_event(env, run_env)
    else:
        event = gitlab_event_from_ci(env)
    decision = decide(event, trigger)
    review = review_trigger(event, decision, settings)
    print(review.reason if review else decision.reason, flush=True)
    if isinstance(event, NotSupported) or (review is None and not decision.triggered):
        return 0
    token = env.get("GITLAB_ACCESS_TOKEN") or None
    job_token = env.get("CI_JOB_TOKEN") or None
    noteable: Literal["merge_request", "issue"] = (
        "merge_request" if event.entity_type == "change_request" else "issue"
    )
    platform = GitLabPlatform(
        run_env.project,
        # The API host can differ from the web host (CI_API_V4_URL vs CI_SERVER_URL behind proxies).
        url=run_env.api_url.removesuffix("/api/v4"),
        token=token,
        job_token=job_token,
        noteable=noteable if event.entity_type else None,
    )
    job = gitlab_job(run_env)
    runtime = read_flow_runtime(env, settings)
    try:
        if review is not None:
            return run_review(event, platform, settings, agent, job, runtime, request=review.request)
        return run_flow(event, decision, platform, settings, agent, job, runtime)
    finally:
        platform.close()


def is_merge_request_pipeline(env: Mapping[str, str], run_env: GitLabRunEnv) -> bool:
    """A merge request pipeline (``CI_PIPELINE_SOURCE=merge_request_event``) not started for a
    mention (no ``AI_FLOW_*`` variables): an automatic review, or the ``prompt`` on the MR."""
    mention = env.get("AI_FLOW_INPUT") is not None or bool(env.get("AI_FLOW_CONTEXT", "").strip())
    return (
        run_env.pipeline_source == "merge_request_event"
        and run_env.merge_request_iid is not None
        and not mention
    )


def merge_request_pipeline_event(env: Mapping[str, str], run_env: GitLabRunEnv) -> Event:
    """The ``Event`` of a merge request pipeline, from GitLab's predefined ``CI_MERGE_REQUEST_*``
    variables: new commits on the MR (activity ``updated``) by ``GITLAB_USER_LOGIN``."""
    from runner.events import Actor, ChangeRequest, Event, Repository

    owner, _, name = run_env.project_path.rpartition("/")
    login = env.get("GITLAB_USER_LOGIN", "").strip()
    source = env.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "")
    return Event(
        platform="gitlab",
        name="merge_request",
        action="pipeline",
        kind="change_request",
        activity="updated",
        repository=Repository(owner, name, run_env.project_path, run_env.default_branch),
        actor=Actor(login, "User") if login else None,
        entity_type="change_request",
        number=run_env.merge_request_iid,
        title=env.get("CI_MERGE_REQUEST_TITLE"),
        change_request=ChangeRequest(
            head_ref=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or None,
            head_sha=env.get("CI_COMMIT_SHA") or None,
            base_ref=env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME") or None,
            is_fork=bool(source) and source != env.get("CI_MERGE_REQUEST_PROJECT_ID", run_env.project),
            draft=env.get("CI_MERGE_REQUEST_DRAFT", "").lower() == "true",
        ),
    )


def _job_limits(env: Mapping[str, str]) -> dict[str, Any]:
    """``MAX_TURNS`` and ``TIMEOUT_MINUTES`` job variables (claude_args can say the same)."""
    limits: dict[str, Any] = {}
    for name, key, kind in (("MAX_TURNS", "max_turns", int), ("TIMEOUT_MINUTES", "timeout_minutes", float)):
        raw = env.get(name, "").strip()
        if not raw:
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise UsageError(f"{name} must be a number (got {raw!r})") from None
        if value <= 0:
            raise UsageError(f"{name} must be greater than 0 (got {raw})")
        limits[key] = value
    return limits
