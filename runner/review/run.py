"""One review turn: from a decided event to a published review and a sticky summary.

The order follows ``runner.flow.mention``: the provider is checked first, then who asked; nothing is
posted before the review is ready, because a review has no "working" comment of its own (the
sticky summary is written once, at the end). The checkout is the change request's head, read-only:
a review never pushes, a fork's code is never run (the agent gets read-only tools, plan mode).
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from runner.agent.agent_defs import AgentDefinition
from runner.agent.cancel import CancelToken, Interrupted
from runner.agent.headless import execute_run, graceful_signals, prepare_run, run_failure
from runner.agent.live_log import LiveLog, tee
from runner.agent.permissions import SettingsPermissions
from runner.agent.prompt import MemoryFile, trusted_memory
from runner.agent.transcript import EventSink, opening_messages
from runner.errors import RunnerError, SettingsError
from runner.events import Event
from runner.flow.images import gather_images, with_images
from runner.flow.job import Job
from runner.flow.mention import TRUSTED_FILES, LogStream, admit
from runner.flow.publish import job_outputs
from runner.flow.readonly import READ_ONLY_GIT
from runner.flow.suggestions import visible_lines
from runner.flow.trusted import PROJECT_SETTINGS, default_branch_agents, default_branch_tree, trusted_agent
from runner.platforms.base import InlineComment, Platform, ThreadComment, ThreadData
from runner.project.review_config import CONFIG_PATH, ReviewConfig, parse_config
from runner.review import render as review_render
from runner.review.checkout import (
    checkout_head,
    file_lines,
    files_between,
    files_past_the_api_cap,
    is_ancestor,
    review_merge_base,
)
from runner.review.findings import SEVERITIES, Finding, ReportFindingTool, validate_findings
from runner.review.prompt import review_prompt
from runner.review.selection import DEFAULT_EXCLUDES, Selection, select_files
from runner.review.state import (
    SUMMARY_MARKER,
    ReviewRange,
    last_reviewed_head,
    posted_fingerprints,
    review_range,
)
from runner.review.trigger import ReviewTrigger, review_request, review_trigger
from runner.sanitize import Redactor, clean_untrusted
from runner.settings.flow import FlowSettings
from runner.settings.run import RunSettings
from runner.settings.runtime import Runtime
from runner.telemetry.setup import open_telemetry

# The model's final text asking for an approval ("I approve", "LGTM, approving"): refused, noted.
_APPROVAL = re.compile(r"\bapprov(e|es|ed|ing|al)\b|\blgtm\b", re.IGNORECASE)


def run_review(
    event: Event,
    platform: Platform,
    settings: FlowSettings,
    agent: RunSettings,
    job: Job,
    runtime: Runtime,
    *,
    request: str | None,
) -> int:
    """Review change request ``event.number``; ``request`` is the mention's text (None: automatic).

    Returns the exit code; outputs say what was posted (``review_comments``, ``findings_*``).
    """
    redactor, stop = admit(platform, event, settings, runtime, job, asked=request is not None)
    if stop is not None:
        return stop
    cancel = CancelToken()
    try:
        with graceful_signals(cancel):
            outputs = _review(event, platform, settings, agent, job, runtime, request, cancel, redactor)
    except Interrupted as exc:
        error, code = f"the job was cancelled ({exc})", 1
    except RunnerError as exc:
        error, code = exc.one_line(), exc.exit_code
    except Exception as exc:  # a bug: the log says what, the job fails
        error, code = f"internal error: {type(exc).__name__}: {exc}", 1
    else:
        job.write_outputs({name: redactor.text(value) for name, value in outputs.items()})
        job.write_summary(f"Review: {outputs.get('review_comments', '0')} inline comments posted.")
        return 0
    job.error(redactor.text(error))
    job.write_outputs({"conclusion": "failure"})
    job.write_summary(f"Review failed: {redactor.text(error)}")
    return code


def _review(
    event: Event,
    platform: Platform,
    settings: FlowSettings,
    agent: RunSettings,
    job: Job,
    runtime: Runtime,
    request: str | None,
    cancel: CancelToken,
    redactor: Redactor,
) -> dict[str, str]:
    assert event.number is not None
    number = event.number
    repo = platform.repository()
    with job.group("Review settings from " + repo.default_branch):
        trusted = {path: platform.read_file(path, repo.default_branch) for path in TRUSTED_FILES}
        config = parse_config(platform.read_file(CONFIG_PATH, repo.default_branch))
        job.log(f"{CONFIG_PATH}: {config.describe()}")
        agents = default_branch_agents(platform, repo.default_branch, agent, job.warning)
        agent, sources = trusted_agent(
            agent,
            settings_input=settings.settings,
            project_settings=trusted.get(PROJECT_SETTINGS),
            tree=default_branch_tree(platform, repo, job.workspace),
            workspace=job.workspace,
            private_dir=job.temp_dir / "trusted",
        )
    with job.group("Context"):
        thread = platform.fetch_thread(number, True)
        job.log(f"{len(thread.comments)} comments, {len(thread.files)} files, {thread.api_requests} requests")
    if not thread.is_pull_request or not thread.head_sha or not thread.base_ref:
        raise SettingsError(f"#{number} is not a change request with a head and a base: nothing to review")
    if thread.draft and request is None and not settings.review_drafts:
        job.log("skipped: the change request is a draft (set review_drafts: true to review drafts)")
        return {"conclusion": "skipped", "review_comments": "0"}
    summary_text = _newest_body(thread, SUMMARY_MARKER)
    last_head = last_reviewed_head(summary_text) if summary_text else None
    with job.group("Workspace"):
        target = platform.push_target()
        # Read-only: the head as the host keeps it (forks included), on a detached HEAD.
        head_ref = platform.change_head_ref(number) if thread.is_fork or not thread.head_ref else None
        head_sha, base_ref = checkout_head(job.workspace, target, thread, head_ref)
        merge_base = review_merge_base(job.workspace, target, thread, head_ref, base_ref)
        ancestor = bool(last_head) and is_ancestor(job.workspace, str(last_head), head_sha)
        rng = review_range(
            merge_base=merge_base, head=head_sha, last_head=last_head, last_head_is_ancestor=ancestor
        )
        job.log(f"range {rng.base[:12]}..{rng.head[:12]}: {rng.reason}")
    if rng.nothing_new:
        job.log("skipped: no new commits since the last review")
        return {"conclusion": "skipped", "review_comments": "0"}
    files = files_between(job.workspace, rng.base, head_sha) if rng.incremental else list(thread.files)
    if not rng.incremental:
        files += files_past_the_api_cap(job.workspace, merge_base, head_sha, files)
    selection = select_files(
        files,
        budget_tokens=config.budget_tokens,
        excludes=(*DEFAULT_EXCLUDES, *config.exclude),
        includes=config.include,
    )
    prompt = review_prompt(thread, repo.full_name, platform.name, rng, config, selection, request)
    reporter = ReportFindingTool(thread.files, file_lines=file_lines(job.workspace))
    branch = repo.default_branch
    memory = trusted_memory(trusted, branch, lambda path: platform.read_file(path, branch))
    images = gather_images([clean_untrusted(thread.body or "", redactor)], platform.download_image, job.log)
    content = with_images(prompt, images)
    result = _agent(
        prompt,
        content,
        reporter,
        sources,
        memory,
        agent,
        job,
        runtime,
        cancel,
        redactor,
        mcp_json=trusted.get(".mcp.json"),
        agents=agents,
    )
    final_text = str(result.get("result") or "")
    if result.get("is_error"):
        raise _AgentFailed("; ".join(result.get("errors") or [str(result.get("subtype"))]))
    return _publish(
        platform,
        thread,
        job,
        rng,
        config,
        selection,
        reporter.findings,
        final_text,
        result,
        redactor,
        request_changes=settings.review_request_changes,
        fix_links=settings.include_fix_links and platform.name == "github",
    )


def _publish(
    platform: Platform,
    thread: ThreadData,
    job: Job,
    rng: ReviewRange,
    config: ReviewConfig,
    selection: Selection,
    findings: Sequence[Finding],
    final_text: str,
    result: Mapping[str, Any],
    redactor: Redactor,
    *,
    request_changes: bool = False,
    fix_links: bool = False,
) -> dict[str, str]:
    """Validate, filter, post in one batch, then write the sticky summary and the outputs."""
    number, head = thread.number, str(thread.head_sha)
    by_path = {f.path: f for f in thread.files}
    valid, rejected = validate_findings(findings, thread.files, file_lines=file_lines(job.workspace))
    rejected = list(rejected)
    wanted = SEVERITIES.index(config.min_severity)
    valid = [f for f in valid if SEVERITIES.index(f.severity) <= wanted]
    # Another review of this change may have posted while this one ran (two pushes in a row, a
    # mention during an automatic review): what is posted is read again right before posting.
    latest = platform.fetch_thread(number, True)
    seen = posted_fingerprints((c.body, bool(c.resolved)) for c in _runner_comments(latest))
    duplicates = [f for f in valid if f.fingerprint() in seen]
    fresh = [f for f in valid if f.fingerprint() not in seen]
    inline: list[tuple[Finding, InlineComment]] = []
    for f in fresh:
        if f.side != "RIGHT":  # the hosts' APIs here anchor on the new side only
            rejected.append((f, "about removed lines: kept in the summary"))
            continue
        changed = by_path[f.path]
        fix_repo = platform.repository().full_name if fix_links else None
        body = redactor.text(review_render.inline_body(f, platform=platform.name, fix_link_repo=fix_repo))
        old = visible_lines(changed.patch).get(f.last_line, ("", None))[1]
        start = f.first_line if f.first_line != f.last_line else None
        inline.append((f, InlineComment(f.path, f.last_line, body, start, old, changed.previous_path)))
    approval_refused = bool(_APPROVAL.search(final_text))
    assessment = redactor.text(clean_untrusted(final_text)).strip()
    important = any(f.severity == "important" for f, _ in inline)
    results = platform.post_inline_comments(
        number,
        [c for _, c in inline],
        commit_sha=head,
        body=assessment or "Automated review.",
        # GitLab has no equivalent: its discussions are comments either way.
        request_changes=request_changes and important,
    )
    posted = [f for (f, _), r in zip(inline, results, strict=True) if r.ref is not None]
    rejected += [
        (f, f"the host refused it: {r.error}")
        for (f, _), r in zip(inline, results, strict=True)
        if r.ref is None
    ]
    # The model that gave the last answer (a fallback model when one took over).
    usage_model = str(result.get("model") or next(iter(result.get("modelUsage") or {}), ""))
    body = review_render.summary_body(
        head=head,
        review_range=rng,
        posted=posted,
        duplicates=duplicates,
        rejected=rejected,
        selection=selection,
        cost_usd=float(result.get("total_cost_usd") or 0.0),
        cost_is_estimate=bool(result.get("cost_is_estimate")),
        num_turns=int(result.get("num_turns") or 0),
        model=usage_model,
        job_url=job.job_url,
        platform=platform.name,
        approved_request_refused=approval_refused,
        requested_changes=request_changes
        and platform.name == "github"
        and any(f.severity == "important" for f in posted),
    )
    if assessment:
        body = f"{body.rstrip()}\n\n**Overall assessment**\n\n{assessment}\n"
    body = redactor.text(body)
    existing = platform.find_comment(number, SUMMARY_MARKER)
    if existing is not None:
        platform.update_comment(existing, body)
        ref = existing
    else:
        ref = platform.create_comment(number, body)
    job.log(f"review: {len(posted)} inline, {len(duplicates)} already posted, {len(rejected)} in the summary")
    outputs = job_outputs(
        result, execution_file=job.temp_dir / "execution.jsonl", branch=None, pr_url=None, comment_url=ref.url
    )
    outputs.update(
        review_comments=str(len(posted)),
        findings_rejected=str(len(rejected)),
        findings_duplicates=str(len(duplicates)),
        reviewed_range=f"{rng.base}..{rng.head}",
        review_incremental=str(rng.incremental).lower(),
        approval_refused=str(approval_refused).lower(),
        # Counted as the summary counts them: every new finding, inline or in the summary.
        **{
            f"findings_{s}": str(sum(1 for f in [*posted, *(f for f, _ in rejected)] if f.severity == s))
            for s in SEVERITIES
        },
    )
    return outputs


class _AgentFailed(RunnerError):
    """The review turn ended in an error: nothing is published from a partial review."""


def _runner_comments(thread: ThreadData) -> list[ThreadComment]:
    """Comments the runner can have written: by a bot account (GitHub App or Actions bot, GitLab
    project/group access token). Anyone can paste a marker into a comment of their own; trusting
    only bot-authored ones keeps a user from narrowing the review range or suppressing a finding.
    With a personal token the runner's comments are not a bot's, and reviews fall back to full ones.
    """
    return [c for c in thread.comments if c.author_is_bot]


def _newest_body(thread: ThreadData, marker: str) -> str | None:
    bodies = [c.body for c in _runner_comments(thread) if marker in c.body]
    return bodies[-1] if bodies else None


def _agent(
    prompt: str,
    content: tuple[dict[str, Any], ...],
    reporter: ReportFindingTool,
    trusted_settings: list[SettingsPermissions],  # the settings sources (flow/trusted.py)
    memory: list[MemoryFile],
    agent: RunSettings,
    job: Job,
    runtime: Runtime,
    cancel: CancelToken,
    redactor: Redactor,
    *,
    mcp_json: str | None,  # the default branch's .mcp.json
    agents: list[AgentDefinition],  # the default branch's .claude/agents
) -> Mapping[str, Any]:
    """One agent turn with read-only tools and ``report_finding``; returns the result envelope."""
    run = dataclasses.replace(
        agent,
        prompt=prompt,
        cwd=job.workspace,
        transcript=job.temp_dir / "execution.jsonl",
        output_format="text",
        # Plan mode: read-only tools only, whatever claude_args or the settings allow.
        permission_mode="plan",
    )
    prepared = prepare_run(
        run,
        runtime,
        extra_tools=[reporter],
        trusted_settings=trusted_settings,
        memory=memory,
        local_git=False,
        read_only_rules=READ_ONLY_GIT,
        redactor=redactor,
        project_mcp_json=mcp_json,
        project_agents=agents,
        warn=job.warning,
    )
    prepared.spec = dataclasses.replace(prepared.spec, cancel=cancel, prompt_content=content)
    sink = EventSink("text", LogStream(job), io.StringIO(), prepared.redactor, run.transcript)
    sink.opening = opening_messages(list(prepared.spec.history), prepared.spec.prompt)
    live = LiveLog(job.log, prepared.redactor, prices=prepared.prices)  # a line per model and tool call
    telemetry = open_telemetry(runtime.telemetry, job.warning, prepared.redactor)
    telemetry.agent(prepared.spec.prompt, prepared.prices)
    with job.group("Claude (review)"), live:
        try:
            outcome = execute_run(prepared, tee(live, sink, telemetry))
        finally:
            sink.close()
            telemetry.close()
    failure = run_failure(outcome)
    if failure is not None:  # the same exit code as `run` for the same cause (a 401: 4)
        raise failure
    return outcome.result or {}


__all__ = ["ReviewTrigger", "review_request", "review_trigger", "run_review"]
