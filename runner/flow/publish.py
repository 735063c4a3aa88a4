"""What the runner says back: the tracking comment's life, and the CI job's outputs.

The tracking comment is posted before anything slow happens, updated with the agent's
checklist (throttled), and always finalised: success with links and numbers, or the
(redacted) error with links to any partial work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from runner import git
from runner.agent.tools.base import Tool, ToolContext, ToolResult, str_arg
from runner.agent.transcript import execution_array
from runner.events import Event
from runner.flow.job import Job
from runner.flow.offer import publish_suggestions
from runner.flow.progress import RunProgress as RunProgress  # re-exported: the flow imports it from here
from runner.flow.report_md import clipped, fenced, link, quoted, without_html
from runner.flow.rescue import (
    Rescue,
    SavedWork,
    WorkNotPushed,
    branch_url,
    rescue_branch,
    save_work,
    work_report,
)
from runner.flow.tracker import (
    TRACKING_MARKER as TRACKING_MARKER,
)
from runner.flow.tracker import (
    FinalState as FinalState,
)
from runner.flow.tracker import (
    Tracker as Tracker,
)
from runner.flow.tracker import (
    format_duration as format_duration,
)
from runner.flow.workspace import compare_url
from runner.mcp.servers import failed_servers_note
from runner.platforms.base import Platform, RepoInfo
from runner.sanitize import Redactor
from runner.settings.flow import FlowSettings


class UpdateProgressTool(Tool):
    """The agent's way to keep the requester informed: a markdown checklist in the comment."""

    name: ClassVar[str] = "update_progress"
    description: ClassVar[str] = (
        "Replace the progress checklist shown in the tracking comment "
        "(markdown, e.g. '- [x] read\\n- [ ] fix')."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"checklist": {"type": "string", "description": "Markdown checklist"}},
        "required": ["checklist"],
    }
    needs_permission: ClassVar[bool] = False

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Update the comment (throttled; the latest checklist is always kept)."""
        self.tracker.progress(str_arg(args, "checklist"))
        return ToolResult("Progress updated.")


def job_outputs(
    result: Mapping[str, Any] | None,
    *,
    execution_file: Path | None,
    branch: str | None,
    pr_url: str | None,
    comment_url: str | None,
    work: SavedWork | None = None,
) -> dict[str, str]:
    """The action's outputs, named as claude-code-action names them (plus ours).

    ``branch``: the branch that holds the work (a rescue branch when the planned one refused
    it); ``patch_file`` / ``bundle_file``: where the work is kept when no push worked.
    """
    result = result or {}
    usage = result.get("usage") or {}
    array = execution_array(execution_file)
    ok = bool(result) and not result.get("is_error")
    structured = result.get("structured_output")
    return {
        "conclusion": "success" if ok else "failure",
        # claude-code-action's shape: a JSON array of the messages; the JSON lines stay as transcript_file.
        "execution_file": str(array or ""),
        "transcript_file": str(execution_file) if array else "",
        "branch_name": branch or "",
        "patch_file": str(work.patch) if work and work.patch else "",
        "bundle_file": str(work.bundle) if work and work.bundle else "",
        "pr_url": pr_url or "",
        "comment_url": comment_url or "",
        "session_id": str(result.get("session_id", "")),
        "structured_output": json.dumps(structured) if structured is not None else "",
        "total_cost_usd": str(result.get("total_cost_usd", 0)),
        "cost_is_estimate": "true" if result.get("cost_is_estimate") else "false",
        "num_turns": str(result.get("num_turns", 0)),
        "input_tokens": str(
            sum(
                int(usage.get(k, 0))
                for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
            )
        ),
        "output_tokens": str(usage.get("output_tokens", 0)),
    }


def bot_identity(settings: FlowSettings, job: Job) -> tuple[str, str]:
    """The commit author: GitHub's bot noreply address, or a plain noreply one on GitLab."""
    if job.platform == "gitlab":
        return settings.bot_name, f"claude-runner@{job.noreply_domain}"
    return settings.bot_name, f"{settings.bot_id}+{settings.bot_name}@{job.noreply_domain}"


def co_author(event: Event, noreply_domain: str) -> tuple[str, str] | None:
    """The requester as a ``Co-authored-by`` identity, in the noreply form the host attributes."""
    actor = event.actor
    if actor is None:
        return None
    # GitHub attributes "<id>+<login>@users.noreply.github.com"; GitLab "<id>-<login>@users.noreply.<host>".
    joiner = "-" if event.platform == "gitlab" else "+"
    local = f"{actor.id}{joiner}{actor.login}" if actor.id is not None else actor.login
    return actor.login, f"{local}@{noreply_domain}"


def publish_work(
    platform: Platform,
    settings: FlowSettings,
    job: Job,
    progress: RunProgress,
    event: Event,
    repo: RepoInfo,
    redactor: Redactor | None = None,
    *,
    max_file_bytes: int = git.DEFAULT_MAX_FILE_BYTES,
) -> None:
    """Commit and push what the agent changed, then open or link the pull/merge request; for a
    fork's change request, offer the changes as suggestions instead (see ``publish_suggestions``).

    A push that fails does not lose the work (see ``flow/rescue.py``): it ends up on the branch
    after a rebase, on a rescue branch, or in a patch and a bundle; when it is not on the planned
    branch, :class:`WorkNotPushed` says where (files over ``max_file_bytes`` stay out of the commit).
    """
    plan = progress.plan
    if plan is not None and plan.suggest:
        publish_suggestions(platform, job, progress, event, redactor or Redactor([]))
        return
    if plan is None or not plan.can_push or plan.branch is None or progress.start_sha is None:
        return
    target = platform.push_target()
    secret = progress.confidential and not settings.confidential_issue_mr  # nothing of it in the commit
    if event.number is None or secret:  # an automation event: no issue or pull request to name
        title = f"Changes from Claude ({'confidential' if secret else event.name} run)"
    else:
        title = f"{_entity_label(event)} #{event.number}: changes from Claude"
    rescue = Rescue(
        rescue_branch(job, datetime.now(UTC), prefix=settings.branch_prefix), job.temp_dir, max_file_bytes
    )
    redact = (redactor or Redactor([])).text  # the agent's answer becomes the commit message
    answer = (progress.result or {}).get("result", "")[:2000]
    # An SSH signing key is on disk only while the commits are made and pushed (or rescued).
    with git.ssh_signing(settings.ssh_signing_key, job.temp_dir) as signing:
        saved = save_work(
            job.workspace,
            target,
            plan.branch,
            start_sha=progress.start_sha,
            message=title if secret else redact(f"{title}\n\n{answer}".strip()),
            author=bot_identity(settings, job),
            co_author=None if secret or not progress.co_author else co_author(event, job.noreply_domain),
            protected={repo.default_branch},
            rescue=rescue,
            existing_branch=not plan.new_branch,
            config_fingerprint=progress.fingerprint,
            log=job.log,
            signing=signing,
            # An SSH key wins: it signs local commits, which then push as usual.
            committer=platform.api_committer() if settings.use_commit_signing and signing is None else None,
        )
    progress.work = saved
    progress.work_note = work_report(saved, job)
    progress.pushed = saved.pushed
    progress.saved = True
    if saved.commit is None:
        job.log("no changes: nothing committed, no branch pushed")
        return
    if saved.pushed and saved.branch:
        job.log(f"pushed {saved.commit} to {saved.branch}")
        progress.links.append((f"`{saved.branch}`", branch_url(job, saved.branch)))
    failed_run = (progress.result or {}).get("is_error")  # that error is the one to report
    if not failed_run and (not saved.pushed or (saved.rescued and not plan.new_branch)):
        raise WorkNotPushed(_not_pushed(saved))
    branch = saved.branch or plan.branch
    if not plan.new_branch:
        return
    if secret:  # the answer and the branch's link go into the issue only
        job.log(
            "confidential issue: no merge request (the job variable CONFIDENTIAL_ISSUE_MR=true opens one)"
        )
        return
    # GitHub and GitLab both close the issue when the change merges, with these keywords.
    keyword = "Closes" if event.platform == "gitlab" else "Fixes"
    closes = f"{keyword} #{event.number}" if event.entity_type == "issue" and event.number else ""
    asked_by = f" for @{event.actor.login}" if event.actor else ""
    body = redact(f"{closes}\n\nGenerated by Claude{asked_by}.".strip())
    title, pr_title = redact(title), redact(event.title or title)
    if settings.pr_mode == "link":
        progress.links.append(
            (
                "Create MR ➔" if job.platform == "gitlab" else "Create PR ➔",
                compare_url(job.repo_url, plan.base, branch, title=title, body=body, platform=job.platform),
            )
        )
        return
    existing = platform.find_pull_request(branch)
    progress.pr_url = existing or platform.create_pull_request(
        head=branch, base=plan.base, title=pr_title, body=body, draft=settings.pr_mode == "draft"
    )
    progress.links.append(("MR" if event.platform == "gitlab" else "PR", progress.pr_url))


def save_partial_work(
    platform: Platform,
    settings: FlowSettings,
    job: Job,
    progress: RunProgress,
    event: Event,
    redactor: Redactor | None = None,
) -> None:
    """After a failure: push (or, for a fork, suggest) whatever the agent changed: no work is lost."""
    if progress.saved or progress.plan is None or progress.start_sha is None:
        return
    try:
        publish_work(platform, settings, job, progress, event, platform.repository(), redactor)
    except WorkNotPushed as exc:  # the final comment says where the work is
        job.log(exc.message)
    except Exception as exc:  # reporting the first error matters more than this one
        job.log(f"could not save partial work: {exc}")


def final_state(error: str | None, requester: str, started: float, progress: RunProgress) -> FinalState:
    """The run as the final comment reports it. The agent's answer is kept when only publishing
    failed (a push, a pull request): the answer is never lost to a later error."""
    result = progress.result or {}
    answered = bool(result) and not result.get("is_error")
    usage = result.get("usage") or {}
    # The model that gave the last answer (a fallback model, when one took over).
    model = str(result.get("model") or next(iter(result.get("modelUsage") or {}), ""))
    return FinalState(
        ok=error is None,
        requester=requester,
        duration_s=time.monotonic() - started,
        summary=str(result.get("result") or "") if error is None or answered else "",
        error=error or "",
        branch=progress.work_branch,
        links=tuple(progress.links),
        num_turns=int(result.get("num_turns", 0)),
        input_tokens=sum(
            int(usage.get(k, 0))
            for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        ),
        output_tokens=int(usage.get("output_tokens", 0)),
        cost_usd=float(result.get("total_cost_usd", 0.0)),
        cost_is_estimate=bool(result.get("cost_is_estimate")),
        model=model,
        offered=progress.offered,
        work="\n\n".join(n for n in (progress.work_note, failed_servers_note(result)) if n),
    )


MAX_ANSWER_CHARS = 60_000  # the answer in the step summary (GitHub takes 1 MiB per step)


def job_summary(error: str | None, progress: RunProgress, redactor: Redactor) -> str:
    """Markdown for the CI job's summary page."""
    result = progress.result or {}
    head = "### Claude ✅ finished" if error is None else "### Claude ❌ failed"
    lines = [head, ""]
    if error:
        lines += [fenced(redactor.text(error)), ""]
    if result.get("result") and error is None:
        answer = (
            "(the answer is in the issue: it is confidential)" if progress.confidential else result["result"]
        )
        # Quoted, its raw HTML as text: an unclosed fence or <details> cannot swallow the report.
        answer = clipped(redactor.text(str(answer)), MAX_ANSWER_CHARS, "the whole answer is in the comment")
        lines += [quoted(without_html(answer)), ""]
    cost = f"${float(result.get('total_cost_usd', 0)):.4f}"
    cost = f"~{cost} (estimate)" if result.get("cost_is_estimate") else cost
    lines.append(f"turns: {result.get('num_turns', 0)} · cost: {cost}")
    lines += [f"- {link(label, url)}" for label, url in progress.links]
    if progress.offered:
        lines += ["", redactor.text(progress.offered)]
    if progress.work_note:
        lines += ["", redactor.text(progress.work_note)]
    return "\n".join(lines)


def _entity_label(event: Event) -> str:
    if event.entity_type == "issue":
        return "Issue"
    return "MR" if event.platform == "gitlab" else "PR"


def _not_pushed(saved: SavedWork) -> str:
    if saved.pushed:
        return f"the push to {saved.planned} failed; the work is on {saved.branch}"
    kept = " and ".join(str(p) for p in (saved.patch, saved.bundle) if p)
    where = f"it is kept on the runner in {kept}" if kept else "it is only in the runner's checkout"
    return f"the work could not be pushed; {where}"
