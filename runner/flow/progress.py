"""What a run has done so far, so that any way out can still report it and save the work."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runner.flow.rescue import SavedWork
from runner.flow.timeline import RunTimeline
from runner.flow.workspace import WorkspacePlan
from runner.platforms.base import ChangedFile


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
    work: SavedWork | None = None  # where save_work put the agent's changes
    work_note: str = ""  # what the final comment says about it (markdown), see ``work_report``
    co_author: bool = True  # the settings' includeCoAuthoredBy: the requester as Co-authored-by
    # About a confidential issue (or an internal note): its text stays out of the job log and
    # summary; unless confidential_issue_mr, a neutral commit and no pull/merge request.
    confidential: bool = False
    exit_code: int = 0  # what `run` would exit with for the agent's result (4 for a 401, ...)
    timeline: RunTimeline = field(default_factory=RunTimeline)  # the agent's events, as they came

    @property
    def work_branch(self) -> str | None:
        """The branch that holds the agent's work, if any holds it."""
        return self.work.branch if self.work is not None and self.work.pushed else None
