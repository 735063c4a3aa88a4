"""GitLab CI: ``claude-runner gitlab`` from the job's event to the final note, its outputs and logs.

The job's variables are read by ``runner/settings/gitlab.py``; this module only uses the values.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlparse

from runner.agent.transcript import EXECUTION_ARRAY
from runner.ci import retry_policy
from runner.ci.annotations import gitlab_error_section
from runner.ci.outputs import failed_early
from runner.errors import OutputError, RunnerError, WorkspaceError
from runner.flow.job import Job
from runner.flow.state import StateFile
from runner.settings.gitlab import GitLabFinalizeSettings, GitLabJobSettings, GitLabRunEnv

if TYPE_CHECKING:
    from runner.events import Event

OUTPUTS_FILE = "claude-runner.env"  # for `artifacts: reports: dotenv:`
TRANSCRIPT_FILE = "claude-execution.jsonl"  # for `artifacts: paths:`
REPORT_FILE = "claude-report.md"  # the run report, for `artifacts: paths:`
# Where the work goes when no push worked, next to the checkout so `artifacts: paths:` keeps it
# (the job's temporary directory is removed when the job ends).
# A collapsible section of the job log (GitLab's "custom collapsible sections").
SECTION_START = "\x1b[0Ksection_start:{ts}:{name}[collapsed=true]\r\x1b[0K{0}"
SECTION_END = "\x1b[0Ksection_end:{ts}:{name}\r\x1b[0K"
RESCUE_FILES = {"patch_file": "claude-rescue.patch", "bundle_file": "claude-rescue.bundle"}
KEPT_TRANSCRIPTS = {"execution_file": EXECUTION_ARRAY, "transcript_file": TRANSCRIPT_FILE}


class DotenvOutputs:
    """The job's outputs as a dotenv report (``claude-runner.env``, ``CLAUDE_<NAME>=value``),
    rewritten whole at each write; remembers whether a conclusion was written."""

    def __init__(self, workspace: Path, temp_dir: Path) -> None:
        self.workspace, self.temp_dir = workspace, temp_dir
        self.conclusion: str | None = None
        self.failed: OutputError | None = None  # the first write that failed (the run goes on)

    def write(self, outputs: Mapping[str, str]) -> None:
        """Write the file, and copy the transcript next to it (``artifacts: paths:``).

        A full disk or a read-only checkout must not stop the note from being finalised: the
        failure is shown once, and the job exits with OutputError's code at the end."""
        self.conclusion = outputs.get("conclusion", self.conclusion)
        try:
            outputs = {name: self._keep(name, value) for name, value in outputs.items()}
            lines = [
                f"CLAUDE_{name.upper()}={value.replace(chr(10), ' ')}" for name, value in outputs.items()
            ]
            (self.workspace / OUTPUTS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
            transcript = self.temp_dir / "execution.jsonl"
            if transcript.exists():
                shutil.copyfile(transcript, self.workspace / TRANSCRIPT_FILE)
            array = self.temp_dir / EXECUTION_ARRAY
            if array.exists():
                shutil.copyfile(array, self.workspace / EXECUTION_ARRAY)
        except OSError as exc:
            if self.failed is None:
                self.failed = OutputError(
                    f"could not write the job's outputs in {self.workspace}: {exc.strerror or exc}",
                    "the runner's disk is full or the checkout is not writable; the note and push are done",
                )
                _show_error(self.failed.one_line())

    def write_report(self, markdown: str) -> None:
        """Write the run report next to the checkout (after the commit: it never lands in one)."""
        try:
            (self.workspace / REPORT_FILE).write_text(markdown.rstrip("\n") + "\n", encoding="utf-8")
        except OSError as exc:
            if self.failed is None:
                self.failed = OutputError(
                    f"could not write the run report {self.workspace / REPORT_FILE}: {exc.strerror or exc}",
                    "the runner's disk is full or the checkout is not writable; the note and push are done",
                )
                _show_error(self.failed.one_line())

    def _keep(self, name: str, value: str) -> str:
        """A rescue file or transcript in the temporary directory, copied next to the checkout; its
        new path."""
        kept = {**RESCUE_FILES, **KEPT_TRANSCRIPTS}.get(name)
        source = Path(value) if value and kept else None
        if source is None or not source.is_file() or not source.is_relative_to(self.temp_dir):
            return value
        shutil.copyfile(source, self.workspace / str(kept))
        return str(self.workspace / str(kept))

    def remove_temp_dir(self) -> None:
        """The job's temporary directory is gone when the job ends (what is kept was copied out)."""
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def gitlab_job(run_env: GitLabRunEnv, outputs: DotenvOutputs | None = None) -> Job:
    """The ``Job`` for a GitLab CI job.

    GitLab has no step outputs: they go to a dotenv file (``artifacts: reports: dotenv``),
    written after the runner has committed, so it never lands in a commit. The transcript is
    kept outside the checkout and copied next to it at the end for ``artifacts: paths``.
    """
    outputs = outputs or job_outputs_file(run_env)
    temp_dir = outputs.temp_dir
    host = urlparse(run_env.server_url).hostname or "gitlab.com"

    def write_summary(markdown: str) -> None:
        for line in markdown.splitlines():
            print(line, flush=True)

    return Job(
        workspace=run_env.workspace,
        temp_dir=temp_dir,
        repo_url=run_env.project_url,
        platform="gitlab",
        job_url=run_env.job_url,
        run_id=run_env.ci_variables.job_id,
        noreply_domain=f"users.noreply.{host}",
        write_outputs=outputs.write,
        write_summary=write_summary,
        write_report=outputs.write_report,
        transcript_url=f"{run_env.job_url}/artifacts/file/{TRANSCRIPT_FILE}" if run_env.job_url else None,
        transcript_note=f"`{TRANSCRIPT_FILE}` in the job's artifacts",
        state_file=StateFile(run_env.state_path, run_env.state_key),
        show_error=_show_error,
        group_start=SECTION_START,
        group_end=SECTION_END,
    )


def _show_error(message: str) -> None:
    for line in gitlab_error_section(message):
        print(line, file=sys.stderr, flush=True)


def job_outputs_file(run_env: GitLabRunEnv) -> DotenvOutputs:
    """The outputs of a job, with a temporary directory of its own (outside the checkout) for
    the transcript."""
    temp_dir = Path(tempfile.mkdtemp(prefix=f"claude-runner-{uuid.uuid4().hex[:8]}-"))
    return DotenvOutputs(run_env.workspace, temp_dir)


def run_gitlab(
    run_env: GitLabRunEnv, read_settings: Callable[[], GitLabJobSettings], event_path: Path | None = None
) -> int:
    """``claude-runner gitlab``: read the rest of the settings and run; on every way out (a bad
    variable, a crash) the dotenv report says ``CLAUDE_CONCLUSION`` (``failure`` unless written)."""
    if not run_env.workspace.is_dir():  # GitLab sets CI_PROJECT_DIR to the checkout
        raise WorkspaceError(
            f"CI_PROJECT_DIR ({run_env.workspace}) does not exist or is not a directory",
            "run the job with its checkout (GIT_STRATEGY fetch or clone, not none)",
        )
    outputs = job_outputs_file(run_env)
    try:
        code = run_gitlab_job(read_settings(), event_path, outputs)
        return code or (outputs.failed.exit_code if outputs.failed else 0)
    except RunnerError as exc:  # reported here, once, in a section of its own
        job = gitlab_job(run_env, outputs)
        if outputs.conclusion is None:
            failed_early(job, exc)
        job.error(exc.one_line())
        return exc.exit_code
    except Exception as exc:
        if outputs.conclusion is None:
            failed_early(gitlab_job(run_env, outputs), exc)
        raise
    finally:
        outputs.remove_temp_dir()


def run_gitlab_job(
    job_settings: GitLabJobSettings, event_path: Path | None = None, outputs: DotenvOutputs | None = None
) -> int:
    """``claude-runner gitlab``: from the mention (hook payload or AI_FLOW_* variables) to the final note."""
    from runner.events import Event, NotSupported
    from runner.events.gitlab import load_gitlab_event
    from runner.events.gitlab_flow import gitlab_ci_run, gitlab_event_from_ci
    from runner.flow.dispatch import run_decided
    from runner.flow.trusted import default_branch_tree
    from runner.platforms.gitlab import GitLabPlatform
    from runner.project.trusted_files import read_named_file
    from runner.review.run import review_trigger
    from runner.triggers import decide

    run_env, settings, agent = job_settings.run_env, job_settings.flow, job_settings.agent
    for warning in settings.warnings:
        print(f"warning: {warning}", flush=True)
    trigger = settings.trigger
    event: Event | NotSupported
    if event_path is not None:
        event = load_gitlab_event(
            event_path,
            ci_run=gitlab_ci_run(run_env.ci_variables),
            label_trigger=trigger.label_trigger,
            assignee_trigger=trigger.assignee_trigger,
        )
    elif is_merge_request_pipeline(run_env):
        event = merge_request_pipeline_event(run_env)
    else:
        event = gitlab_event_from_ci(run_env.ci_variables)
    noteable: Literal["merge_request", "issue"] = (
        "merge_request" if isinstance(event, Event) and event.entity_type == "change_request" else "issue"
    )
    job = gitlab_job(run_env, outputs or job_outputs_file(run_env))
    platform = GitLabPlatform(
        run_env.project,
        # The API host can differ from the web host (CI_API_V4_URL vs CI_SERVER_URL behind proxies).
        url=run_env.api_url.removesuffix("/api/v4"),
        token=run_env.access_token,
        job_token=run_env.job_token,
        noteable=noteable if isinstance(event, Event) and event.entity_type else None,
        retry=retry_policy(job_settings.api),
        log=job.log,
    )
    if job_settings.prompt_file:
        on_change = isinstance(event, Event) and event.entity_type == "change_request"
        tree = default_branch_tree(platform, platform.repository(), run_env.workspace) if on_change else None
        prompt = read_named_file(job_settings.prompt_file, "PROMPT_FILE", tree, run_env.workspace)
        settings = replace(settings, trigger=replace(trigger, prompt=prompt))
        trigger = settings.trigger
    decision = decide(event, trigger)
    review = review_trigger(event, decision, settings)
    print(review.reason if review else decision.reason, flush=True)
    if isinstance(event, NotSupported) or (review is None and not decision.triggered):
        job.write_outputs({"conclusion": "skipped"})
        return 0
    return run_decided(event, decision, review, platform, settings, agent, job, job_settings.runtime)


def finalize_gitlab_job(fin: GitLabFinalizeSettings) -> int:
    """``claude-runner finalize`` in the job's ``after_script`` (see ``flow/finalize.py``)."""
    from runner.flow.finalize import finalize
    from runner.flow.finish import retry_delays
    from runner.platforms.gitlab import GitLabPlatform
    from runner.sanitize import Redactor

    run_env = fin.run_env
    job = gitlab_job(run_env)
    return finalize(
        job,
        lambda: GitLabPlatform(
            run_env.project,
            url=run_env.api_url.removesuffix("/api/v4"),
            token=run_env.access_token,
            job_token=run_env.job_token,
            retry=retry_policy(fin.api),
            log=job.log,
        ),
        job_status=fin.job_status,
        retry_delays=retry_delays(fin.retry_base_ms),
        redactor=Redactor([v for v in (run_env.access_token, run_env.job_token) if v]),
    )


def is_merge_request_pipeline(run_env: GitLabRunEnv) -> bool:
    """A merge request pipeline (``CI_PIPELINE_SOURCE=merge_request_event``) not started for a
    mention (no ``AI_FLOW_*`` variables): an automatic review, or the ``prompt`` on the MR."""
    return (
        run_env.pipeline_source == "merge_request_event"
        and run_env.merge_request_iid is not None
        and not run_env.ci_variables.has_flow_event
    )


def merge_request_pipeline_event(run_env: GitLabRunEnv) -> Event:
    """The ``Event`` of a merge request pipeline, from GitLab's predefined ``CI_MERGE_REQUEST_*``
    variables: new commits on the MR (activity ``updated``) by ``GITLAB_USER_LOGIN``."""
    from runner.events import Actor, ChangeRequest, Event, Repository

    owner, _, name = run_env.project_path.rpartition("/")
    mr = run_env.merge_request
    return Event(
        platform="gitlab",
        name="merge_request",
        action="pipeline",
        kind="change_request",
        activity="updated",
        repository=Repository(owner, name, run_env.project_path, run_env.default_branch),
        actor=Actor(mr.user_login, "User") if mr.user_login else None,
        entity_type="change_request",
        number=run_env.merge_request_iid,
        title=mr.title,
        change_request=ChangeRequest(
            head_ref=mr.source_branch,
            head_sha=mr.commit_sha,
            base_ref=mr.target_branch,
            is_fork=bool(mr.source_project_id) and mr.source_project_id != mr.project_id,
            draft=mr.draft,
        ),
    )
