"""What the runner says back: the tracking comment's life, and the CI job's outputs.

The tracking comment is posted before anything slow happens, updated with the agent's
checklist (throttled), and always finalised: success with links and numbers, or the
(redacted) error with links to any partial work.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from runner.agent.tools.base import Tool, ToolContext, ToolResult, str_arg
from runner.platforms.base import CommentRef, Platform
from runner.prompts import render
from runner.sanitize import Redactor, clean_untrusted

TRACKING_MARKER = "<!-- claude-runner:tracking -->"
PROGRESS_INTERVAL_S = 2.0  # GitHub rate-limits comment edits; a checklist need not be faster


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
    reply_to: int | None = None  # a review comment id: answer in its thread
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
            self.ref = self.platform.reply_to_review_comment(self.number, self.reply_to, body)
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
