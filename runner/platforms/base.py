"""The ``Platform`` protocol and the plain values adapters return.

Adapters (``github.py``, ``gitlab.py``) translate SDK objects into these dataclasses
at the edge, so nothing past the adapter knows which host, or which SDK, it talks to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# Permission levels, weakest first; "maintain" and "triage" are GitHub's, mapped by the adapter.
PERMISSION_ORDER = ("none", "read", "triage", "write", "maintain", "admin")


def permission_at_least(level: str, required: str) -> bool:
    """True when ``level`` grants at least ``required`` (unknown levels grant nothing)."""
    if level not in PERMISSION_ORDER or required not in PERMISSION_ORDER:
        return False
    return PERMISSION_ORDER.index(level) >= PERMISSION_ORDER.index(required)


@dataclass(frozen=True)
class CommentRef:
    """A comment the runner wrote: its id, its web URL, and which id space it lives in."""

    id: int
    url: str
    kind: str = "issue"  # "issue" (issue/PR conversation) or "review" (a reply in a review thread)
    # GitLab addresses a note through its merge request or issue, so its ref says which one;
    # ``discussion_id`` is the thread a reply went into (GitHub leaves all three unset).
    number: int | None = None
    noteable: str | None = None  # "merge_request" or "issue"
    discussion_id: str | None = None
    body: str | None = field(default=None, compare=False, repr=False)  # as found (find_comment)


@dataclass(frozen=True)
class ThreadComment:
    """One comment, review or review comment of a thread, as the host reported it."""

    id: int
    kind: str  # "comment", "review" or "review_comment"
    author: str
    body: str
    created_at: datetime | None
    updated_at: datetime | None = None
    author_is_bot: bool = False
    minimized: bool = False
    review_state: str | None = None  # reviews: APPROVED, CHANGES_REQUESTED, COMMENTED
    path: str | None = None  # review comments: file and line they sit on, and the diff around it
    line: int | None = None
    diff_hunk: str | None = None
    in_reply_to: int | None = None
    # GitLab: the discussion a note belongs to (to reply in it), a diff note's ``position``
    # (base_sha, start_sha, head_sha, old_path, new_path, old_line, new_line) and whether the
    # thread is resolved. GitHub leaves them unset.
    discussion_id: str | None = None
    position: dict[str, Any] | None = field(default=None, compare=False)
    resolved: bool | None = None
    # Whether the author can push to the repository, as the host reported it with the comment
    # (GitHub: ``author_association``, see ``can_write_by_association``); None: not reported.
    # The prompt marks a comment whose author cannot: "(no write access)".
    author_can_write: bool | None = None


# GitHub's ``author_association`` values of people who normally can push: the owner, members of
# the owning organisation, invited collaborators. A member or collaborator may hold read access
# only: this feeds a hint to the model, never a permission check (``Platform.permission`` is one).
WRITE_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


def can_write_by_association(association: str | None) -> bool | None:
    """GitHub's ``author_association`` of a comment => ``ThreadComment.author_can_write``."""
    if not association:
        return None
    return association.upper() in WRITE_ASSOCIATIONS


@dataclass(frozen=True)
class ChangedFile:
    """One file changed by a pull request."""

    path: str
    status: str  # added, modified, removed, renamed, ...
    additions: int = 0
    deletions: int = 0
    patch: str | None = None
    previous_path: str | None = None


@dataclass(frozen=True)
class ThreadData:
    """An issue or pull request with its conversation, fetched in full (paginated)."""

    number: int
    is_pull_request: bool
    title: str
    body: str
    author: str
    state: str
    labels: tuple[str, ...] = ()
    draft: bool = False
    head_ref: str | None = None
    base_ref: str | None = None
    head_sha: str | None = None
    base_sha: str | None = None
    head_repo: str | None = None  # "owner/name" of the PR's source repository
    is_fork: bool = False
    comments: tuple[ThreadComment, ...] = ()
    files: tuple[ChangedFile, ...] = ()
    confidential: bool = False  # a GitLab confidential issue: only some members may read it
    api_requests: int = 0  # how many API requests the fetch took (the context budget is asserted on it)


@dataclass(frozen=True)
class RepoInfo:
    """The repository the run works on."""

    full_name: str
    default_branch: str
    clone_url: str
    html_url: str
    private: bool = False


class BranchMoved(Exception):
    """A commit made through the host's API was refused: the branch is no longer where we said."""


@dataclass(frozen=True)
class FileChanges:
    """The files of one commit made through the host's API: contents (None: deleted) by path;
    ``new_paths`` did not exist before (GitLab tells a create from an update)."""

    files: tuple[tuple[str, bytes | None], ...]
    new_paths: frozenset[str] = frozenset()


class ApiCommitter(Protocol):
    """Commits made by the host from file contents (GitHub's ``createCommitOnBranch``, GitLab's
    Commits API): the host signs them, so they show as Verified."""

    name: str  # "GitHub createCommitOnBranch", for messages
    max_request_bytes: int  # a change set larger than this is split over several commits

    def create_branch(self, branch: str, sha: str) -> None:
        """Create ``branch`` at commit ``sha`` (which the host has)."""
        ...

    def commit(self, branch: str, expected_head: str, changes: FileChanges, message: str) -> str:
        """One commit on ``branch`` (which must point at ``expected_head``, else ``BranchMoved``);
        returns its sha."""
        ...


@dataclass(frozen=True)
class PushTarget:
    """Where and how the runner pushes: the URL and the credentials git should use."""

    url: str
    username: str = "x-access-token"
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class InlineComment:
    """A comment on one line (or a range ending at ``line``) of a change request's diff, new side.

    ``body`` is already in the host's markup (a suggestion block for GitLab or GitHub).
    ``old_line``: the same line's number on the old side when it is an unchanged line (GitLab
    needs both numbers to anchor on a context line); None for an added line.
    """

    path: str
    line: int
    body: str
    start_line: int | None = None  # first line of a multi-line range (GitHub's ``start_line``)
    old_line: int | None = None
    old_path: str | None = None


@dataclass(frozen=True)
class PostedComment:
    """What became of one ``InlineComment``: where it is, or why the host refused it."""

    comment: InlineComment
    ref: CommentRef | None
    error: str | None = None


MAX_LISTED_FILES = 200  # Platform.list_files: a config folder, never a whole tree


class Platform(Protocol):
    """What the flow needs from a code host."""

    name: str

    def repository(self) -> RepoInfo:
        """The repository, with its default branch."""
        ...

    def permission(self, login: str) -> str:
        """The user's permission on the repository, one of ``PERMISSION_ORDER``."""
        ...

    def create_comment(self, number: int, body: str) -> CommentRef:
        """A new comment on the issue or pull request."""
        ...

    def reply_to_review_comment(
        self, number: int, comment_id: int, body: str, *, discussion_id: str | None = None
    ) -> CommentRef:
        """A reply in the review thread of ``comment_id``."""
        ...

    def update_comment(self, ref: CommentRef, body: str) -> None:
        """Replace the body of a comment the runner wrote."""
        ...

    def find_comment(self, number: int, marker: str) -> CommentRef | None:
        """The newest comment on the thread containing ``marker`` (sticky comments), if any."""
        ...

    def fetch_thread(self, number: int, is_pull_request: bool) -> ThreadData:
        """The issue or pull request with every comment, review, review comment and changed file."""
        ...

    def read_file(self, path: str, ref: str) -> str | None:
        """A file's text at ``ref`` (trusted config comes from the default branch), None if absent."""
        ...

    def list_files(self, directory: str, ref: str) -> list[str]:
        """The paths of the files under ``directory`` at ``ref``, subfolders included (at most
        ``MAX_LISTED_FILES``); empty when it is absent."""
        ...

    def find_pull_request(self, head_branch: str) -> str | None:
        """The URL of an open pull request from ``head_branch``, if one exists."""
        ...

    def create_pull_request(self, *, head: str, base: str, title: str, body: str, draft: bool) -> str:
        """Open a pull request; returns its URL."""
        ...

    def push_target(self) -> PushTarget:
        """How to push to the repository with the runner's token."""
        ...

    def api_committer(self) -> ApiCommitter | None:
        """Commits through the host's API (``use_commit_signing``), or None where there are none."""
        ...

    def change_head_ref(self, number: int) -> str:
        """The full ref under which the host keeps change request ``number``'s head in this
        repository (also for forks): what the runner fetches when it cannot push to the source."""
        ...

    def post_inline_comments(
        self,
        number: int,
        comments: Sequence[InlineComment],
        *,
        commit_sha: str,
        body: str,
        request_changes: bool = False,
    ) -> list[PostedComment]:
        """Post ``comments`` on the diff of change request ``number`` as seen at ``commit_sha``
        (its head when the lines were computed); ``body`` introduces them where the host groups
        comments (a GitHub review). One result per comment, in order; refusals are reported in
        the result rather than raised, so the caller can fall back for exactly those."""
        ...

    def download_image(self, url: str, max_bytes: int) -> bytes | None:
        """An image attached to a comment or description on this host, at most ``max_bytes``;
        None (and nothing fetched) when ``url`` is not one of the host's own attachments.
        Raises ``PlatformError`` when the download fails or the file is too big or not an image."""
        ...

    def close(self) -> None:
        """Release what the adapter holds (e.g. revoke a GitHub App installation token)."""
        ...
