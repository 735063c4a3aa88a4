"""GitLab (gitlab.com and self-managed) through python-gitlab, behind the ``Platform`` protocol.

SDK objects stay in this module: every method returns the plain values of ``base.py``.
python-gitlab is imported lazily, and we call its ``http_*`` layer with paths rather than its
object managers, which would fetch a project before every nested call.

Merge request or issue? GitLab numbers them separately (!5 and #5 are unrelated), and the
protocol's comment methods take only a number. The adapter therefore holds ``noteable``
("merge_request" or "issue"): pass it to the constructor, or set the attribute from the event
before the first comment; ``fetch_thread`` sets it when it is still unset, and every comment
method also takes a ``noteable=`` keyword. Refs the adapter returns carry their noteable, number
and discussion, so ``update_comment`` needs nothing else.

Credentials: ``token`` (``GITLAB_ACCESS_TOKEN``, ``api`` scope) or ``job_token`` (``CI_JOB_TOKEN``,
which cannot write notes or open merge requests: a ``CredentialsError`` names the access token).
Retries and errors are ``gitlab_client.py``'s; creates are made once (``retry.write_once``).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

from runner.errors import CredentialsError, PlatformError
from runner.platforms.attachments import gitlab_image
from runner.platforms.base import (
    CommentRef,
    InlineComment,
    PostedComment,
    PushTarget,
    RepoInfo,
    ThreadData,
)
from runner.platforms.gitlab_client import ACCESS_TOKEN_FIX, GitLabClient
from runner.platforms.gitlab_commits import GitLabCommitter
from runner.platforms.gitlab_data import (
    Noteable,
    access_permission,
    changed_file,
    error_message,
    is_bot_account,
    label_names,
    note_authors,
    strip_draft,
    suggestion,
    text_position,
    thread_comments,
    thread_state,
    with_write_access,
)
from runner.platforms.gitlab_files import list_files, read_file
from runner.platforms.parallel import together
from runner.platforms.retry import ApiRetryPolicy, Backoff, Clock, Log

LOOKBACK_S = 300  # how far back a write that may have landed is looked for (clocks disagree a little)

__all__ = ["GitLabPlatform", "Noteable", "suggestion", "text_position"]


class GitLabPlatform:
    """The ``Platform`` for one GitLab project (``project``: numeric id or "group/name" path)."""

    name = "gitlab"

    def __init__(
        self,
        project: str | int,
        *,
        url: str,
        token: str | None = None,
        job_token: str | None = None,
        noteable: Noteable | None = None,
        retry: ApiRetryPolicy | None = None,
        log: Log | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not token and not job_token:
            raise CredentialsError("no GitLab credentials", ACCESS_TOKEN_FIX + " (or run in a CI job)")
        self.project = project
        self.url = url.rstrip("/")
        self.token, self.job_token = token or None, None if token else job_token
        self.noteable: Noteable | None = noteable
        self.backoff = Backoff("GitLab", retry, log=log, clock=clock)
        self.client = GitLabClient(self.url, self.token, self.job_token, self.backoff)
        self._path = "/projects/" + urllib.parse.quote(str(project), safe="")
        self._project: dict[str, Any] | None = None
        self._discussions: dict[tuple[str, int, int], str] = {}  # (noteable, iid, note id) -> discussion

    # --- requests -------------------------------------------------------------------
    def _get(self, what: str, path: str, query: dict[str, Any] | None = None) -> Any:
        return self.client.call(what, self.client.http_get, self._path + path, query)

    def _list(self, what: str, path: str, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.client.call(what, self.client.http_list, self._path + path, query)

    def _noteable(self, override: Noteable | None) -> Noteable:
        noteable = override or self.noteable
        if noteable is None:
            raise PlatformError(
                "the GitLab adapter does not know whether to comment on a merge request or an issue",
                "set GitLabPlatform.noteable from the event before posting",
            )
        return noteable

    def _note_url(self, noteable: Noteable, number: int, note_id: int) -> str:
        root = (
            f"{self.url}/{self.project}"
            if isinstance(self.project, str) and not self.project.isdigit()
            else self.repository().html_url
        )
        return f"{root}/-/{noteable}s/{number}#note_{note_id}"

    # --- Platform ---------------------------------------------------------------------
    def repository(self) -> RepoInfo:
        """Project facts (one request, cached)."""
        if self._project is None:
            self._project = self._get("read the project", "")
        data = self._project
        return RepoInfo(
            full_name=str(data["path_with_namespace"]),
            default_branch=str(data.get("default_branch") or "main"),
            clone_url=str(data["http_url_to_repo"]),
            html_url=str(data["web_url"]),
            private=data.get("visibility") != "public",
        )

    def account(self, login: str) -> dict[str, Any] | None:
        """The user ``login`` (``id``, ``username``, ``state``, ``bot``), None when unknown."""
        users: Any = self.client.call(
            f"look up user {login}", self.client.http_get, "/users", {"username": login}
        )
        if not users:
            return None
        user = dict(users[0])
        user["bot"] = is_bot_account(user)
        return user

    def permission(self, login: str) -> str:
        """The member's level (inherited memberships count); blocked users and bots get "none"."""
        user = self.account(login)
        if user is None or user.get("state") != "active" or user["bot"]:
            return "none"
        from gitlab.exceptions import GitlabHttpError

        def member_of() -> Any:
            try:
                return self.client.http_get(f"{self._path}/members/all/{int(user['id'])}")
            except GitlabHttpError as exc:
                if exc.response_code == 404 and "Project Not Found" not in error_message(exc):
                    return None  # not a member
                raise

        member = self.client.call(f"check {login}'s access", member_of)
        if not isinstance(member, Mapping) or member.get("state", "active") != "active":
            return "none"
        return access_permission(member.get("access_level"))

    def create_comment(self, number: int, body: str, *, noteable: Noteable | None = None) -> CommentRef:
        """A new note on the merge request or issue (made once: see the module's docstring)."""
        kind = self._noteable(noteable)
        path = f"{self._path}/{kind}s/{number}/notes"
        newest = {"sort": "desc", "order_by": "created_at", "per_page": 20}
        data = self.client.create(
            "post a note",
            path,
            {"body": body},
            landed=lambda: self.client.own_note(self.client.http_get(path, newest), body),
            noun="note",
        )
        note_id = int(data["id"])
        return CommentRef(note_id, self._note_url(kind, number, note_id), "issue", number, kind)

    def reply_to_review_comment(
        self,
        number: int,
        comment_id: int,
        body: str,
        *,
        discussion_id: str | None = None,
        noteable: Noteable | None = None,
    ) -> CommentRef:
        """A reply in the discussion holding note ``comment_id`` (looked up unless given; made once)."""
        kind = self._noteable(noteable)
        discussion = discussion_id or self._discussion_of(kind, number, comment_id)
        path = f"{self._path}/{kind}s/{number}/discussions/{discussion}"
        data = self.client.create(
            "reply in the discussion",
            f"{path}/notes",
            {"body": body},
            landed=lambda: self.client.own_note(self.client.http_get(path).get("notes"), body),
            noun="reply",
        )
        note_id = int(data["id"])
        return CommentRef(note_id, self._note_url(kind, number, note_id), "review", number, kind, discussion)

    def update_comment(self, ref: CommentRef, body: str) -> None:
        """Edit a note the runner wrote."""
        kind = self._noteable(
            cast(Noteable, ref.noteable) if ref.noteable in ("issue", "merge_request") else None
        )
        if ref.number is None:
            raise PlatformError(
                f"GitLab note {ref.id} cannot be updated: its merge request or issue is unknown"
            )
        path = f"{self._path}/{kind}s/{ref.number}/notes/{ref.id}"
        self.client.call(
            "update the note", self.client.http_put, path, {"body": self.client.seal().sign(body)}
        )

    def find_comment(
        self, number: int, marker: str, *, noteable: Noteable | None = None
    ) -> CommentRef | None:
        """The newest note of the runner's own containing ``marker``, with its body: a marker
        pasted by someone else is not the runner's."""
        kind = self._noteable(noteable)
        notes = self._list(
            "list notes", f"/{kind}s/{number}/notes", {"sort": "asc", "order_by": "created_at"}
        )
        found = None
        for note in notes:
            body = note.get("body") or ""
            if not note.get("system") and marker in body and self.client.owns(note.get("author"), body):
                url = self._note_url(kind, number, int(note["id"]))
                found = CommentRef(int(note["id"]), url, "issue", number, kind, body=body)
        return found

    def fetch_thread(self, number: int, is_pull_request: bool) -> ThreadData:
        """MR (or issue), its discussions with diff positions, and the MR's changed files."""
        before = self.client.requests
        kind: Noteable = "merge_request" if is_pull_request else "issue"
        if self.noteable is None:
            self.noteable = kind
        noun = "merge request" if is_pull_request else "issue"
        item, discussions, diffs = together(  # independent reads: at once
            [
                partial(self._get, f"read {noun} {number}", f"/{kind}s/{number}"),
                partial(self._list, "list discussions", f"/{kind}s/{number}/discussions"),
                partial(self.client.merge_request_files, self._path, number) if is_pull_request else list,
            ]
        )
        fields: dict[str, Any] = {}
        files = [changed_file(entry) for entry in diffs]
        if is_pull_request:
            refs = item.get("diff_refs") or {}
            source, target = item.get("source_project_id"), item.get("target_project_id")
            is_fork = source is not None and target is not None and source != target
            fields = dict(
                draft=bool(item.get("draft") or item.get("work_in_progress")),
                head_ref=item.get("source_branch"),
                base_ref=item.get("target_branch"),
                head_sha=refs.get("head_sha") or item.get("sha"),
                base_sha=refs.get("base_sha"),  # the merge base the MR's diff is taken against
                head_repo=self._project_path(source) if is_fork else self.repository().full_name,
                is_fork=is_fork,
            )
        comments, where = thread_comments(discussions, {f.path: f.patch for f in files})
        comments = with_write_access(comments, self.client.writers(self._path, note_authors(discussions)))
        self._discussions.update({(kind, number, note): d for note, d in where.items()})
        comments.sort(key=lambda c: c.created_at or datetime.min.replace(tzinfo=UTC))
        return ThreadData(
            number=number,
            is_pull_request=is_pull_request,
            title=strip_draft(item.get("title") or "") if is_pull_request else item.get("title") or "",
            body=item.get("description") or "",
            author=str((item.get("author") or {}).get("username") or "ghost"),
            state=thread_state(item.get("state")),
            labels=label_names(item.get("labels")),
            confidential=item.get("confidential") is True,
            comments=tuple(comments),
            files=tuple(files),
            api_requests=self.client.requests - before,
            **fields,
        )

    def read_file(self, path: str, ref: str) -> str | None:
        """A file's text at ``ref``, or None when it does not exist there."""
        return read_file(self.client, self._path, path, ref)

    def list_files(self, directory: str, ref: str) -> list[str]:
        """The files under ``directory`` at ``ref`` (the repository tree, recursive)."""
        return list_files(self.client, self._path, directory, ref)

    def find_pull_request(self, head_branch: str) -> str | None:
        """An open MR from ``head_branch`` into this project."""
        found = self.client.call("list merge requests", self._merge_requests_from, head_branch)
        return str(found[0]["web_url"]) if found else None

    def _merge_requests_from(self, head_branch: str) -> list[dict[str, Any]]:
        query = {"source_branch": head_branch, "state": "opened"}
        return list(self.client.http_get(f"{self._path}/merge_requests", query))

    def create_pull_request(self, *, head: str, base: str, title: str, body: str, draft: bool) -> str:
        """Open an MR (a draft through the "Draft:" title prefix, which every version honours); made
        once: the branch's open MR is looked for after an ambiguous failure."""
        if draft and not title.lower().startswith(("draft:", "[draft]", "(draft)")):
            title = f"Draft: {title}"
        data = {"source_branch": head, "target_branch": base, "title": title, "description": body}

        def landed() -> dict[str, Any] | None:
            found = self._merge_requests_from(head)
            return found[0] if found else None

        created = self.client.create(
            "open a merge request",
            f"{self._path}/merge_requests",
            data,
            landed=landed,
            noun="merge request",
            conflict=lambda exc: getattr(exc, "response_code", None) == 409,  # after a try that landed
        )
        return str(created["web_url"])

    def push_target(self) -> PushTarget:
        """HTTPS push: ``oauth2`` with an access token, ``gitlab-ci-token`` with the job token."""
        if self.token:
            return PushTarget(url=self.repository().clone_url, username="oauth2", token=self.token)
        return PushTarget(url=self.repository().clone_url, username="gitlab-ci-token", token=self.job_token)

    def api_committer(self) -> GitLabCommitter:
        """The Commits API: commits GitLab signs (see ``gitlab_commits.py``)."""
        return GitLabCommitter(self.client, self._path)

    def change_head_ref(self, number: int) -> str:
        """GitLab keeps every MR's head in the target project, a fork's included."""
        return f"refs/merge-requests/{int(number)}/head"

    def post_inline_comments(
        self,
        number: int,
        comments: Sequence[InlineComment],
        *,
        commit_sha: str,
        body: str,
        request_changes: bool = False,
    ) -> list[PostedComment]:
        """One diff discussion per comment (``body`` is not needed: each note stands alone). None
        is posted when the MR's head is no longer ``commit_sha``: the lines may have moved."""
        if not comments:
            return []
        refs = self.diff_refs(number)
        if refs.get("head_sha") != commit_sha:
            why = f"the merge request's head moved from {commit_sha[:12]} to {str(refs.get('head_sha'))[:12]}"
            return [PostedComment(c, None, why) for c in comments]
        posted = []
        for c in comments:
            where = text_position(refs, c.path, new_line=c.line, old_line=c.old_line, old_path=c.old_path)
            try:
                posted.append(PostedComment(c, self.post_diff_note(number, where, c.body)))
            except PlatformError as exc:  # one refused position must not cost the others
                posted.append(PostedComment(c, None, exc.one_line()))
        return posted

    def download_image(self, url: str, max_bytes: int) -> bytes | None:
        """An upload of this project, or None when ``url`` is not one (not fetched)."""
        return gitlab_image(url, self.url, self.repository().full_name, self.token, self.job_token, max_bytes)

    def close(self) -> None:
        """Close the HTTP session (tokens are the job's; nothing to revoke)."""
        self.client.close()

    # --- GitLab only ------------------------------------------------------------------
    def start_pipeline(self, ref: str, variables: Mapping[str, str]) -> tuple[int, str]:
        """Run the project's pipeline on ``ref`` with ``variables``; returns its id and web URL.
        Made once: after an ambiguous failure, our newest API pipelines on ``ref`` are looked
        for one with exactly these variables."""
        data = {"ref": ref, "variables": [{"key": k, "value": v} for k, v in variables.items()]}
        query = {
            "ref": ref,
            "source": "api",
            "updated_after": self.backoff.since(LOOKBACK_S),
            "order_by": "id",
            "sort": "desc",
        }

        created = self.client.create(
            f"start a pipeline on {ref}",
            f"{self._path}/pipeline",
            data,
            landed=lambda: self.client.own_pipeline(f"{self._path}/pipelines", query, variables),
            noun="pipeline",
        )
        return int(created["id"]), str(created["web_url"])

    def diff_refs(self, number: int) -> dict[str, str]:
        """The MR's ``diff_refs`` (base, start and head sha), for ``text_position``."""
        return dict(self._get(f"read merge request {number}", f"/merge_requests/{number}")["diff_refs"])

    def post_diff_note(self, number: int, position: Mapping[str, Any], body: str) -> CommentRef:
        """A new diff discussion on the MR at ``position`` (see ``text_position``; a ``suggestion``
        block in ``body`` makes it an applicable suggestion)."""
        position = {"position_type": "text", **position}
        path = f"{self._path}/merge_requests/{number}/discussions"

        data = self.client.create(
            "post a diff note",
            path,
            {"body": body, "position": position},
            landed=lambda: self.client.own_diff_note(path, position, body),
            noun="diff note",
        )
        note_id = int(data["notes"][0]["id"])
        url = self._note_url("merge_request", number, note_id)
        return CommentRef(note_id, url, "review", number, "merge_request", str(data["id"]))

    # --- helpers ----------------------------------------------------------------------
    def _project_path(self, project_id: Any) -> str | None:
        """A fork's "group/name" (None when it is gone or hidden from us)."""
        from gitlab.exceptions import GitlabHttpError

        try:
            data = self.client.http_get(f"/projects/{int(project_id)}")
        except GitlabHttpError:
            return None
        return str(data["path_with_namespace"]) if isinstance(data, Mapping) else None

    def _discussion_of(self, kind: Noteable, number: int, note_id: int) -> str:
        key = (kind, number, note_id)
        if key not in self._discussions:
            for discussion in self._list("list discussions", f"/{kind}s/{number}/discussions"):
                for note in discussion.get("notes") or []:
                    self._discussions[(kind, number, int(note["id"]))] = str(discussion["id"])
        if key not in self._discussions:
            raise PlatformError(f"GitLab has no note {note_id} on {kind.replace('_', ' ')} {number}")
        return self._discussions[key]
