"""GitHub Actions: the job's environment, outputs, step summary and log commands."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from runner.ci import retry_policy
from runner.ci.annotations import github_annotation
from runner.ci.outputs import failed_early
from runner.ci.quick_finish import finish_quick_comment
from runner.errors import OutputError, RunnerError
from runner.flow.job import Job
from runner.flow.state import StateFile
from runner.settings.api import ApiSettings
from runner.settings.github import GitHubFinalizeSettings, GitHubJobSettings, GitHubRunEnv, github_state_key

if TYPE_CHECKING:
    from runner.events import Event
    from runner.flow.ack import Acknowledgement
    from runner.platforms.github import GitHubPlatform
    from runner.quick.handover import Handover
    from runner.triggers import Decision


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class ActionsOutputs:
    """The step's outputs file (``$GITHUB_OUTPUT``); remembers whether a conclusion was written."""

    def __init__(self, path: Path | None, summary_path: Path | None = None) -> None:
        self.path, self.summary_path = path, summary_path
        self.conclusion: str | None = None
        self.failed: OutputError | None = None  # the first write that failed (the run goes on)

    def write(self, outputs: Mapping[str, str]) -> None:
        """Append ``outputs`` (multi-line values with a random delimiter)."""
        self.conclusion = outputs.get("conclusion", self.conclusion)
        if self.path is None:
            return
        lines = []
        for name, value in outputs.items():
            if "\n" in value:
                delimiter = f"ghadelimiter_{os.urandom(16).hex()}"
                lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
            else:
                lines.append(f"{name}={value}\n")
        self._append(self.path, "".join(lines), "GITHUB_OUTPUT")

    def write_summary(self, markdown: str) -> None:
        """Append to the step summary (``$GITHUB_STEP_SUMMARY``)."""
        if self.summary_path is not None:
            self._append(self.summary_path, markdown.rstrip("\n") + "\n", "GITHUB_STEP_SUMMARY")

    def _append(self, path: Path, text: str, variable: str) -> None:
        # A full disk or a read-only file must not stop the comment from being finalised: the
        # failure is reported once, and the job exits with OutputError's code at the end.
        try:
            with path.open("a", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            if self.failed is None:
                self.failed = OutputError(
                    f"could not write ${variable} ({path}): {exc.strerror or exc}",
                    "the runner's disk is full or the file is not writable; the comment and push are done",
                )
                _stderr(github_annotation("error", self.failed.one_line()))


def github_job(
    run_env: GitHubRunEnv, outputs: ActionsOutputs | None = None, state_key: str | None = None
) -> Job:
    """The ``Job`` for a GitHub Actions step (``state_key``: the HMAC key of its state file)."""
    run_env.temp_dir.mkdir(parents=True, exist_ok=True)
    host = urlparse(run_env.server_url).hostname or "github.com"
    job_url = (
        f"{run_env.server_url}/{run_env.repository}/actions/runs/{run_env.run_id}" if run_env.run_id else None
    )
    outputs = outputs or ActionsOutputs(run_env.output_path, run_env.summary_path)
    outputs.summary_path = run_env.summary_path

    def mask(value: str) -> None:
        for line in value.splitlines():  # ::add-mask:: takes one line: a PEM key is masked line by line
            if line.strip():
                print(f"::add-mask::{line}", flush=True)

    return Job(
        workspace=run_env.workspace,
        temp_dir=run_env.temp_dir,
        repo_url=f"{run_env.server_url}/{run_env.repository}",
        job_url=job_url,
        run_id=run_env.run_id,
        noreply_domain="users.noreply.github.com" if host == "github.com" else f"users.noreply.{host}",
        write_outputs=outputs.write,
        write_summary=outputs.write_summary,
        mask=mask,
        show_error=lambda message: _stderr(github_annotation("error", message)),
        show_warning=lambda message: _stderr(github_annotation("warning", message)),
        transcript_note="the step's `transcript_file` output (upload it with `actions/upload-artifact`)",
        group_start="::group::{}",
        group_end="::endgroup::",
        state_file=StateFile(run_env.state_path, state_key) if run_env.state_path else None,
    )


def run_github(
    run_env: GitHubRunEnv, read_settings: Callable[[], GitHubJobSettings], handover: Handover | None = None
) -> int:
    """``claude-runner github``: read the rest of the settings and run; on every way out (a bad
    input, a crash) the step's outputs say ``conclusion`` (``failure`` unless written already).
    ``handover``: what the quick acknowledgement did (``runner/quick/``); a tracking comment it
    posted that the run never took over says the error (``ci/quick_finish.py``)."""
    outputs = ActionsOutputs(run_env.output_path, run_env.summary_path)
    taken: list[bool] = []  # the flow took the quick acknowledgement's comment over
    try:
        code = run_github_job(read_settings(), outputs, handover, taken)
        return code or (outputs.failed.exit_code if outputs.failed else 0)
    except RunnerError as exc:  # reported here, once, as an annotation
        job = github_job(run_env, outputs)
        if outputs.conclusion is None:
            failed_early(job, exc)
        job.error(exc.one_line())
        if handover is not None and not taken:
            finish_quick_comment(run_env, handover, exc.one_line(), job)
        return exc.exit_code
    except Exception as exc:
        job = github_job(run_env, outputs)
        if outputs.conclusion is None:
            failed_early(job, exc)
        if handover is not None and not taken:
            finish_quick_comment(run_env, handover, f"internal error: {type(exc).__name__}: {exc}", job)
        raise


def run_github_job(
    job_settings: GitHubJobSettings,
    outputs: ActionsOutputs | None = None,
    handover: Handover | None = None,
    taken: list[bool] | None = None,
) -> int:
    """``claude-runner github``: from the Actions event to the final comment. Returns the exit code.
    ``handover``: the quick acknowledgement's (``runner/quick/``); ``taken`` gets an item once the
    flow holds its tracking comment (it finalises it then, however the run ends)."""
    from runner.events import NotSupported
    from runner.events.github import load_github_event
    from runner.review.trigger import review_trigger
    from runner.triggers import decide

    run_env, settings, runtime = job_settings.run_env, job_settings.flow, job_settings.runtime
    for warning in settings.warnings:
        print(github_annotation("warning", warning), flush=True)
    event = load_github_event(run_env.event_name, run_env.event_path, run_env.ci_run)
    decision = decide(event, settings.trigger)
    review = review_trigger(event, decision, settings)
    print(review.reason if review else decision.reason, flush=True)
    outputs = outputs or ActionsOutputs(run_env.output_path)
    small = review is None and job_settings.ack.small_client and bool(settings.github_token)
    posted = handover is not None and (handover.posted or handover.uncertain)
    if posted and (isinstance(event, NotSupported) or not decision.triggered or not small):
        from runner.flow.ack import Disagreement

        raise Disagreement("the quick acknowledgement posted a tracking comment this run would not post")
    if isinstance(event, NotSupported) or (review is None and not decision.triggered):
        outputs.write({"conclusion": "skipped"})
        return 0
    job = github_job(run_env, outputs, github_state_key(settings.github_token, settings.app_private_key))
    credentials = (settings.github_token, settings.anthropic_api_key, settings.app_private_key)
    for secret in {*credentials, settings.oauth_token, settings.ssh_signing_key} - {None, ""}:
        job.mask(str(secret))
    ack = None
    if small:
        ack = _acknowledge(job_settings, event, decision, job, handover)
        if taken is not None and ack.tracker is not None and ack.tracker.ref is not None:
            taken.append(True)  # the flow finalises it from here on (the state file names it too)
        if ack.stop is not None:
            return ack.stop
    platform = _platform(
        run_env, job, settings.github_token, settings.app_id, settings.app_private_key, job_settings.api
    )
    from runner.flow.dispatch import run_decided

    return run_decided(event, decision, review, platform, settings, job_settings.agent, job, runtime, ack)


def _acknowledge(
    job_settings: GitHubJobSettings, event: Event, decision: Decision, job: Job, handover: Handover | None
) -> Acknowledgement:
    """Check the provider and who asked, and post the tracking comment, with the small client
    (``flow/ack.py``); the rest of the run loads meanwhile."""
    from runner.flow.admit import EarlyPermission, permission_needed
    from runner.platforms.github_ack import GitHubAckClient

    settings, run_env, api = job_settings.flow, job_settings.run_env, job_settings.api
    client = GitHubAckClient(
        run_env.repository,
        settings.github_token or "",
        api_url=run_env.api_url,
        retry=retry_policy(job_settings.api),
        log=job.log,
        ca_bundle=job_settings.ack.ca_bundle,
    )
    # Who asked is known: their permission is asked now, while the rest of the acknowledgement loads.
    login = permission_needed(event, settings)
    asked = handover is not None and handover.login == login and handover.level is not None
    early = EarlyPermission(client, login) if login is not None and not asked else None
    from runner.flow.ack import FLOW_MODULES, Prefetch, acknowledge

    prefetch = Prefetch(FLOW_MODULES)
    try:
        return acknowledge(
            event,
            decision,
            client,
            settings,
            job_settings.runtime,
            job,
            prefetch=prefetch,
            audit_path=job_settings.ack.audit_path,
            permissions=early,
            # A refused requester's reply reads the thread first: through PyGithub, loaded for it.
            replies_through=lambda: _platform(
                run_env, job, settings.github_token, settings.app_id, settings.app_private_key, api
            ),
            handover=handover,
        )
    finally:
        if early is not None:
            early.wait()
        client.close()
        prefetch.wait()


def finalize_github_job(fin: GitHubFinalizeSettings) -> int:
    """``claude-runner finalize`` in the action's ``if: always()`` step (see ``flow/finalize.py``)."""
    from runner.flow.finalize import finalize
    from runner.flow.finish import retry_delays
    from runner.sanitize import Redactor

    run_env = fin.run_env
    job = github_job(run_env, state_key=fin.state_key)
    for secret in {fin.github_token, fin.app_private_key} - {None, ""}:
        job.mask(str(secret))
    return finalize(
        job,
        lambda: _platform(run_env, job, fin.github_token, fin.app_id, fin.app_private_key, fin.api),
        job_status=fin.job_status,
        retry_delays=retry_delays(fin.retry_base_ms),
        redactor=Redactor([v for v in (fin.github_token, fin.app_private_key) if v]),
    )


def _platform(
    run_env: GitHubRunEnv,
    job: Job,
    token: str | None,
    app_id: str | None,
    app_key: str | None,
    api: ApiSettings,
) -> GitHubPlatform:
    from runner.platforms.github import GitHubAuth, GitHubPlatform

    platform = GitHubPlatform(
        run_env.repository,
        GitHubAuth(token, app_id, app_key),
        api_url=run_env.api_url,
        server_url=run_env.server_url,
        graphql_url=run_env.graphql_url,
        retry=retry_policy(api),
        log=job.log,
        on_token=job.mask,  # every App installation token minted (one an hour on long runs)
    )
    if platform.token != token:
        job.mask(platform.token)  # a freshly minted App installation token
    return platform
