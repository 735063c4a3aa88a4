"""The state behind the fake GitLab: one project, its members, branches, files, commits, merge
requests (with diff refs and diffs), issues, notes and discussions, and pipelines (stdlib only).
Tests fill it through `add_*`; the endpoints in `gitlab_endpoints` read and write it."""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ACCESS_LEVELS",
    "ApiError",
    "Commit",
    "Discussion",
    "GitLabState",
    "Issue",
    "MergeRequest",
    "Note",
    "Pipeline",
    "User",
    "fake_sha",
]

ACCESS_LEVELS = {"none": 0, "guest": 10, "reporter": 20, "developer": 30, "maintainer": 40, "owner": 50}


class ApiError(Exception):
    """An error answer in GitLab's shape: `{"message": ...}` (or `{"error": ...}` for Grape's
    parameter validation)."""

    def __init__(self, status: int, message: Any, key: str = "message") -> None:
        super().__init__(f"{status} {message}")
        self.status, self.message, self.key = status, message, key

    def body(self) -> dict[str, Any]:
        return {self.key: self.message}


def fake_sha(seed: str) -> str:
    """A stable 40-hex commit sha for `seed`."""
    return hashlib.sha1(seed.encode()).hexdigest()


@dataclass
class User:
    id: int
    username: str
    name: str
    state: str = "active"  # active, blocked, deactivated, ...
    bot: bool = False
    access_level: int | None = None  # None: not a member of the project


@dataclass
class Commit:
    sha: str
    title: str
    message: str
    author_name: str = "Test Author"
    author_email: str = "author@example.com"
    parents: list[str] = field(default_factory=list)
    created_at: float = 0.0


@dataclass
class MergeRequest:
    id: int
    iid: int
    title: str
    description: str
    author: str
    source_branch: str
    target_branch: str
    base_sha: str
    start_sha: str
    head_sha: str
    source_project_id: int
    target_project_id: int
    created_at: float
    updated_at: float
    state: str = "opened"
    draft: bool = False
    labels: list[str] = field(default_factory=list)
    diffs: list[dict[str, Any]] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    milestone: str | None = None


@dataclass
class Issue:
    id: int
    iid: int
    title: str
    description: str
    author: str
    created_at: float
    updated_at: float
    state: str = "opened"
    labels: list[str] = field(default_factory=list)
    confidential: bool = False
    assignees: list[str] = field(default_factory=list)


@dataclass
class Note:
    id: int
    noteable: str  # "merge_request" or "issue"
    iid: int
    body: str
    author: str
    created_at: float
    updated_at: float
    discussion_id: str
    type: str | None = None  # None (a plain note), "DiscussionNote" or "DiffNote"
    system: bool = False
    position: dict[str, Any] | None = None
    resolvable: bool = False
    resolved: bool = False
    resolved_by: str | None = None
    internal: bool = False


@dataclass
class Discussion:
    id: str
    noteable: str
    iid: int
    individual_note: bool
    note_ids: list[int] = field(default_factory=list)


@dataclass
class Pipeline:
    id: int
    iid: int
    ref: str
    sha: str
    user: str
    created_at: float
    variables: list[dict[str, Any]] = field(default_factory=list)
    status: str = "created"
    source: str = "api"
    started_at: float | None = None
    finished_at: float | None = None
    coverage: str | None = None


class GitLabState:
    """One project (`namespace`/`name`) and everything in it. Thread-safe through `lock`.

    `branch_lookup`: `ref -> sha | None` for branches not added with `add_branch` (e.g. read from
    a local bare repository the runner pushes to). `clock`: the time source for timestamps."""

    def __init__(
        self,
        path: str = "group/project",
        *,
        project_id: int = 278964,
        visibility: str = "private",
        default_branch: str = "main",
        branch_lookup: Callable[[str], str | None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path, self.project_id, self.visibility = path, project_id, visibility
        self.default_branch, self.branch_lookup, self.clock = default_branch, branch_lookup, clock
        self.lock = threading.RLock()
        self.created_at = float(int(clock())) - 30 * 86400
        self.users: dict[str, User] = {}
        self.branches: dict[str, str] = {}
        self.protected: set[str] = {default_branch}
        self.files: dict[tuple[str, str], bytes] = {}
        self.commits: dict[str, Commit] = {}
        self.merge_requests: dict[int, MergeRequest] = {}
        self.issues: dict[int, Issue] = {}
        self.notes: dict[int, Note] = {}
        self.discussions: dict[str, Discussion] = {}
        self.pipelines: list[Pipeline] = []
        self.forks: dict[int, str] = {}  # fork project id -> its path
        self.deleted_users: set[str] = set()  # their notes and merge requests show the Ghost User
        self._user_ids, self._object_ids = itertools.count(1001), itertools.count(33_000_001)
        self._note_ids, self._pipeline_ids = itertools.count(500_000_001), itertools.count(77_000_001)
        self._mr_iids, self._issue_iids = itertools.count(1), itertools.count(1)
        self.add_commit(fake_sha(f"{path}:{default_branch}"), "Initial commit", branch=default_branch)

    # -- test-side state API ----------------------------------------------------------------------
    def add_user(
        self,
        username: str,
        access: str | int | None = "developer",
        *,
        state: str = "active",
        bot: bool = False,
    ) -> User:
        """Add (or replace) an account: `access` is a role name, an access level or None (not a
        member); `state` "blocked" makes a blocked user; `bot` a bot account."""
        level = ACCESS_LEVELS[access] if isinstance(access, str) else access
        with self.lock:
            old = self.users.get(username)
            user_id = old.id if old else next(self._user_ids)
            name = username.replace("_", " ").title()
            self.users[username] = User(user_id, username, name, state, bot, level or None)
            return self.users[username]

    def delete_user(self, username: str) -> None:
        """`username` is deleted: GitLab shows their notes, issues and merge requests as by its
        "Ghost User" (username `ghost`)."""
        with self.lock:
            self.deleted_users.add(username)
            if "ghost" not in self.users:
                self.add_user("ghost", None)

    def user(self, username: str) -> User:
        """The account `username` (added as a non-member when unknown)."""
        with self.lock:
            return self.users.get(username) or self.add_user(username, None)

    def add_branch(self, name: str, sha: str) -> None:
        with self.lock:
            self.branches[name] = sha

    def branch_sha(self, name: str) -> str | None:
        with self.lock:
            sha = self.branches.get(name)
        return sha if sha is not None or self.branch_lookup is None else self.branch_lookup(name)

    def add_commit(
        self,
        sha: str,
        title: str,
        *,
        branch: str | None = None,
        parents: Iterable[str] = (),
        message: str = "",
    ) -> Commit:
        """Record commit `sha` (and move `branch` to it)."""
        with self.lock:
            commit = Commit(sha, title, message or title, parents=list(parents), created_at=self.clock())
            self.commits[sha] = commit
            if branch:
                self.branches[branch] = sha
            return commit

    def add_file(self, path: str, content: str | bytes, ref: str | None = None) -> None:
        """Put a file at `path` on branch or commit `ref` (default: the default branch)."""
        with self.lock:
            self.files[(ref or self.default_branch, path)] = (
                content.encode() if isinstance(content, str) else content
            )

    def files_under(self, folder: str, ref: str) -> list[str]:
        """The paths of the files under `folder` at branch or commit `ref`."""
        prefix = folder.strip("/") + "/"
        with self.lock:
            refs = {ref, self.branches.get(ref)} | {b for b, s in self.branches.items() if s == ref}
            return sorted({p for (r, p) in self.files if r in refs and p.startswith(prefix)})

    def file(self, path: str, ref: str) -> bytes | None:
        with self.lock:
            found = self.files.get((ref, path))
            if found is None:  # a branch's files are also its head commit's
                sha = self.branches.get(ref)
                branch = next((b for b, s in self.branches.items() if s == ref), None)
                found = (
                    self.files.get((sha, path)) if sha else self.files.get((branch, path)) if branch else None
                )
            return found

    def add_merge_request(
        self,
        title: str = "A change",
        *,
        iid: int | None = None,
        description: str = "",
        author: str = "alice",
        source_branch: str = "feature",
        target_branch: str | None = None,
        diffs: Iterable[Mapping[str, Any]] = (),
        labels: Iterable[str] = (),
        draft: bool = False,
        state: str = "opened",
        fork_path: str | None = None,
        assignees: Iterable[str] = (),
        reviewers: Iterable[str] = (),
        milestone: str | None = None,
    ) -> MergeRequest:
        """Add a merge request; `diffs` are entries of `/diffs` (`old_path`, `new_path`, `diff`,
        flags default to a modified file); `fork_path`: the source project is that fork."""
        with self.lock:
            target = target_branch or self.default_branch
            iid = iid if iid is not None else next(self._mr_iids)
            base = self.branch_sha(target) or fake_sha(target)
            head = self.branch_sha(source_branch) if fork_path is None else None
            head = head or fake_sha(f"{fork_path}:{source_branch}:{iid}")
            self.add_user(author, self.users[author].access_level if author in self.users else "developer")
            source_id = self.project_id
            if fork_path:
                source_id = next(
                    (i for i, p in self.forks.items() if p == fork_path),
                    self.project_id + len(self.forks) + 1,
                )
                self.forks[source_id] = fork_path
            now = self.clock()
            mr = MergeRequest(
                next(self._object_ids), iid, title, description, author, source_branch, target,
                base, base, head, source_id, self.project_id, now, now, state, draft, list(labels),
                [_diff_entry(d) for d in diffs], list(assignees), list(reviewers), milestone,
            )  # fmt: skip
            self.merge_requests[iid] = mr
            return mr

    def add_issue(
        self,
        title: str = "A problem",
        *,
        iid: int | None = None,
        description: str = "",
        author: str = "alice",
        labels: Iterable[str] = (),
        confidential: bool = False,
        state: str = "opened",
    ) -> Issue:
        with self.lock:
            iid = iid if iid is not None else next(self._issue_iids)
            self.user(author)
            now = self.clock()
            issue = Issue(
                next(self._object_ids),
                iid,
                title,
                description,
                author,
                now,
                now,
                state,
                list(labels),
                confidential,
            )
            self.issues[iid] = issue
            return issue

    def add_note(
        self,
        noteable: str,
        iid: int,
        body: str,
        *,
        author: str = "alice",
        system: bool = False,
        discussion_id: str | None = None,
        position: Mapping[str, Any] | None = None,
        created_at: float | None = None,
        resolved: bool = False,
    ) -> Note:
        """Add a note on merge request or issue `iid`: a new individual note, a reply in
        `discussion_id`, or (with `position`) the first note of a new diff discussion."""
        with self.lock:
            self.user(author)
            discussion = self.discussions.get(discussion_id or "")
            if discussion is None:
                seed = f"{noteable}:{iid}:{len(self.discussions)}:{body}"
                new_id = discussion_id or hashlib.sha1(seed.encode()).hexdigest()
                individual = position is None and discussion_id is None
                discussion = Discussion(new_id, noteable, iid, individual)
                self.discussions[new_id] = discussion
            elif discussion.individual_note:  # replying turns a plain note into a thread
                discussion.individual_note = False
                for note_id in discussion.note_ids:
                    self.notes[note_id].type, self.notes[note_id].resolvable = (
                        "DiscussionNote",
                        noteable == "merge_request",
                    )
            first = self.notes[discussion.note_ids[0]] if discussion.note_ids else None
            kind = (
                None
                if discussion.individual_note
                else "DiffNote"
                if (position or (first and first.position))
                else "DiscussionNote"
            )
            when = self.clock() if created_at is None else created_at
            note = Note(
                next(self._note_ids), noteable, iid, body, author, when, when, discussion.id, kind, system,
                _position(position) if position else first.position if first else None,
                resolvable=kind is not None and noteable == "merge_request" and not system, resolved=resolved,
            )  # fmt: skip
            self.notes[note.id] = note
            discussion.note_ids.append(note.id)
            return note

    def add_pipeline(
        self, ref: str, *, sha: str | None = None, user: str = "alice", status: str = "created",
        variables: Iterable[Mapping[str, Any]] = (), coverage: str | None = None, source: str = "api",
    ) -> Pipeline:  # fmt: skip
        """Record a pipeline; a finished `status` (success, failed, ...) gets start/finish times."""
        with self.lock:
            now = self.clock()
            done = status in ("success", "failed", "canceled", "skipped")
            pipeline = Pipeline(
                next(self._pipeline_ids), len(self.pipelines) + 1, ref,
                sha or self.branch_sha(ref) or fake_sha(ref), user, now,
                [dict(v) for v in variables], status, source,
                now if done or status == "running" else None, now if done else None, coverage,
            )  # fmt: skip
            self.pipelines.append(pipeline)
            return pipeline

    def note_list(self, noteable: str, iid: int) -> list[Note]:
        with self.lock:
            return [n for n in self.notes.values() if n.noteable == noteable and n.iid == iid]

    def discussion_list(self, noteable: str, iid: int) -> list[Discussion]:
        with self.lock:
            return [d for d in self.discussions.values() if d.noteable == noteable and d.iid == iid]


def _position(position: Mapping[str, Any]) -> dict[str, Any]:
    """A diff note's position as GitLab answers it: every key, null where not given."""
    keys = (
        "base_sha",
        "start_sha",
        "head_sha",
        "old_path",
        "new_path",
        "position_type",
        "old_line",
        "new_line",
    )
    data = {key: position.get(key) for key in keys}
    data["old_path"] = data["old_path"] or data["new_path"]
    data["position_type"] = data["position_type"] or "text"
    data["line_range"] = position.get("line_range")
    return data


def _diff_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    new_path = str(entry.get("new_path") or entry.get("old_path"))
    return {
        "old_path": str(entry.get("old_path") or new_path),
        "new_path": new_path,
        "a_mode": entry.get("a_mode", "100644"),
        "b_mode": entry.get("b_mode", "100644"),
        "diff": str(entry.get("diff") or ""),
        "new_file": bool(entry.get("new_file", False)),
        "renamed_file": bool(entry.get("renamed_file", False)),
        "deleted_file": bool(entry.get("deleted_file", False)),
    }
