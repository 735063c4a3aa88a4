"""Commits GitHub makes itself, from file contents: GraphQL ``createCommitOnBranch``.

GitHub signs these with its own key, so they show as Verified (when an App's installation token
or ``GITHUB_TOKEN`` makes them; a personal token's commits are attributed to that user). The
mutation takes base64 contents of added or changed files and the paths of deleted ones, and
``expectedHeadOid``: a branch that moved meanwhile refuses the commit (``BranchMoved``), which the
flow answers as it answers a rejected push. It cannot set file modes: an executable bit or a
symlink arrives as a regular file (the flow says so). A new branch is created first with
``createRef`` at the commit the run started from.
"""

from __future__ import annotations

import base64
from typing import Any

from runner.errors import PlatformError
from runner.platforms.base import BranchMoved, FileChanges
from runner.platforms.github_client import GitHubClient

REPOSITORY_ID = """query RepositoryId($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) { id }
}"""
CREATE_REF = """mutation CreateRef($input: CreateRefInput!) {
  createRef(input: $input) { ref { name } }
}"""
CREATE_COMMIT = """mutation CreateCommitOnBranch($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid url } }
}"""
# GitHub refuses GraphQL bodies much over this; base64 adds a third. Larger change sets are
# split over several commits, each on top of the one before.
MAX_REQUEST_BYTES = 20 * 1024 * 1024


def commit_input(
    repository: str, branch: str, expected_head: str, changes: FileChanges, message: str
) -> dict[str, Any]:
    """The ``CreateCommitOnBranchInput`` for one commit."""
    headline, _, body = message.strip().partition("\n")
    additions = [
        {"path": path, "contents": base64.b64encode(data).decode("ascii")}
        for path, data in changes.files
        if data is not None
    ]
    deletions = [{"path": path} for path, data in changes.files if data is None]
    return {
        "branch": {"repositoryNameWithOwner": repository, "branchName": branch},
        "expectedHeadOid": expected_head,
        "message": {"headline": headline.strip() or "Changes by Claude", "body": body.strip()},
        "fileChanges": {"additions": additions, "deletions": deletions},
    }


class GitHubCommitter:
    """``ApiCommitter`` for one repository, through the adapter's GraphQL client."""

    name = "GitHub createCommitOnBranch"
    max_request_bytes = MAX_REQUEST_BYTES

    def __init__(self, client: GitHubClient, repository: str) -> None:
        self.client, self.repository = client, repository
        self._repository_id: str | None = None

    def create_branch(self, branch: str, sha: str) -> None:
        """``createRef refs/heads/<branch>`` at ``sha``; one that exists already at ``sha`` is fine."""
        if self._repository_id is None:
            owner, name = self.repository.split("/", 1)
            data = self.client.graphql(
                "look up the repository", REPOSITORY_ID, {"owner": owner, "name": name}
            )
            self._repository_id = str((data.get("repository") or {}).get("id") or "")
        payload = {"repositoryId": self._repository_id, "name": f"refs/heads/{branch}", "oid": sha}
        try:
            self.client.graphql(f"create branch {branch}", CREATE_REF, {"input": payload})
        except PlatformError as exc:
            if "already exists" not in exc.message:
                raise
            raise BranchMoved(f"branch {branch} exists already") from None

    def commit(self, branch: str, expected_head: str, changes: FileChanges, message: str) -> str:
        """One ``createCommitOnBranch``; its commit's sha."""
        variables = {"input": commit_input(self.repository, branch, expected_head, changes, message)}
        try:
            data = self.client.graphql(f"commit to {branch}", CREATE_COMMIT, variables)
        except PlatformError as exc:
            if "expected branch to point to" in exc.message.lower():
                raise BranchMoved(f"{branch} moved on: {exc.message}") from None
            raise
        commit = ((data.get("createCommitOnBranch") or {}).get("commit")) or {}
        if not commit.get("oid"):
            raise PlatformError(f"GitHub made no commit on {branch}: its answer has no commit oid")
        return str(commit["oid"])


__all__ = ["CREATE_COMMIT", "CREATE_REF", "REPOSITORY_ID", "GitHubCommitter", "commit_input"]
