"""What the platform tools need from a code host (``Automation``), and the plain values it returns.

``runner/platforms/github_actions.py`` and ``gitlab_pipelines.py`` implement it;
``runner/platforms/automation.automation_of`` hands out an adapter's, so nothing here knows GitHub
from GitLab.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from runner.platforms.base import CommentRef


@dataclass(frozen=True)
class CIRun:
    """A GitHub Actions workflow run, or a GitLab pipeline."""

    id: int
    name: str
    status: str  # GitHub: queued, in_progress, completed...; GitLab: created, running, failed, success...
    conclusion: str | None  # GitHub's conclusion of a completed run; GitLab: None (status says it)
    html_url: str
    created_at: str
    ref: str = ""
    sha: str = ""


@dataclass(frozen=True)
class CIStep:
    """One step of a GitHub Actions job."""

    name: str
    number: int
    conclusion: str | None


@dataclass(frozen=True)
class CIJob:
    """One job of a run or pipeline."""

    id: int
    name: str
    status: str
    conclusion: str | None
    html_url: str
    stage: str | None = None  # GitLab
    failure_reason: str | None = None  # GitLab: script_failure, stuck_or_timeout_failure...
    allow_failure: bool = False  # GitLab
    steps: tuple[CIStep, ...] = ()  # GitHub


@dataclass(frozen=True)
class CheckRun:
    """A GitHub check run on a commit (any app's: an external CI reports through these)."""

    id: int
    name: str
    status: str
    conclusion: str | None
    html_url: str
    app: str


@dataclass(frozen=True)
class CreatedIssue:
    """An issue the runner opened for the agent."""

    number: int
    url: str


class Automation(Protocol):
    """CI reads and platform actions on one repository, with the runner's token.

    ``change_request``: whether ``number`` is a pull/merge request (GitLab numbers them apart
    from issues; GitHub ignores it)."""

    def can_read_ci(self) -> bool:
        """Whether the token may read CI runs (one cheap request); False on a refusal."""
        ...

    def ci_runs(self, head_sha: str, status: str | None = None) -> list[CIRun]:
        """The workflow runs (pipelines) of commit ``head_sha``, newest first."""
        ...

    def check_runs(self, head_sha: str) -> list[CheckRun]:
        """The check runs of commit ``head_sha`` (GitLab has none: empty)."""
        ...

    def ci_jobs(self, run_id: int) -> list[CIJob]:
        """The jobs of run (pipeline) ``run_id``."""
        ...

    def job_log(self, job_id: int, max_bytes: int) -> bytes:
        """The log (trace) of job ``job_id``: its last ``max_bytes`` at most."""
        ...

    def labels(self) -> list[str]:
        """The repository's labels, by name."""
        ...

    def add_labels(self, number: int, labels: list[str], *, change_request: bool) -> list[str]:
        """Add ``labels`` to issue/change request ``number``; its labels after."""
        ...

    def remove_labels(self, number: int, labels: list[str], *, change_request: bool) -> list[str]:
        """Remove ``labels`` from ``number``; its labels after."""
        ...

    def comment(self, number: int, body: str, *, change_request: bool) -> CommentRef:
        """A new comment on issue/change request ``number``."""
        ...

    def create_issue(self, title: str, body: str, labels: list[str]) -> CreatedIssue:
        """Open an issue."""
        ...

    def inline_comment(
        self,
        number: int,
        *,
        path: str,
        body: str,
        line: int,
        start_line: int | None,
        side: str,
        commit_sha: str | None,
    ) -> CommentRef:
        """A comment on ``path`` at ``line`` (or ``start_line``..``line``) of change request
        ``number``'s diff, on ``side`` (RIGHT: new code, LEFT: old), at ``commit_sha`` (None: head)."""
        ...
