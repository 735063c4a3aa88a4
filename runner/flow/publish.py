"""What the runner says back: the tracking comment's life, and the CI job's outputs.

The tracking comment is posted before anything slow happens, updated with the agent's
checklist (throttled), and always finalised: success with links and numbers, or the
(redacted) error with links to any partial work.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from runner import git
from runner.agent.tools.base import Tool, ToolContext, ToolResult, str_arg
from runner.events import Event
from runner.flow import suggestions
from runner.flow.job import Job
from runner.flow.prompts import render
from runner.flow.workspace import WorkspacePlan, compare_url, save_work
from runner.platforms.base import ChangedFile, CommentRef, Platform, RepoInfo
from runner.sanitize import Redactor, clean_untrusted
from runner.settings.flow import FlowSettings

TRACKING_MARKER = "<!-- claude-runner:tracking -->"
PROGRESS_INTERVAL_S = 2.0  # GitHub rate-limits comment edits; a checklist need not be faster
MAX_SUGGESTIONS = 25  # inline suggestions per run; more would bury the change request's diff
MAX_PATCH = 1_000_000  # bytes of the agent's patch read for suggestions (the rest is cut)


@dataclass(frozen=True)
class FinalState:
    """How a run ended, for the final comment and the job outputs."""

    ok: bool
    requester: str
    duration_s: float
    summary: str = ""
    error: str = ""
    branch: str | None = None
    links: tuple[tuple[str, str], ...] = ()  # (label, url): job, branch, PR, "Create PR"
    num_turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model: str = ""
    offered: str = ""  # a fork's changes: suggestions posted, and a diff of the rest (markdown)


def format_duration(seconds: float) -> str:
    """``1m 5s`` / ``40s``, as people read durations."""
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def format_stats(state: FinalState) -> str:
    """The small print under a final comment."""
    tokens = state.input_tokens + state.output_tokens
    size = f"{tokens / 1000:.1f}k" if tokens >= 1000 else str(tokens)
    parts = [f"{state.num_turns} turns", f"{size} tokens", f"${state.cost_usd:.4f}"]
    if state.model:
        parts.append(state.model)
    return " · ".join(parts)


@dataclass
class Tracker:
    """One tracking comment: started, updated with progress, finalised exactly once."""

    platform: Platform
    number: int
    job_url: str | None
    redactor: Redactor
    reply_to: int | None = None  # a review comment / threaded note id: answer in its thread
    reply_thread: str | None = None  # GitLab: that note's discussion id
    sticky: bool = False
    template: str | None = None  # a repository's comment template (from the default branch)
    clock: Callable[[], float] = time.monotonic
    ref: CommentRef | None = None
    finalised: bool = False
    _last_update: float = field(default=0.0, repr=False)
    _pending: str | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self) -> CommentRef:
        """Post (or, for a sticky comment, reuse) the "working" comment."""
        body = self._working(None)
        if self.sticky and self.reply_to is None:
            existing = self.platform.find_comment(self.number, TRACKING_MARKER)
            if existing is not None:
                self.platform.update_comment(existing, body)
                self.ref = existing
                return existing
        if self.reply_to is not None:
            self.ref = self.platform.reply_to_review_comment(
                self.number, self.reply_to, body, discussion_id=self.reply_thread
            )
        else:
            self.ref = self.platform.create_comment(self.number, body)
        self._last_update = self.clock()
        return self.ref

    def progress(self, checklist: str) -> bool:
        """Show the agent's checklist; returns False when throttled (shown at the next update)."""
        with self._lock:
            if self.ref is None or self.finalised:
                return False
            self._pending = checklist
            if self.clock() - self._last_update < PROGRESS_INTERVAL_S:
                return False
            self.platform.update_comment(self.ref, self._working(checklist))
            self._last_update = self.clock()
            self._pending = None
            return True

    def finish(self, state: FinalState) -> None:
        """Write the final state. Safe to call twice: the first call wins."""
        with self._lock:
            if self.finalised or self.ref is None:
                return
            self.finalised = True
            body = render(
                "comment_final.j2",
                self.template,
                marker=TRACKING_MARKER,
                ok=state.ok,
                requester=state.requester,
                duration=format_duration(state.duration_s),
                links=list(state.links),
                error=self.redactor.text(state.error),
                branch=state.branch,
                summary=self.redactor.text(state.summary),
                stats=format_stats(state),
                offered=self.redactor.text(state.offered),
            )
            self.platform.update_comment(self.ref, self.redactor.text(body))

    def _working(self, checklist: str | None) -> str:
        progress = clean_untrusted(checklist, self.redactor) if checklist else None
        body = render("comment_working.j2", marker=TRACKING_MARKER, job_url=self.job_url, progress=progress)
        return self.redactor.text(body)


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
) -> dict[str, str]:
    """The action's outputs, named as claude-code-action names them (plus ours)."""
    result = result or {}
    usage = result.get("usage") or {}
    ok = bool(result) and not result.get("is_error")
    structured = result.get("structured_output")
    return {
        "conclusion": "success" if ok else "failure",
        "execution_file": str(execution_file or ""),
        "branch_name": branch or "",
        "pr_url": pr_url or "",
        "comment_url": comment_url or "",
        "session_id": str(result.get("session_id", "")),
        "structured_output": json.dumps(structured) if structured is not None else "",
        "total_cost_usd": str(result.get("total_cost_usd", 0)),
        "num_turns": str(result.get("num_turns", 0)),
        "input_tokens": str(
            sum(
                int(usage.get(k, 0))
                for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
            )
        ),
        "output_tokens": str(usage.get("output_tokens", 0)),
    }


@dataclass
class RunProgress:
    """What the run has done so far, so a failure can still report and save it."""

    plan: WorkspacePlan | None = None
    start_sha: str | None = None
    fingerprint: str | None = None
    result: dict[str, Any] | None = None
    pushed: bool = False
    saved: bool = False  # save_work ran (whether or not there was anything to push)
    pr_url: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)
    files: tuple[ChangedFile, ...] = ()  # the change request's diff: where suggestions can go
    offered: str = ""  # what publish_suggestions said about a fork's changes (markdown)


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
) -> None:
    """Commit and push what the agent changed, then open or link the pull/merge request; for a
    fork's change request, offer the changes as suggestions instead (see ``publish_suggestions``)."""
    plan = progress.plan
    if plan is not None and plan.suggest:
        publish_suggestions(platform, job, progress, event, redactor or Redactor([]))
        return
    if plan is None or not plan.can_push or plan.branch is None or progress.start_sha is None:
        return
    target = platform.push_target()
    if event.number is None:  # an automation event: no issue or pull request to name
        title = f"Changes from Claude ({event.name} run)"
    else:
        title = f"{_entity_label(event)} #{event.number}: changes from Claude"
    redact = (redactor or Redactor([])).text  # the agent's answer becomes the commit message
    saved = save_work(
        plan,
        job.workspace,
        target,
        start_sha=progress.start_sha,
        message=redact(f"{title}\n\n{(progress.result or {}).get('result', '')[:2000]}".strip()),
        author=bot_identity(settings, job),
        co_author=co_author(event, job.noreply_domain),
        protected={repo.default_branch},
        config_fingerprint=progress.fingerprint,
    )
    progress.pushed = saved.pushed
    progress.saved = True
    if not saved.pushed:
        job.log("no changes: nothing committed, no branch pushed")
        return
    branch = plan.branch
    job.log(f"pushed {saved.commit} to {branch}")
    tree = "-/tree" if job.platform == "gitlab" else "tree"
    progress.links.append((f"`{branch}`", f"{job.repo_url}/{tree}/{branch}"))
    if not plan.new_branch:
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


def publish_suggestions(
    platform: Platform, job: Job, progress: RunProgress, event: Event, redactor: Redactor
) -> None:
    """A fork's change request: never push; post each edit that lands on visible lines of the
    diff as a suggestion, and keep the rest (new files, lines outside the diff, refused
    comments) as a diff for the final comment (``progress.offered``)."""
    if progress.saved or progress.start_sha is None or event.number is None:
        return
    progress.saved = True  # once, even when posting fails half way: no duplicate suggestions
    diff = git.worktree_diff(
        job.workspace, progress.start_sha, unified=0, expect_config=progress.fingerprint, max_bytes=MAX_PATCH
    )
    patches = suggestions.parse_patch(diff)
    if not patches:
        job.log("no changes: nothing to suggest")
        return
    placed, unplaced = suggestions.place(suggestions.suggestions_for(patches), progress.files)
    unplaced += placed[MAX_SUGGESTIONS:]  # past that, a diff in one comment reads better
    comments = [
        dataclasses.replace(c, body=redactor.text(c.body))
        for c in (suggestions.inline_comment(s, platform.name) for s in placed[:MAX_SUGGESTIONS])
    ]
    noun = "merge request" if event.platform == "gitlab" else "pull request"
    intro = f"Claude's changes for this {noun}, offered as suggestions: the runner does not push to forks."
    results = platform.post_inline_comments(event.number, comments, commit_sha=progress.start_sha, body=intro)
    refs = [r.ref for r in results if r.ref is not None]
    for s, r in zip(placed, results, strict=False):
        if r.ref is None:
            job.log(f"suggestion on {s.path}:{s.end_line} not posted: {r.error}")
            unplaced.append(s)
    job.log(f"{len(refs)} suggestions posted, {len(unplaced)} changes left for the comment")
    progress.offered = suggestions.report(
        posted=len(refs),
        first_url=refs[0].url if refs else None,
        fallback=suggestions.fallback_diff(patches, unplaced),
        noun=noun,
    )


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
    except Exception as exc:  # reporting the first error matters more than this one
        job.log(f"could not save partial work: {exc}")


def final_state(error: str | None, requester: str, started: float, progress: RunProgress) -> FinalState:
    """The run as the final comment reports it."""
    result = progress.result or {}
    usage = result.get("usage") or {}
    model = next(iter(result.get("modelUsage") or {}), "")
    return FinalState(
        ok=error is None,
        requester=requester,
        duration_s=time.monotonic() - started,
        summary=str(result.get("result") or "") if error is None else "",
        error=error or "",
        branch=progress.plan.branch if progress.pushed and progress.plan else None,
        links=tuple(progress.links),
        num_turns=int(result.get("num_turns", 0)),
        input_tokens=sum(
            int(usage.get(k, 0))
            for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        ),
        output_tokens=int(usage.get("output_tokens", 0)),
        cost_usd=float(result.get("total_cost_usd", 0.0)),
        model=model,
        offered=progress.offered,
    )


def job_summary(error: str | None, progress: RunProgress, redactor: Redactor) -> str:
    """Markdown for the CI job's summary page."""
    result = progress.result or {}
    head = "### Claude ✅ finished" if error is None else "### Claude ❌ failed"
    lines = [head, ""]
    if error:
        lines += ["```", redactor.text(error), "```", ""]
    if result.get("result") and error is None:
        lines += [redactor.text(str(result["result"])), ""]
    lines.append(f"turns: {result.get('num_turns', 0)} · cost: ${float(result.get('total_cost_usd', 0)):.4f}")
    lines += [f"- [{label}]({url})" for label, url in progress.links]
    if progress.offered:
        lines += ["", redactor.text(progress.offered)]
    return "\n".join(lines)


def _entity_label(event: Event) -> str:
    if event.entity_type == "issue":
        return "Issue"
    return "MR" if event.platform == "gitlab" else "PR"
