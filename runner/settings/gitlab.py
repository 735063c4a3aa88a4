"""GitLab CI's variables for one job, read once into frozen values.

Three readers, because the job needs them at different moments and a bad value must fail where it
always has: ``read_gitlab_run_env`` (the predefined ``CI_*`` variables; refuses to run outside a
job), ``read_gitlab_job_variables`` (``MAX_TURNS``, ``TIMEOUT_MINUTES``, ``PROMPT_FILE``, checked
after the flow's inputs) and ``read_gitlab_ci_variables`` (the ``AI_FLOW_*`` variables and the
project and job links an event is built from; also usable outside a job).

Values are kept as GitLab set them (an empty variable stays ``""``, an unset one is ``None``):
the modules that use them decide what an empty one means, as they did when they read it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from runner.errors import UsageError
from runner.settings.api import ApiSettings, read_api_settings
from runner.settings.duo import duo_environ
from runner.settings.flow import FlowSettings, flow_settings, read_inputs, with_flow_effort
from runner.settings.run import RunSettings, env_int
from runner.settings.run_flags import parse_claude_args
from runner.settings.runtime import Runtime, read_flow_runtime

_Number = TypeVar("_Number", int, float)
STATE_FILE = "claude-runner-state.json"  # in $CI_PROJECT_DIR/.git


@dataclass(frozen=True)
class GitLabCiVariables:
    """What a job's variables say about the event it runs for: ``AI_FLOW_*`` and the project/job links.

    ``AI_FLOW_*`` are set by GitLab's AI flows and by our listener (``runner/webhook/decision.py``);
    the ``CI_*`` ones are GitLab's predefined variables.
    """

    ai_flow_context: str = ""  # AI_FLOW_CONTEXT: a JSON object, as text ("" when unset)
    ai_flow_input: str | None = None  # AI_FLOW_INPUT: the comment text; None when unset ("" is a value)
    ai_flow_event: str = ""  # AI_FLOW_EVENT, stripped: "mention" or a hook's object kind
    project_path: str | None = None  # CI_PROJECT_PATH
    project_visibility: str | None = None  # CI_PROJECT_VISIBILITY: public, internal or private
    default_branch: str | None = None  # CI_DEFAULT_BRANCH
    project_url: str | None = None  # CI_PROJECT_URL
    job_id: str | None = None  # CI_JOB_ID
    pipeline_id: str | None = None  # CI_PIPELINE_ID
    job_url: str | None = None  # CI_JOB_URL
    pipeline_url: str | None = None  # CI_PIPELINE_URL

    @property
    def has_flow_event(self) -> bool:
        """Whether the ``AI_FLOW_*`` variables describe an event (the job was started for a request)."""
        return self.ai_flow_input is not None or bool(self.ai_flow_context.strip())


def read_gitlab_ci_variables(env: Mapping[str, str]) -> GitLabCiVariables:
    """The ``AI_FLOW_*`` and project/job variables; never fails (an absent one reads as unset)."""
    return GitLabCiVariables(
        ai_flow_context=env.get("AI_FLOW_CONTEXT", ""),
        ai_flow_input=env.get("AI_FLOW_INPUT"),
        ai_flow_event=(env.get("AI_FLOW_EVENT") or "").strip(),
        project_path=env.get("CI_PROJECT_PATH"),
        project_visibility=env.get("CI_PROJECT_VISIBILITY"),
        default_branch=env.get("CI_DEFAULT_BRANCH"),
        project_url=env.get("CI_PROJECT_URL"),
        job_id=env.get("CI_JOB_ID"),
        pipeline_id=env.get("CI_PIPELINE_ID"),
        job_url=env.get("CI_JOB_URL"),
        pipeline_url=env.get("CI_PIPELINE_URL"),
    )


@dataclass(frozen=True)
class MergeRequestPipelineVariables:
    """GitLab's ``CI_MERGE_REQUEST_*`` variables (set in merge request pipelines), and who started it."""

    title: str | None = None  # CI_MERGE_REQUEST_TITLE
    source_branch: str | None = None  # CI_MERGE_REQUEST_SOURCE_BRANCH_NAME
    target_branch: str | None = None  # CI_MERGE_REQUEST_TARGET_BRANCH_NAME
    commit_sha: str | None = None  # CI_COMMIT_SHA
    source_project_id: str = ""  # CI_MERGE_REQUEST_SOURCE_PROJECT_ID
    project_id: str = ""  # CI_MERGE_REQUEST_PROJECT_ID, else the job's CI_PROJECT_ID
    draft: bool = False  # CI_MERGE_REQUEST_DRAFT == "true"
    user_login: str = ""  # GITLAB_USER_LOGIN, stripped: who started the pipeline


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
    access_token: str | None = field(default=None, repr=False)  # GITLAB_ACCESS_TOKEN
    job_token: str | None = field(default=None, repr=False)  # CI_JOB_TOKEN
    merge_request: MergeRequestPipelineVariables = field(default_factory=MergeRequestPipelineVariables)
    ci_variables: GitLabCiVariables = field(default_factory=GitLabCiVariables)

    @property
    def state_path(self) -> Path:
        """The run's state file, for ``claude-runner finalize`` in ``after_script``: in the
        checkout's ``.git`` directory, which ``script`` and ``after_script`` share on every
        executor, the job's user can write, ``git add -A`` never commits and the next job's
        ``git clean`` keeps (a file from an earlier job names that job's ``CI_JOB_ID``: ignored)."""
        return self.workspace / ".git" / STATE_FILE

    @property
    def state_key(self) -> str | None:
        """The key of the state file's HMAC: the credential the job uses."""
        return self.access_token or self.job_token


def read_gitlab_run_env(env: Mapping[str, str]) -> GitLabRunEnv:
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
        access_token=env.get("GITLAB_ACCESS_TOKEN") or None,
        job_token=env.get("CI_JOB_TOKEN") or None,
        merge_request=MergeRequestPipelineVariables(
            title=env.get("CI_MERGE_REQUEST_TITLE"),
            source_branch=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or None,
            target_branch=env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME") or None,
            commit_sha=env.get("CI_COMMIT_SHA") or None,
            source_project_id=env.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", ""),
            project_id=env.get("CI_MERGE_REQUEST_PROJECT_ID", env["CI_PROJECT_ID"]),
            draft=env.get("CI_MERGE_REQUEST_DRAFT", "").lower() == "true",
            user_login=env.get("GITLAB_USER_LOGIN", "").strip(),
        ),
        ci_variables=read_gitlab_ci_variables(env),
    )


@dataclass(frozen=True)
class GitLabJobVariables:
    """The job variables of ``claude-runner gitlab`` that are not action inputs."""

    max_turns: int | None = None  # MAX_TURNS
    timeout_minutes: float | None = None  # TIMEOUT_MINUTES
    prompt_file: str = ""  # PROMPT_FILE, stripped: the prompt, from a file in the project

    def applied_to(self, agent: RunSettings) -> RunSettings:
        """``agent`` with the limits that were set (they win over ``claude_args``)."""
        return replace(
            agent,
            max_turns=self.max_turns if self.max_turns is not None else agent.max_turns,
            timeout_minutes=(
                self.timeout_minutes if self.timeout_minutes is not None else agent.timeout_minutes
            ),
        )


def read_gitlab_job_variables(env: Mapping[str, str]) -> GitLabJobVariables:
    """``MAX_TURNS``, ``TIMEOUT_MINUTES`` and ``PROMPT_FILE``; a bad limit is a one-line ``UsageError``."""
    return GitLabJobVariables(
        max_turns=_positive_number(env, "MAX_TURNS", int),
        timeout_minutes=_positive_number(env, "TIMEOUT_MINUTES", float),
        prompt_file=env.get("PROMPT_FILE", "").strip(),
    )


def _positive_number(env: Mapping[str, str], name: str, kind: type[_Number]) -> _Number | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise UsageError(f"{name} must be a number (got {raw!r})") from None
    if value <= 0:
        raise UsageError(f"{name} must be greater than 0 (got {raw})")
    return value


@dataclass(frozen=True)
class GitLabJobSettings:
    """Everything ``claude-runner gitlab`` was told, typed."""

    run_env: GitLabRunEnv
    flow: FlowSettings
    agent: RunSettings  # claude_args with the MAX_TURNS / TIMEOUT_MINUTES job variables applied
    runtime: Runtime = field(repr=False)
    api: ApiSettings = field(default_factory=ApiSettings)  # retries of calls to the code host
    # PROMPT_FILE when no PROMPT is given: read once the event is known, from the default branch on
    # a merge request (project/trusted_files.py), never from the change's head
    prompt_file: str = ""


def read_gitlab_job(env: Mapping[str, str]) -> GitLabJobSettings:
    """Read the job's variables; a bad one raises a one-line ``UsageError``.

    Errors come in the order they always have: CI variables, inputs, ``claude_args``, the job's
    own limits. ``PROMPT_FILE`` is read later, where the event says which tree it comes from.
    """
    env = duo_environ(env)  # a Duo flow's gateway token and GitLab token, as the usual variables
    run_env = read_gitlab_run_env(env)
    flow = flow_settings(env)
    if "pr_mode" not in read_inputs(env):
        flow = replace(flow, pr_mode="draft")  # GitLab: a draft MR by default
    confidential_mr = env.get("CONFIDENTIAL_ISSUE_MR", "").strip().lower()
    if confidential_mr not in ("", "true", "false", "1", "0", "yes", "no"):
        raise UsageError(f"CONFIDENTIAL_ISSUE_MR must be true or false (got {confidential_mr!r})")
    flow = replace(flow, confidential_issue_mr=confidential_mr in ("true", "1", "yes"))
    claude_args = with_flow_effort(parse_claude_args(flow.claude_args, env), flow)
    job_variables = read_gitlab_job_variables(env)
    agent = replace(job_variables.applied_to(claude_args), sandbox_by_default=True)  # CI: the OS sandbox
    prompt_file = "" if flow.trigger.prompt else job_variables.prompt_file
    runtime = read_flow_runtime(env, flow)
    return GitLabJobSettings(run_env, flow, agent, runtime, read_api_settings(env), prompt_file)


@dataclass(frozen=True)
class GitLabFinalizeSettings:
    """What ``claude-runner finalize`` reads in ``after_script``."""

    run_env: GitLabRunEnv
    job_status: str | None = None  # CI_JOB_STATUS: success, failed or canceled
    retry_base_ms: int = 500  # CLAUDE_RUNNER_RETRY_BASE_MS: the pauses before retrying the comment update
    api: ApiSettings = field(default_factory=ApiSettings)  # CLAUDE_RUNNER_API_*: retries of the update


def read_gitlab_finalize(env: Mapping[str, str]) -> GitLabFinalizeSettings:
    """The CI variables only: finalize must not fail on a job variable the main step already
    refused (it then wrote no state, and there is nothing to finish)."""
    return GitLabFinalizeSettings(
        run_env=read_gitlab_run_env(duo_environ(env)),
        job_status=env.get("CI_JOB_STATUS", "").strip().lower() or None,
        retry_base_ms=env_int(env, "CLAUDE_RUNNER_RETRY_BASE_MS", 500),
        api=read_api_settings(env),
    )
