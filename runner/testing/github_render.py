"""The fake GitHub's state rendered as REST API objects (`issue`, `pull-request`, `issue-comment`,
`pull-request-review-comment`, `pull-request-review`, `diff-entry`, ... in GitHub's OpenAPI
description), with URLs pointing at the fake (stdlib only)."""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Any

from runner.testing.github_model import Comment, Issue, PullFile, Review, ReviewComment, fake_sha
from runner.testing.github_objects import (
    JSON,
    Urls,
    iso,
    label_object,
    legacy_node_id,
    link,
    reactions_object,
    repo_object,
    user_object,
)
from runner.testing.github_state import GitHubState

__all__ = ["Renderer", "permission_flags"]

_LEVEL = {"admin": 5, "maintain": 4, "write": 3, "triage": 2, "read": 1, "none": 0}
_PULL_ID_OFFSET = 500_000_000


def permission_flags(permission: str, private: bool) -> dict[str, bool]:
    """The `permissions` object (`admin`, `maintain`, `push`, `triage`, `pull`) for a role."""
    level = _LEVEL[permission] or (0 if private else 1)
    return {
        "admin": level >= 5,
        "maintain": level >= 4,
        "push": level >= 3,
        "triage": level >= 2,
        "pull": level >= 1,
    }


class Renderer:
    """Renders `state` as API objects; `caller` is the login the request authenticated as."""

    def __init__(self, state: GitHubState, urls: Urls, caller: str | None = None) -> None:
        self.state, self.urls, self.caller = state, urls, caller
        self.repo_api, self.repo_web = urls.repo_api(state.full_name), urls.repo_web(state.full_name)

    # -- accounts and repositories ------------------------------------------------------------------
    def user(self, login: str) -> JSON:
        """A `simple-user`."""
        user = self.state.user(login)
        return user_object(self.urls, user.login, user.id, type=user.type, site_admin=user.site_admin)

    def author(self, login: str) -> JSON | None:
        """A `nullable-simple-user`: null for an account that was deleted."""
        return None if login in self.state.deleted_users else self.user(login)

    def person(self, login: str) -> JSON:
        """A `simple-user` that may not be null: the `ghost` user for an account that was deleted."""
        return self.user("ghost" if login in self.state.deleted_users else login)

    def private_user(self, login: str) -> JSON:
        """A `private-user`, as `GET /user` answers for the token's own account."""
        user = self.state.user(login)
        created = iso(self.state.created_at)
        profile = dict.fromkeys(("name", "company", "blog", "location", "email", "bio", "twitter_username"))
        counts = ["public_repos", "public_gists", "followers", "following", "private_gists"]
        counts += ["total_private_repos", "owned_private_repos", "disk_usage", "collaborators"]
        return {
            **self.user(login),
            "user_view_type": "private",
            **profile,
            "name": user.login,
            "hireable": None,
            **dict.fromkeys(counts, 0),
            "created_at": created,
            "updated_at": created,
            "two_factor_authentication": True,
        }

    def repo(self, full_name: str | None = None, *, full: bool = False) -> JSON:
        """This repository (a `full-repository` with the caller's `permissions` if `full`), or the fork
        `full_name` of it (a `repository`)."""
        state = self.state
        full_name = full_name or state.full_name
        if full_name != state.full_name:
            owner = full_name.split("/", 1)[0]
            return repo_object(
                self.urls,
                owner=self.user(owner),
                name=full_name.split("/", 1)[1],
                repo_id=800_000 + zlib.crc32(full_name.encode()) % 100_000,
                private=state.private,
                fork=True,
                created_at=state.created_at,
                pushed_at=state.created_at,
            )
        caller = self.state.user(self.caller) if self.caller else None
        flags = permission_flags(caller.permission, state.private) if caller and full else None
        return repo_object(
            self.urls,
            owner=self.user(state.owner),
            name=state.repo_name,
            repo_id=state.repo_id,
            private=state.private,
            default_branch=state.default_branch,
            created_at=state.created_at,
            pushed_at=max((i.updated_at for i in state.issues.values()), default=state.created_at),
            permissions=flags,
            full=full,
        )

    def collaborator_permission(self, login: str) -> JSON:
        """`repository-collaborator-permission`: maintain counts as write and triage as read; an
        account without access reads a public repository ("read") and nothing of a private one."""
        role = self.state.user(login).permission
        if role == "none":
            role = "none" if self.state.private else "read"
        permission = {"maintain": "write", "triage": "read"}.get(role, role)
        user = {
            **self.user(login),
            "permissions": permission_flags(role, self.state.private),
            "role_name": role,
        }
        return {"permission": permission, "role_name": role, "user": user}

    # -- issues and pull requests -------------------------------------------------------------------
    def _labels(self, issue: Issue, *, strings: bool = False) -> list[Any]:
        """Label objects; plain names (as an `issue`'s `labels` may be) when `string_labels` is on."""
        if strings and self.state.string_labels:
            return list(issue.labels)
        return [
            label_object(self.urls, self.state.full_name, name, 600_000 + zlib.crc32(name.encode()) % 100_000)
            for name in issue.labels
        ]

    def _common(self, issue: Issue, *, pull: bool = False) -> JSON:
        return {
            "number": issue.number,
            "state": issue.state,
            "locked": issue.locked,
            "title": issue.title,
            "user": self.person(issue.user) if pull else self.author(issue.user),
            "body": issue.body,
            "labels": self._labels(issue, strings=not pull),
            "assignee": self.user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user(a) for a in issue.assignees],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at) if issue.closed_at is not None else None,
            "author_association": self.state.association(issue.user),
        }

    def issue(self, issue: Issue) -> JSON:
        """An `issue`; a pull request carries `pull_request` and `draft`."""
        api = f"{self.repo_api}/issues/{issue.number}"
        kind = "pull" if issue.pull else "issues"
        obj: JSON = {
            "id": issue.id,
            "node_id": legacy_node_id("Issue", issue.id),
            "url": api,
            "repository_url": self.repo_api,
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{self.repo_web}/{kind}/{issue.number}",
            **self._common(issue),
            "comments": len(self.state.comments(issue.number)),
            "state_reason": "completed" if issue.state == "closed" else None,
            "timeline_url": f"{api}/timeline",
            "performed_via_github_app": None,
            "reactions": reactions_object(api),
        }
        if issue.pull is not None:
            obj["draft"] = issue.pull.draft
            web = f"{self.repo_web}/pull/{issue.number}"
            obj["pull_request"] = {
                "url": f"{self.repo_api}/pulls/{issue.number}",
                "html_url": web,
                "diff_url": f"{web}.diff",
                "patch_url": f"{web}.patch",
                "merged_at": iso(issue.updated_at) if issue.pull.merged else None,
            }
        return obj

    def pull(self, issue: Issue, *, simple: bool = False) -> JSON:
        """A `pull-request` (or, for lists, a `pull-request-simple`)."""
        pull = issue.pull
        assert pull is not None
        api, web = f"{self.repo_api}/pulls/{issue.number}", f"{self.repo_web}/pull/{issue.number}"
        issue_api = f"{self.repo_api}/issues/{issue.number}"
        head_owner = pull.head_repo_full_name.split("/", 1)[0]
        obj: JSON = {
            "url": api,
            "id": issue.id + _PULL_ID_OFFSET,
            "node_id": legacy_node_id("PullRequest", issue.id + _PULL_ID_OFFSET),
            "html_url": web,
            "diff_url": f"{web}.diff",
            "patch_url": f"{web}.patch",
            "issue_url": issue_api,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{self.repo_api}/pulls/comments{{/number}}",
            "comments_url": f"{issue_api}/comments",
            "statuses_url": f"{self.repo_api}/statuses/{pull.head_sha}",
            **self._common(issue, pull=True),
            "merged_at": iso(issue.updated_at) if pull.merged else None,
            "merge_commit_sha": fake_sha(f"merge:{pull.head_sha}:{pull.base_sha}"),
            "requested_reviewers": [],
            "requested_teams": [],
            "head": {
                "label": f"{head_owner}:{pull.head_ref}",
                "ref": pull.head_ref,
                "sha": pull.head_sha,
                "user": self.user(head_owner),
                "repo": self.repo(pull.head_repo_full_name),
            },
            "base": {
                "label": f"{self.state.owner}:{pull.base_ref}",
                "ref": pull.base_ref,
                "sha": pull.base_sha,
                "user": self.user(self.state.owner),
                "repo": self.repo(),
            },
            "_links": {
                "self": link(api),
                "html": link(web),
                "issue": link(issue_api),
                "comments": link(f"{issue_api}/comments"),
                "review_comments": link(f"{api}/comments"),
                "review_comment": link(f"{self.repo_api}/pulls/comments{{/number}}"),
                "commits": link(f"{api}/commits"),
                "statuses": link(f"{self.repo_api}/statuses/{pull.head_sha}"),
            },
            "auto_merge": None,
            "draft": pull.draft,
        }
        if simple:
            return obj
        return {
            **obj,
            "merged": pull.merged,
            "mergeable": pull.mergeable,
            "rebaseable": pull.mergeable,
            "mergeable_state": "draft"
            if pull.draft and pull.mergeable_state == "clean"
            else pull.mergeable_state,
            "merged_by": self.user(self.state.owner) if pull.merged else None,
            "comments": len(self.state.comments(issue.number)),
            "review_comments": len(self.state.review_comments_of(issue.number)),
            "maintainer_can_modify": pull.maintainer_can_modify,
            "commits": pull.commits,
            "additions": sum(f.additions for f in pull.files),
            "deletions": sum(f.deletions for f in pull.files),
            "changed_files": len(pull.files),
        }

    def file(self, issue: Issue, f: PullFile) -> JSON:
        """A `diff-entry` of `GET .../pulls/{number}/files`."""
        assert issue.pull is not None
        sha, path = issue.pull.head_sha, self.urls.quote(f.filename)
        obj: JSON = {
            "sha": f.sha,
            "filename": f.filename,
            "status": f.status,
            "additions": f.additions,
            "deletions": f.deletions,
            "changes": f.additions + f.deletions,
            "blob_url": f"{self.repo_web}/blob/{sha}/{path}",
            "raw_url": f"{self.repo_web}/raw/{sha}/{path}",
            "contents_url": f"{self.repo_api}/contents/{path}?ref={sha}",
        }
        if f.patch is not None:
            obj["patch"] = f.patch
        if f.previous_filename is not None:
            obj["previous_filename"] = f.previous_filename
        return obj

    # -- comments and reviews -----------------------------------------------------------------------
    def comment(self, c: Comment) -> JSON:
        """An `issue-comment`."""
        api = f"{self.repo_api}/issues/comments/{c.id}"
        kind = "pull" if self.state.issue(c.issue_number).pull else "issues"
        return {
            "id": c.id,
            "node_id": legacy_node_id("IssueComment", c.id),
            "url": api,
            "html_url": f"{self.repo_web}/{kind}/{c.issue_number}#issuecomment-{c.id}",
            "body": c.body,
            "user": self.author(c.user),
            "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at),
            "issue_url": f"{self.repo_api}/issues/{c.issue_number}",
            "author_association": self.state.association(c.user),
            "performed_via_github_app": None,
            "reactions": reactions_object(api),
        }

    def review_comment(self, c: ReviewComment) -> JSON:
        """A `pull-request-review-comment`."""
        api, pull_api = f"{self.repo_api}/pulls/comments/{c.id}", f"{self.repo_api}/pulls/{c.number}"
        html = f"{self.repo_web}/pull/{c.number}#discussion_r{c.id}"
        obj: JSON = {
            "url": api,
            "pull_request_review_id": c.review_id,
            "id": c.id,
            "node_id": legacy_node_id("PullRequestReviewComment", c.id),
            "diff_hunk": c.diff_hunk,
            "path": c.path,
            "commit_id": c.commit_id,
            "original_commit_id": c.commit_id,
            "user": self.author(c.user),
            "body": c.body,
            "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at),
            "html_url": html,
            "pull_request_url": pull_api,
            "author_association": self.state.association(c.user),
            "_links": {"self": link(api), "html": link(html), "pull_request": link(pull_api)},
            "reactions": reactions_object(api),
            "start_line": c.start_line,
            "original_start_line": c.start_line,
            "start_side": c.start_side,
            "side": c.side,
            "subject_type": c.subject_type,
        }
        optional: dict[str, Any] = {
            "position": c.position,
            "original_position": c.position,
            "line": c.line,
            "original_line": c.line,
            "in_reply_to_id": c.in_reply_to_id,
        }
        obj.update({k: v for k, v in optional.items() if v is not None})
        return obj

    def review(self, r: Review) -> JSON:
        """A `pull-request-review`."""
        html, pull_api = (
            f"{self.repo_web}/pull/{r.number}#pullrequestreview-{r.id}",
            f"{self.repo_api}/pulls/{r.number}",
        )
        obj: JSON = {
            "id": r.id,
            "node_id": legacy_node_id("PullRequestReview", r.id),
            "user": self.author(r.user),
            "body": r.body,
            "state": r.state,
            "html_url": html,
            "pull_request_url": pull_api,
            "author_association": self.state.association(r.user),
            "_links": {"html": link(html), "pull_request": link(pull_api)},
            "commit_id": r.commit_id,
        }
        if r.submitted_at is not None:
            obj["submitted_at"] = iso(r.submitted_at)
        return obj

    def content_directory(self, ref: str, files: list[tuple[str, bytes]], folders: list[str]) -> list[JSON]:
        """A `content-directory`: a folder's entries, as `GET .../contents/{path}` answers for one."""
        entries = []
        for path, data in files:
            entry = self.content_file(path, ref, data)
            entries.append({k: v for k, v in entry.items() if k not in ("content", "encoding")})
        for path in folders:
            sha = hashlib.sha1(path.encode()).hexdigest()
            quoted = self.urls.quote(path)
            api, git = f"{self.repo_api}/contents/{quoted}?ref={ref}", f"{self.repo_api}/git/trees/{sha}"
            html = f"{self.repo_web}/tree/{ref}/{quoted}"
            entries.append(
                {
                    "type": "dir",
                    "size": 0,
                    "name": path.rsplit("/", 1)[-1],
                    "path": path,
                    "sha": sha,
                    "url": api,
                    "git_url": git,
                    "html_url": html,
                    "download_url": None,
                    "_links": {"self": api, "git": git, "html": html},
                }
            )
        return sorted(entries, key=lambda e: str(e["name"]))

    def content_file(self, path: str, ref: str, data: bytes) -> JSON:
        """A `content-file` (base64 `content`), as `GET .../contents/{path}` answers for a file."""
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        quoted = self.urls.quote(path)
        api, git = f"{self.repo_api}/contents/{quoted}?ref={ref}", f"{self.repo_api}/git/blobs/{sha}"
        html = f"{self.repo_web}/blob/{ref}/{quoted}"
        encoded = base64.encodebytes(data).decode()
        return {
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "size": len(data),
            "url": api,
            "html_url": html,
            "git_url": git,
            "download_url": f"{self.repo_web}/raw/{ref}/{quoted}",
            "type": "file",
            "content": encoded,
            "encoding": "base64",
            "_links": {"self": api, "git": git, "html": html},
        }
