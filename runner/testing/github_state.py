"""The state behind the fake GitHub: one repository, its users, branches, issues, pull requests,
comments and reviews (stdlib only). Tests fill it through `add_*`; the fake's handlers read it and
write to it through `runner.testing.github_writes`."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from runner.testing.github_model import (
    PERMISSIONS,
    Comment,
    Issue,
    PullFile,
    PullInfo,
    Review,
    ReviewComment,
    User,
    fake_sha,
    locate,
)

__all__ = ["MINIMIZE_CLASSIFIERS", "GitHubState"]

# The `ReportedContentClassifiers` of GitHub's GraphQL schema (the `minimizeComment` input).
MINIMIZE_CLASSIFIERS = ("SPAM", "ABUSE", "OFF_TOPIC", "OUTDATED", "DUPLICATE", "RESOLVED")


class GitHubState:
    """One repository (`owner`/`repo`) and everything in it. Thread-safe through `lock`.

    `branch_lookup`: optional `ref -> sha | None` consulted for branches of this repository that
    were not added with `add_branch` (e.g. read from a local bare repository the runner pushes to).
    `clock`: the time source for timestamps of things created through the API."""

    def __init__(
        self,
        owner: str = "octo-org",
        repo: str = "hello-world",
        *,
        owner_type: str = "Organization",
        private: bool = False,
        default_branch: str = "main",
        default_sha: str | None = None,
        branch_lookup: Callable[[str], str | None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.owner, self.repo_name, self.full_name = owner, repo, f"{owner}/{repo}"
        self.owner_type, self.private, self.default_branch = owner_type, private, default_branch
        self.branch_lookup, self.clock = branch_lookup, clock
        self.lock = threading.RLock()
        self.repo_id = 700001
        self.created_at = float(int(clock())) - 30 * 86400
        self.users: dict[str, User] = {}
        self.branches: dict[tuple[str, str], str] = {}
        self.files: dict[tuple[str, str], bytes] = {}
        self.issues: dict[int, Issue] = {}
        self.issue_comments: dict[int, Comment] = {}
        self.review_comments: dict[int, ReviewComment] = {}
        self.reviews: dict[int, Review] = {}
        self.pulls_created: list[Issue] = []
        # Answers the description allows and GitHub gives (see `delete_user`, `string_labels`).
        self.deleted_users: set[str] = set()
        self.string_labels = False
        self.reviews_created: list[Review] = []
        self._user_ids, self._issue_ids = itertools.count(1001), itertools.count(9_000_001)
        self._comment_ids, self._review_comment_ids = itertools.count(1_100_001), itertools.count(2_200_001)
        self._review_ids = itertools.count(3_300_001)
        self.add_user(owner, type=owner_type, permission="admin")
        self.add_branch(default_branch, default_sha or fake_sha(f"{self.full_name}:{default_branch}"))

    # -- test-side state API ------------------------------------------------------------------------
    def add_user(
        self,
        login: str,
        id: int | None = None,
        type: str = "User",
        permission: str = "write",
        *,
        association: str | None = None,
        site_admin: bool = False,
    ) -> User:
        """Add (or replace) an account with its permission on the repository."""
        if permission not in PERMISSIONS:
            raise ValueError(f"permission must be one of {PERMISSIONS}, not {permission!r}")
        with self.lock:
            old = self.users.get(login)
            user_id = id if id is not None else old.id if old else next(self._user_ids)
            user = User(login, user_id, type, permission, association, site_admin)
            self.users[login] = user
            return user

    def delete_user(self, login: str) -> None:
        """`login` deleted their account: REST answers `user: null` for their issues, comments,
        review comments and reviews (the description allows it; a pull request, whose `user` may
        not be null, shows the `ghost` user), GraphQL `author: null`."""
        with self.lock:
            self.deleted_users.add(login)

    def user(self, login: str) -> User:
        """The account `login`; one never added is a fresh account with no access ("none")."""
        with self.lock:
            if login not in self.users:
                kind = "Bot" if login.endswith("[bot]") else "User"
                self.add_user(login, type=kind, permission="none")
            return self.users[login]

    def association(self, login: str) -> str:
        """The `author_association` of `login` with the repository."""
        user = self.user(login)
        if user.association:
            return user.association
        if login == self.owner:
            return "OWNER"
        if user.permission in ("admin", "maintain", "write", "triage"):
            return "MEMBER" if self.owner_type == "Organization" else "COLLABORATOR"
        return "NONE"

    def add_branch(self, name: str, sha: str, repo_full_name: str | None = None) -> None:
        """Make branch `name` of this repository (or of the fork `repo_full_name`) point at `sha`."""
        with self.lock:
            self.branches[(repo_full_name or self.full_name, name)] = sha

    def add_file(self, path: str, content: str | bytes, ref: str | None = None) -> None:
        """Put a file at `path` on branch (or commit) `ref` (default: the default branch), for
        `GET /repos/{owner}/{repo}/contents/{path}?ref=...`."""
        data = content.encode() if isinstance(content, str) else content
        with self.lock:
            self.files[(ref or self.default_branch, path.strip("/"))] = data

    def file_at(self, path: str, ref: str | None = None) -> bytes | None:
        """A file's bytes at `ref` (a branch, or the commit a branch points at), or None."""
        ref = ref or self.default_branch
        with self.lock:
            names = [ref] + [
                name for (repo, name), sha in self.branches.items() if sha == ref and repo == self.full_name
            ]
            return next(
                (self.files[(n, path.strip("/"))] for n in names if (n, path.strip("/")) in self.files), None
            )

    def folder_at(
        self, path: str, ref: str | None = None
    ) -> tuple[list[tuple[str, bytes]], list[str]] | None:
        """The files (path, bytes) and subfolders (paths) directly in folder `path` at `ref`, or None."""
        ref, prefix = ref or self.default_branch, path.strip("/") + "/"
        with self.lock:
            names = {ref} | {
                name for (repo, name), sha in self.branches.items() if sha == ref and repo == self.full_name
            }
            under = {p: data for (n, p), data in self.files.items() if n in names and p.startswith(prefix)}
        if not under:
            return None
        files = sorted((p, data) for p, data in under.items() if "/" not in p[len(prefix) :])
        folders = sorted({prefix + p[len(prefix) :].split("/")[0] for p in under if "/" in p[len(prefix) :]})
        return files, folders

    def branch_sha(self, name: str, repo_full_name: str | None = None) -> str | None:
        """The commit a branch points at, or None if it does not exist."""
        full_name = repo_full_name or self.full_name
        with self.lock:
            sha = self.branches.get((full_name, name))
        if sha is None and full_name == self.full_name and self.branch_lookup is not None:
            sha = self.branch_lookup(name)
        return sha

    def _number(self, number: int | None) -> int:
        if number is None:
            return max(self.issues, default=0) + 1
        if number in self.issues:
            raise ValueError(f"issue or pull request #{number} already exists")
        return number

    def add_issue(
        self,
        number: int | None = None,
        title: str = "An issue",
        body: str | None = "",
        user: str = "octocat",
        *,
        state: str = "open",
        labels: Iterable[str] = (),
        assignees: Iterable[str] = (),
        created_at: float | None = None,
        updated_at: float | None = None,
        locked: bool = False,
    ) -> Issue:
        """Add an issue (number: the next free one unless given)."""
        with self.lock:
            self.user(user)
            created = self.clock() if created_at is None else created_at
            issue = Issue(
                self._number(number),
                next(self._issue_ids),
                title,
                body,
                user,
                state,
                list(labels),
                list(assignees),
                created,
                created if updated_at is None else updated_at,
                created if state == "closed" else None,
                locked,
            )
            self.issues[issue.number] = issue
            return issue

    def add_pull(
        self,
        number: int | None = None,
        head_ref: str = "feature",
        base_ref: str | None = None,
        head_sha: str | None = None,
        base_sha: str | None = None,
        head_repo_full_name: str | None = None,
        draft: bool = False,
        state: str = "open",
        files: Iterable[PullFile | Mapping[str, Any]] = (),
        title: str = "A pull request",
        body: str | None = "",
        user: str = "octocat",
        **extra: Any,
    ) -> Issue:
        """Add a pull request; its head (in this repository, or the fork `head_repo_full_name`) and
        base branches are created if missing. `extra`: `labels`, `assignees`, `created_at`,
        `updated_at`, `locked` (for the issue), `merged`, `mergeable`, `mergeable_state`,
        `maintainer_can_modify`, `commits` (for the pull request)."""
        issue_keys = ("labels", "assignees", "created_at", "updated_at", "locked")
        with self.lock:
            issue = self.add_issue(
                number, title, body, user, state=state, **{k: extra.pop(k) for k in issue_keys if k in extra}
            )
            head_repo = head_repo_full_name or self.full_name
            base_ref = base_ref or self.default_branch
            head_sha = head_sha or self.branch_sha(head_ref, head_repo) or fake_sha(f"head:{issue.number}")
            base_sha = base_sha or self.branch_sha(base_ref) or fake_sha(f"base:{issue.number}")
            self.branches.setdefault((head_repo, head_ref), head_sha)
            self.branches.setdefault((self.full_name, base_ref), base_sha)
            issue.pull = PullInfo(head_ref, base_ref, head_sha, base_sha, head_repo, draft, **extra)
            issue.pull.files = [PullFile.coerce(f) for f in files]
            if issue.pull.merged:
                issue.state, issue.closed_at = "closed", issue.updated_at
            return issue

    def add_comment(
        self,
        number: int,
        body: str,
        user: str = "octocat",
        created_at: float | None = None,
        updated_at: float | None = None,
    ) -> Comment:
        """Add a conversation comment to issue or pull request `number`. A comment by "ghost" is one
        whose author deleted their account: REST shows the `ghost` user, GraphQL a null `author`."""
        with self.lock:
            self.issue(number)
            self.user(user)
            created = self.clock() if created_at is None else created_at
            updated = created if updated_at is None else updated_at
            comment = Comment(next(self._comment_ids), number, body, user, created, updated)
            self.issue_comments[comment.id] = comment
            return comment

    def add_review_comment(
        self,
        number: int,
        body: str,
        user: str = "octocat",
        path: str = "README.md",
        line: int | None = None,
        side: str = "RIGHT",
        *,
        start_line: int | None = None,
        start_side: str | None = None,
        position: int | None = None,
        commit_id: str | None = None,
        diff_hunk: str | None = None,
        in_reply_to: int | None = None,
        review_id: int | None = None,
        created_at: float | None = None,
        updated_at: float | None = None,
    ) -> ReviewComment:
        """Add an inline review comment; position and diff hunk come from the file's patch when the
        line is in it. `in_reply_to`: the id of the comment this one answers (path and line follow)."""
        with self.lock:
            pull = self.pull(number)
            self.user(user)
            if in_reply_to is not None:
                root = self.review_comments[in_reply_to]
                path, line, side, position, diff_hunk = (
                    root.path,
                    root.line,
                    root.side,
                    root.position,
                    root.diff_hunk,
                )
                in_reply_to = root.in_reply_to_id or root.id
            patch = next((f.patch for f in pull.files if f.filename == path and f.patch), None)
            found = locate(patch, line, side, position) if patch else None
            if found is not None:
                position, line, hunk = found
                diff_hunk = diff_hunk or hunk
            created = self.clock() if created_at is None else created_at
            comment = ReviewComment(
                next(self._review_comment_ids),
                number,
                body,
                user,
                path,
                line,
                side,
                commit_id or pull.head_sha,
                diff_hunk or f"@@ -{line or 1},1 +{line or 1},1 @@",
                position,
                created,
                created if updated_at is None else updated_at,
                start_line,
                start_side if start_line is not None else None,
                in_reply_to,
                review_id,
                "line" if line is not None or position is not None else "file",
            )
            self.review_comments[comment.id] = comment
            return comment

    def add_review(
        self,
        number: int,
        user: str = "octocat",
        state: str = "COMMENTED",
        body: str = "",
        commit_id: str | None = None,
        submitted_at: float | None = None,
    ) -> Review:
        """Add a review of pull request `number` (`state`: APPROVED, CHANGES_REQUESTED, COMMENTED,
        DISMISSED or PENDING)."""
        with self.lock:
            pull = self.pull(number)
            self.user(user)
            when = None if state == "PENDING" else self.clock() if submitted_at is None else submitted_at
            review = Review(
                next(self._review_ids), number, user, body, state, commit_id or pull.head_sha, when
            )
            self.reviews[review.id] = review
            return review

    def minimize_comment(self, comment_id: int, reason: str = "SPAM") -> Comment:
        """Hide conversation comment `comment_id` as GitHub's `minimizeComment` mutation does;
        `reason` is its classifier: SPAM, ABUSE, OFF_TOPIC, OUTDATED, DUPLICATE or RESOLVED."""
        if reason not in MINIMIZE_CLASSIFIERS:
            raise ValueError(f"reason must be one of {MINIMIZE_CLASSIFIERS}, not {reason!r}")
        with self.lock:
            comment = self.issue_comments[comment_id]
            comment.minimized, comment.minimized_reason = True, reason
            return comment

    # -- getters --------------------------------------------------------------------------------------
    def issue(self, number: int) -> Issue:
        """Issue or pull request `number` (KeyError if absent)."""
        with self.lock:
            return self.issues[number]

    def pull(self, number: int) -> PullInfo:
        """The pull-request part of `number` (KeyError if it is absent or an issue)."""
        pull = self.issue(number).pull
        if pull is None:
            raise KeyError(number)
        return pull

    def comments(self, number: int) -> list[Comment]:
        """The conversation comments of `number`, oldest first."""
        with self.lock:
            return sorted(
                (c for c in self.issue_comments.values() if c.issue_number == number), key=lambda c: c.id
            )

    def comment(self, comment_id: int) -> Comment:
        """Conversation comment `comment_id` (KeyError if absent)."""
        with self.lock:
            return self.issue_comments[comment_id]

    def review_comments_of(self, number: int) -> list[ReviewComment]:
        """The inline review comments of pull request `number`, oldest first."""
        with self.lock:
            return sorted(
                (c for c in self.review_comments.values() if c.number == number), key=lambda c: c.id
            )

    def reviews_of(self, number: int) -> list[Review]:
        """The reviews of pull request `number`, oldest first."""
        with self.lock:
            return sorted((r for r in self.reviews.values() if r.number == number), key=lambda r: r.id)
