"""The platform-neutral event model: what happened, where, and who did it.

``events/github.py`` (and later ``events/gitlab.py``) turn a platform's payload into an
``Event``; everything after that (``triggers.py``, the flow) reads only these dataclasses.
GitHub pull requests and GitLab merge requests are both a *change request*; issues are issues.

Two small vocabularies keep ``triggers.py`` free of platform knowledge:

- ``EventKind``: what sort of thing the event is about (a comment, a review, an issue, ...).
- ``Activity``: what happened to it, in neutral words (``created`` for a new comment *and* a
  submitted review, ``updated`` for new commits pushed to a change request, ...).

The platform's own event name and action stay on the event (``name``, ``action``) for messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EntityType = Literal["issue", "change_request"]
"""An issue, or a change request (GitHub pull request, GitLab merge request)."""

EventKind = Literal["comment", "review", "review_comment", "issue", "change_request", "automation"]
"""``comment``: a conversation comment on an issue or change request; ``review``: a change-request
review (its body); ``review_comment``: a comment on a line of a change request's diff; ``issue`` /
``change_request``: the entity itself changed; ``automation``: a run not about an entity (manual
dispatch, API dispatch, schedule, another workflow finishing)."""

Activity = Literal[
    "created",  # a new comment, review comment, or a submitted review
    "edited",
    "deleted",
    "opened",
    "reopened",
    "updated",  # new commits on a change request (GitHub ``synchronize``)
    "ready_for_review",  # a draft change request marked ready
    "labeled",
    "assigned",
    "run",  # an automation event fired
    "other",  # anything else; ``Event.action`` says what
]

_CHANGE_REQUEST_TERMS = {"github": "pull_request", "gitlab": "merge_request"}


@dataclass(frozen=True)
class Actor:
    """Who caused the event (GitHub ``sender``)."""

    login: str
    type: str = ""  # the platform's account type: "User", "Bot", "Organization"; "" if unknown
    id: int | None = None  # the numeric account id (GitHub's noreply e-mail is "<id>+<login>@...")

    @property
    def is_bot(self) -> bool:
        """A bot or app account: typed ``Bot``, or a ``name[bot]`` login (GitHub App convention)."""
        return self.type.lower() == "bot" or self.login.lower().endswith("[bot]")


@dataclass(frozen=True)
class Repository:
    """The repository the event happened in."""

    owner: str
    name: str
    full_name: str  # "owner/name" (GitLab: the full namespace path)
    default_branch: str | None = None
    clone_url: str | None = None  # https clone URL, no credentials
    html_url: str | None = None
    private: bool | None = None  # None when the payload does not say


@dataclass(frozen=True)
class Comment:
    """The comment or review that triggered the event.

    ``created_at``/``updated_at`` are kept so later stages can drop text edited after the trigger
    (an attacker editing a comment between trigger and fetch).
    """

    id: int | None
    kind: Literal["comment", "review", "review_comment"]
    body: str
    author: str | None = None
    created_at: str | None = None  # ISO 8601, as the platform sent it (reviews: submitted_at)
    updated_at: str | None = None
    html_url: str | None = None
    review_id: int | None = None  # review comments: the review they belong to
    in_reply_to: int | None = None  # review comments: the comment they answer
    path: str | None = None  # review comments: file path in the diff
    line: int | None = None  # review comments: line in the new file, if any
    thread_id: str | None = None  # GitLab: the discussion the note belongs to (replies go there)


@dataclass(frozen=True)
class ChangeRequest:
    """Branches and state of a change request (pull request / merge request)."""

    head_ref: str | None = None
    head_sha: str | None = None
    head_repo: str | None = None  # full name of the repository holding the head branch; None if deleted
    base_ref: str | None = None
    base_sha: str | None = None
    is_fork: bool = False  # head lives in another repository (or a deleted one): untrusted code
    draft: bool = False
    state: str | None = None  # "open", "closed", ...


@dataclass(frozen=True)
class WorkflowRun:
    """The upstream run of a ``workflow_run``-style event (the run that finished, not ours)."""

    id: int | None = None
    name: str | None = None
    html_url: str | None = None
    event: str | None = None  # the event that started the upstream run
    status: str | None = None
    conclusion: str | None = None
    head_branch: str | None = None
    head_sha: str | None = None
    head_repo: str | None = None
    actor: str | None = None  # who started the upstream run
    change_request_numbers: tuple[int, ...] = ()


@dataclass(frozen=True)
class CIRun:
    """The CI job we run in, for "view the run" links. Filled from the environment when known."""

    run_id: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Event:
    """One event, normalised: enough to decide, fetch context, and reply.

    ``confidential`` marks an event about something only project members may see (a GitLab
    confidential issue, or an internal/confidential note). It does not change the decision; it
    tells later stages to keep the event's text out of public places (public logs, job outputs,
    commits or comments outside the entity).
    """

    platform: str  # "github" | "gitlab"
    name: str  # the platform's event name, e.g. "issue_comment", "pull_request_target"
    action: str | None  # the platform's action, e.g. "created", "synchronize"; None if it has none
    kind: EventKind
    activity: Activity
    repository: Repository | None = None
    actor: Actor | None = None  # None when the payload has no sender (e.g. schedule)
    entity_type: EntityType | None = None  # None for automation events
    number: int | None = None  # issue or change request number (GitLab: iid)
    title: str | None = None
    body: str | None = None  # the issue or change request description
    trigger_text: str | None = None  # text searched for the phrase: comment/review body, or body on opened
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    added_label: str | None = None  # the label just added (activity ``labeled``)
    added_assignee: str | None = None  # the login just assigned (activity ``assigned``)
    comment: Comment | None = None
    change_request: ChangeRequest | None = None  # set when entity_type is "change_request"
    workflow_run: WorkflowRun | None = None
    ref: str | None = None  # automation events: the git ref the run is for, if given
    ci_run: CIRun | None = None
    html_url: str | None = None  # the issue or change request page
    confidential: bool = False  # restricted to project members: keep its text out of public places

    @property
    def entity_term(self) -> str | None:
        """The entity type in the platform's words: ``issue``, ``pull_request``, ``merge_request``."""
        if self.entity_type == "change_request":
            return _CHANGE_REQUEST_TERMS.get(self.platform, "change_request")
        return self.entity_type


@dataclass(frozen=True)
class NotSupported:
    """An event the runner does not act on (e.g. ``push``, ``ping``), with the reason why."""

    platform: str
    name: str
    action: str | None
    reason: str  # "not triggered: ..."
    actor: Actor | None = None


__all__ = [
    "Activity",
    "Actor",
    "CIRun",
    "ChangeRequest",
    "Comment",
    "EntityType",
    "Event",
    "EventKind",
    "NotSupported",
    "Repository",
    "WorkflowRun",
]
