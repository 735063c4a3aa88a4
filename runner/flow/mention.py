"""One run from a decided event to a final comment, for any platform.

Order matters: the model provider is checked first (settings, OIDC token, credentials: the
doctor's steps 1-3), so a misconfigured workflow fails before it posts anything; who asked is
checked before anything costs money; the tracking comment is posted before context is
gathered; and from then on every way out (success, a model error, a crash, a cancelled job)
finalises the comment and saves whatever the agent changed.
"""

from __future__ import annotations

import dataclasses
import io
import time
from datetime import UTC, datetime
from pathlib import Path

from runner import git
from runner.agent.cancel import CancelToken, Interrupted
from runner.agent.headless import execute_run, exit_code, graceful_signals, prepare_run
from runner.agent.live_log import LiveLog, tee
from runner.agent.prompt import trusted_memory
from runner.agent.tools.todo import TodoWrite
from runner.agent.transcript import EventSink, opening_messages
from runner.errors import RunnerError
from runner.events import ChangeRequest, Event
from runner.flow.ack import Acknowledgement, new_tracker
from runner.flow.admit import admit, authorize, check_provider
from runner.flow.cleanup import Cleanup
from runner.flow.context import Context, build_context
from runner.flow.extensions import run_extensions
from runner.flow.finish import RunEnd, finish_run, retry_delays, work_fields
from runner.flow.images import gather_images, with_images
from runner.flow.inline_flush import classify_inline_comments
from runner.flow.job import Job
from runner.flow.prompts import render
from runner.flow.publish import RunProgress, UpdateProgressTool, publish_work
from runner.flow.readonly import READ_ONLY_GIT
from runner.flow.state import RunRecord, RunState
from runner.flow.tools import platform_toolset, run_facts, with_toolset
from runner.flow.tracker import Tracker
from runner.flow.trusted import PROJECT_SETTINGS, default_branch_agents, default_branch_tree, trusted_agent
from runner.flow.workspace import WorkspacePlan, change_diff, plan_workspace, prepare
from runner.platforms.base import Platform, RepoInfo, ThreadData
from runner.sanitize import Redactor, clean_untrusted
from runner.settings.flow import FlowSettings
from runner.settings.run import RunSettings
from runner.settings.runtime import Runtime
from runner.telemetry.setup import open_telemetry
from runner.triggers import Decision

TRUSTED_FILES = (".claude/settings.json", "CLAUDE.md", ".claude/CLAUDE.md", ".mcp.json")


def run_flow(
    event: Event,
    decision: Decision,
    platform: Platform,
    settings: FlowSettings,
    agent: RunSettings,
    job: Job,
    runtime: Runtime,
    ack: Acknowledgement | None = None,
) -> int:
    """Check the provider, authorize, acknowledge, gather, run, publish. Returns the exit code.

    ``agent``: the run settings from ``claude_args`` (the flow fills in prompt and workspace).
    ``ack``: the acknowledgement made already (``flow/ack.py``), which replaces the first three.
    Posting the tracking comment is part of the protected run: whatever fails or stops it,
    ``finish_run`` saves the work, writes the outputs and summary, and finalises the comment.
    """
    if ack is None:
        redactor, stop = admit(platform, event, settings, runtime, job, asked=decision.mode == "tag")
        if stop is not None:
            return stop
        tracker = new_tracker(event, decision, platform, settings, job, redactor)
        ack = Acknowledgement(redactor, tracker=tracker)
    redactor, tracker = ack.redactor, ack.on(platform)
    requester = event.actor.login if event.actor else "workflow"
    if tracker is not None:
        tracker.retry_delays = retry_delays(agent.retry_base_ms)
    started = time.monotonic()
    progress = RunProgress(links=[("View job", job.job_url)] if job.job_url else [])
    state = RunState(job.platform, job.repo_url, job.run_id, job.job_url, requester, number=event.number)
    record = RunRecord(job.state_file, state, job.log)
    record.observer = open_telemetry(runtime.telemetry, job.warning, redactor, job=state.span_attributes())
    cancel = CancelToken()
    cleanup = Cleanup(job.log)
    end = RunEnd()
    with cleanup.signals():
        try:
            with graceful_signals(cancel):
                if tracker is not None:
                    job.log(f"tracking comment: {ack.comment().url}")
                record.phase("acknowledged", comment=tracker.ref if tracker else None)
                _run(
                    event,
                    decision,
                    platform,
                    settings,
                    agent,
                    job,
                    runtime,
                    tracker,
                    progress,
                    cancel,
                    redactor,
                    record,
                )
            result = progress.result or {}
            if result.get("is_error"):
                errors = "; ".join(result.get("errors") or [str(result.get("subtype"))])
                end = RunEnd(errors, progress.exit_code or 1)  # the same code `run` exits with
        except Interrupted as exc:
            end = RunEnd(f"the job was cancelled ({exc})")
        except RunnerError as exc:
            end = RunEnd(exc.one_line(), exc.exit_code)
        except Exception as exc:  # a bug: still finalise the comment and save the work
            end = RunEnd(f"internal error: {type(exc).__name__}: {exc}")
        end = dataclasses.replace(end, cancelled=cancel.reason is not None and end.error is not None)
        return finish_run(
            platform=platform,
            settings=settings,
            job=job,
            event=event,
            progress=progress,
            tracker=tracker,
            record=record,
            cleanup=cleanup,
            redactor=redactor,
            requester=requester,
            started=started,
            end=end,
        )


def _run(
    event: Event,
    decision: Decision,
    platform: Platform,
    settings: FlowSettings,
    agent: RunSettings,
    job: Job,
    runtime: Runtime,
    tracker: Tracker | None,
    progress: RunProgress,
    cancel: CancelToken,
    redactor: Redactor,
    record: RunRecord,
) -> None:
    repo = platform.repository()
    record.phase("gathering")
    with job.group("Trusted configuration from " + repo.default_branch):
        trusted = {path: platform.read_file(path, repo.default_branch) for path in TRUSTED_FILES}
        templates = {
            name: platform.read_file(path, repo.default_branch) if path else None
            for name, path in (("prompt", settings.prompt_template), ("comment", settings.comment_template))
        }
        if tracker is not None:
            tracker.template = templates["comment"]
        found = [p for p, text in trusted.items() if text is not None]
        job.log("read " + ", ".join(found) if found else f"none of {', '.join(TRUSTED_FILES)} exists there")
        agents = default_branch_agents(platform, repo.default_branch, agent, job.warning)
        job.log(f"subagents: {', '.join(a.name for a in agents)}" if agents else "no project subagents")
    thread = None
    if event.number is not None and event.entity_type is not None:
        with job.group("Context"):
            thread = platform.fetch_thread(event.number, event.entity_type == "change_request")
            job.log(
                f"{len(thread.comments)} comments, {len(thread.files)} files, {thread.api_requests} requests"
            )
            progress.files = thread.files
        if thread.is_pull_request:
            # Comment events carry no branch facts; the fetched pull request is the truth.
            event = dataclasses.replace(
                event,
                change_request=ChangeRequest(
                    head_ref=thread.head_ref,
                    head_sha=thread.head_sha,
                    head_repo=thread.head_repo,
                    base_ref=thread.base_ref,
                    base_sha=thread.base_sha,
                    is_fork=thread.is_fork,
                    draft=thread.draft,
                    state=thread.state,
                ),
            )
    # A confidential issue (or an internal note): its text stays out of the job log, and unless
    # confidential_issue_mr allows it, out of the branch name, the commit and a merge request.
    secret = event.confidential or (thread is not None and thread.confidential)
    progress.confidential = secret
    with job.group("Workspace"):
        plan = plan_workspace(
            event,
            repo,
            now=datetime.now(UTC),
            branch_prefix=settings.branch_prefix,
            branch_template=settings.branch_name_template,
            base_branch=settings.base_branch,
            confidential=secret and not settings.confidential_issue_mr,
        )
        progress.plan = plan
        record.update(planned_branch=plan.branch)
        job.log(plan.reason)
        target = platform.push_target()
        # A fork's head lives in the target repository under a host-specific ref.
        change_ref = platform.change_head_ref(event.number) if plan.suggest and event.number else None
        progress.start_sha = prepare(plan, job.workspace, target, change_ref=change_ref)
        progress.fingerprint = git.config_fingerprint(job.workspace)
        diff = ""
        if thread is not None and thread.is_pull_request and thread.base_ref:
            diff = change_diff(plan, job.workspace, target, thread.base_ref, change_ref=change_ref)
    own = (tracker.ref.id,) if tracker is not None and tracker.ref is not None else ()
    ctx = _context(event, decision, thread, repo, diff, own, settings)
    overflow_dir = _write_overflow(ctx, job.temp_dir)
    prompt = _prompt(event, decision, settings, ctx, plan, overflow_dir, templates["prompt"], tracker)
    run = dataclasses.replace(
        agent,
        prompt=prompt,
        cwd=job.workspace,
        add_dirs=(*agent.add_dirs, *((overflow_dir,) if overflow_dir else ())),
        transcript=job.temp_dir / "execution.jsonl",
        output_format="text",
        # The point of a mention is usually a change: edits inside the checkout are allowed;
        # commands still need allow rules (claude_args: --allowedTools "Bash(npm test:*)").
        permission_mode=agent.permission_mode or "acceptEdits",
    )
    on_change = thread is not None and thread.is_pull_request
    run, trusted_settings = trusted_agent(
        run,
        settings_input=settings.settings,
        project_settings=trusted.get(PROJECT_SETTINGS),
        tree=default_branch_tree(platform, repo, job.workspace) if on_change else None,
        workspace=job.workspace,
        private_dir=job.temp_dir / "trusted",
    )
    branch = repo.default_branch
    run, ext = run_extensions(run, settings, trusted_settings, decision, ctx, job, target, branch, runtime)
    memory = trusted_memory(trusted, branch, lambda path: platform.read_file(path, branch))
    tag_mode = decision.mode == "tag" or settings.track_progress
    facts = run_facts(event, platform, tag_mode=tag_mode, thread=thread, run=run, trusted=trusted_settings)
    toolset = platform_toolset(facts, platform, job, redactor, tracker)  # CI, comments, labels...
    run = with_toolset(run, toolset, job)
    # Claude Code's TodoWrite and the older update_progress both drive the comment's checklist.
    progress_tools = [UpdateProgressTool(tracker), TodoWrite(tracker.progress)] if tracker is not None else []
    extra_tools = [*progress_tools, *toolset.tools]
    prepared = prepare_run(
        run,
        runtime,
        extra_tools=extra_tools,
        trusted_settings=trusted_settings,
        memory=memory,
        local_git=False,  # the runner commits and pushes; the prompt says so
        read_only_rules=READ_ONLY_GIT,
        redactor=redactor,  # shared: tokens minted during the run are hidden from the comments too
        project_mcp_json=trusted.get(".mcp.json"),
        project_agents=agents,
        warn=job.warning,
        extensions=ext,
    )
    # The request is plain text (no images): the trigger comment's images come from its body.
    trigger = clean_untrusted(event.comment.body, redactor) if event.comment and ctx else ""
    texts = [trigger, ctx.body, *(c.body for c in ctx.comments)] if ctx else []
    images = gather_images(texts, platform.download_image, job.log)
    content = with_images(prepared.spec.prompt, images)  # a slash command expanded
    prepared.spec = dataclasses.replace(prepared.spec, cancel=cancel, prompt_content=content)
    progress.co_author = prepared.setup is None or prepared.setup.keys.include_co_authored_by
    out = WithheldStream(job) if secret else LogStream(job)  # job logs can be more public than the issue
    # The error line is the live log's and finish_run's to print (once), not the sink's.
    sink = EventSink("text", out, io.StringIO(), prepared.redactor, run.transcript)
    sink.opening = opening_messages(list(prepared.spec.history), prepared.spec.prompt)
    # A line per model call, tool call and retry; show_full_output adds the tools' whole outputs.
    live = LiveLog(job.log, redactor, prices=prepared.prices, full=settings.show_full_output, quiet=secret)
    record.phase("running")
    record.observer.agent(prepared.spec.prompt, prepared.prices, quiet=secret)
    with job.group("Claude"), live:
        try:
            outcome = execute_run(prepared, tee(live, sink, progress.timeline, record.observer))
        finally:
            sink.close()
    progress.result, progress.exit_code = outcome.result, exit_code(outcome)
    turn_ok = not outcome.result.get("is_error")
    classify_inline_comments(toolset, settings, runtime, progress, job, prepared, ok=turn_ok)
    for error in toolset.finish(ok=turn_ok):
        job.warning(f"an inline comment was not posted: {error}")
    cancel.check()  # a cancelled turn's work is saved by the cleanup, within its bound
    record.phase("publishing")
    publish_work(platform, settings, job, progress, event, repo, redactor)
    record.update(**work_fields(progress))


def _context(
    event: Event,
    decision: Decision,
    thread: ThreadData | None,
    repo: RepoInfo,
    diff: str,
    own_comment_ids: tuple[int, ...],
    settings: FlowSettings,
) -> Context | None:
    if thread is None:
        return None
    trigger_time = None
    stamp = event.comment.created_at if event.comment else None
    if stamp:
        trigger_time = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return build_context(
        thread,
        repository=repo.full_name,
        title=event.title,
        body=event.body,
        request=decision.request if decision.mode == "tag" else None,
        trigger_author=event.actor.login if event.actor else None,
        trigger_time=trigger_time,
        trigger_comment_id=event.comment.id if event.comment else None,
        own_comment_ids=own_comment_ids,
        diff=diff,
        include_comments_by_actor=settings.include_comments_by_actor,
        exclude_comments_by_actor=settings.exclude_comments_by_actor,
    )


def _write_overflow(ctx: Context | None, temp_dir: Path) -> Path | None:
    if ctx is None or not ctx.overflow:
        return None
    directory = temp_dir / "context"
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in ctx.overflow.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def _prompt(
    event: Event,
    decision: Decision,
    settings: FlowSettings,
    ctx: Context | None,
    plan: WorkspacePlan,
    overflow_dir: Path | None,
    override: str | None,
    tracker: Tracker | None,
) -> str:
    if decision.mode == "tag" and ctx is not None:
        return render(
            "prompt_tag.j2",
            override,
            ctx=ctx,
            branch=plan.branch,
            can_push=plan.can_push,
            suggest=plan.suggest,
            overflow_dir=overflow_dir,
            progress_tool="update_progress" if tracker else None,
            platform=event.platform,
            custom_instructions=settings.trigger.prompt,
        )
    return render(
        "prompt_agent.j2", override, prompt=decision.request or settings.trigger.prompt or "", ctx=ctx
    )


class LogStream:
    """A text stream that writes into the job log."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def write(self, text: str) -> int:
        for line in text.rstrip("\n").splitlines():
            self.job.log(line)
        return len(text)

    def flush(self) -> None:
        pass


class WithheldStream(LogStream):
    """The agent's output of a confidential run: one line saying where it went instead."""

    def write(self, text: str) -> int:
        if not getattr(self, "_said", False):
            self._said = True
            self.job.log("(the answer is not logged: the issue is confidential; it is in the issue)")
        return len(text)


__all__ = ["admit", "authorize", "check_provider", "run_flow"]
