"""Commits GitLab makes itself, from file contents: the Commits API (``POST
/projects/:id/repository/commits`` with ``actions``), for ``use_commit_signing`` on GitLab.

GitLab signs the commits it creates through the API and the Web IDE, so they show as Verified.
Each file is an action: ``create`` (new path), ``update`` or ``delete``, contents in base64. The
API has no "expected head": the branch's head is read first and a commit is refused when it moved
(``BranchMoved``), leaving a short window a concurrent push can still slip into. A new branch is
created with ``POST /repository/branches`` at the commit the run started from.
"""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

from runner.errors import PlatformError
from runner.platforms.base import BranchMoved, FileChanges
from runner.platforms.gitlab_client import GitLabClient

MAX_REQUEST_BYTES = 20 * 1024 * 1024


def commit_actions(changes: FileChanges) -> list[dict[str, Any]]:
    """The Commits API's ``actions`` for ``changes``."""
    actions: list[dict[str, Any]] = []
    for path, data in changes.files:
        if data is None:
            actions.append({"action": "delete", "file_path": path})
            continue
        kind = "create" if path in changes.new_paths else "update"
        content = base64.b64encode(data).decode("ascii")
        actions.append({"action": kind, "file_path": path, "content": content, "encoding": "base64"})
    return actions


class GitLabCommitter:
    """``ApiCommitter`` for one project (``project_path``: ``/projects/<id or url-encoded path>``)."""

    name = "GitLab Commits API"
    max_request_bytes = MAX_REQUEST_BYTES

    def __init__(self, client: GitLabClient, project_path: str) -> None:
        self.client, self.project_path = client, project_path

    def _head(self, branch: str) -> str | None:
        path = f"{self.project_path}/repository/branches/{urllib.parse.quote(branch, safe='')}"
        try:
            data = self.client.call(f"read branch {branch}", self.client.http_get, path)
        except PlatformError as exc:
            if "404" in exc.message or "not found" in exc.message.lower():
                return None
            raise
        return str((data.get("commit") or {}).get("id") or "") or None

    def create_branch(self, branch: str, sha: str) -> None:
        """``POST /repository/branches`` at ``sha``."""
        if self._head(branch) is not None:
            raise BranchMoved(f"branch {branch} exists already")
        payload = {"branch": branch, "ref": sha}
        self.client.call(
            f"create branch {branch}",
            self.client.http_post,
            f"{self.project_path}/repository/branches",
            payload,
        )

    def commit(self, branch: str, expected_head: str, changes: FileChanges, message: str) -> str:
        """One ``POST /repository/commits``, once the branch is seen at ``expected_head``."""
        head = self._head(branch)
        if head != expected_head:
            raise BranchMoved(f"{branch} moved on: it is at {head or 'nothing'}, not {expected_head[:12]}")
        payload = {"branch": branch, "commit_message": message.strip(), "actions": commit_actions(changes)}
        data = self.client.call(
            f"commit to {branch}", self.client.http_post, f"{self.project_path}/repository/commits", payload
        )
        if not isinstance(data, dict) or not data.get("id"):
            raise PlatformError(f"GitLab made no commit on {branch}: its answer has no commit id")
        return str(data["id"])


__all__ = ["GitLabCommitter", "commit_actions"]
