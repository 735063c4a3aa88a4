"""GitHub (github.com and Enterprise Server) through PyGithub, behind the ``Platform`` protocol.

SDK objects stay in this module and ``github_client.py`` (the transport: retries, tokens, errors):
every method returns the plain values of ``base.py``. PyGithub is imported lazily (it costs
~0.2 s), so building the adapter sends no request (except minting a GitHub App's token).

Writes that create something (a comment, a reply, a pull request, a review) are made once: after
an ambiguous failure the adapter looks for what it wrote among the newest items by its own account
before it sends again (see ``retry.write_once``).
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

from runner.errors import CredentialsError, PlatformError
from runner.platforms.attachments import github_image
from runner.platforms.base import (
    MAX_LISTED_FILES,
    ApiCommitter,
    CommentRef,
    InlineComment,
    PostedComment,
    PushTarget,
    RepoInfo,
    ThreadData,
)
from runner.platforms.github_auth import AppTokens, GitHubAuth, Tokens
from runner.platforms.github_client import GitHubClient
from runner.platforms.github_data import (
    COMMENTS_QUERY,
    default_graphql_url,
)
from runner.platforms.retry import ApiRetryPolicy, Backoff, Clock, Log

# How far back to look for a write that may have landed: it was sent moments ago, but the runner's
# clock and GitHub's may disagree by a little.
LOOKBACK_S = 300


class GitHubPlatform:
    """The ``Platform`` for one GitHub repository.

    ``retry``: how hard to try each call; ``log``: where retries are reported (default stderr);
    ``clock``: the time and the waits (tests pass one they control); ``on_token``: called with each
    GitHub App token minted (to mask it in the job's log)."""

    name = "github"

    def __init__(
        self,
        repo_full_name: str,
        auth: GitHubAuth,
        *,
        api_url: str,
        server_url: str,
        graphql_url: str | None = None,
        retry: ApiRetryPolicy | None = None,
        log: Log | None = None,
        clock: Clock | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> None:
        self.repo_full_name = repo_full_name
        self.api_url = api_url.rstrip("/")
        # GHES serves GraphQL at {server}/api/graphql, beside REST's /api/v3; github.com at
        # api.github.com/graphql. Actions says which in GITHUB_GRAPHQL_URL.
        self.graphql_url = (graphql_url or default_graphql_url(self.api_url)).rstrip("/")
        self.server_url = server_url.rstrip("/")
        self.backoff = Backoff("GitHub", retry, log=log, clock=clock)
        tokens = self._tokens(auth, on_token)
        self.client = GitHubClient(self.api_url, self.graphql_url, tokens, self.backoff)
        tokens.current()  # an App's token now: a bad key fails before anything is posted
        self._info: RepoInfo | None = None
        self._revoked = False

    def _tokens(self, auth: GitHubAuth, on_token: Callable[[str], None] | None) -> Tokens:
        if auth.token:
            return Tokens(auth.token)
        if auth.app_id and auth.app_private_key:
            return AppTokens(
                auth.app_id,
                auth.app_private_key,
                repo_full_name=self.repo_full_name,
                api_url=self.api_url,
                backoff=self.backoff,
                on_token=on_token,
            )
        raise CredentialsError(
            "no GitHub credentials", "set github_token (or app_id and app_private_key for a GitHub App)"
        )

    @property
    def token(self) -> str:
        """The token to use now (a GitHub App's is minted again before it expires)."""
        return self.client.tokens.current()

    # --- Platform ---------------------------------------------------------------------
    def repository(self) -> RepoInfo:
        """Repository facts (one request, cached)."""
        if self._info is None:
            data = self.client.get("read the repository", self._repo())
            self._info = RepoInfo(
                full_name=data["full_name"],
                default_branch=data["default_branch"],
                clone_url=data["clone_url"],
                html_url=data["html_url"],
                private=bool(data.get("private")),
            )
        return self._info

    def permission(self, login: str) -> str:
        """The collaborator permission (admin, maintain, write, triage, read, none)."""
        data = self.client.get(
            f"check {login}'s permission", self._repo(f"/collaborators/{login}/permission")
        )
        role = str(data.get("role_name") or "")
        # role_name distinguishes maintain/triage, which "permission" folds into write/read.
        return (
            role if role in ("maintain", "triage", "admin", "write", "read") else str(data.get("permission"))
        )

    def create_comment(self, number: int, body: str) -> CommentRef:
        """A new conversation comment on the issue or PR (made once, see the module's docstring)."""
        body = self.client.seal().sign(body)  # a runner acting as a person seals what it writes
        path, since = self._repo(f"/issues/{number}/comments"), self.backoff.since(LOOKBACK_S)
        data = self.client.create(
            "post a comment",
            path,
            {"body": body},
            landed=lambda: self._own(path, body, since),
            noun="comment",
        )
        return CommentRef(int(data["id"]), str(data["html_url"]), "issue")

    def reply_to_review_comment(
        self, number: int, comment_id: int, body: str, *, discussion_id: str | None = None
    ) -> CommentRef:
        """A reply in a review-comment thread (made once)."""
        body = self.client.seal().sign(body)
        since = self.backoff.since(LOOKBACK_S)
        data = self.client.create(
            "reply in the review thread",
            self._repo(f"/pulls/{number}/comments/{comment_id}/replies"),
            {"body": body},
            landed=lambda: self._own(self._repo(f"/pulls/{number}/comments"), body, since),
            noun="reply",
        )
        return CommentRef(int(data["id"]), str(data["html_url"]), "review")

    def update_comment(self, ref: CommentRef, body: str) -> None:
        """Edit a comment the runner wrote (issue comment or review comment id space)."""
        kind = "pulls" if ref.kind == "review" else "issues"
        path = self._repo(f"/{kind}/comments/{ref.id}")
        body = self.client.seal().sign(body)
        self.client.call("update the comment", self.client.request, "PATCH", path, {"body": body})

    def find_comment(self, number: int, marker: str) -> CommentRef | None:
        """The newest conversation comment of the runner's own containing ``marker``, with its
        body: a marker pasted by someone else (or, with a personal token, unsealed) is not the runner's."""
        comments = self.client.pages("list comments", self._repo(f"/issues/{number}/comments"))
        found = [
            c for c in comments
            if marker in (c.get("body") or "") and self.client.owns(c.get("user"), c.get("body") or "")
        ]  # fmt: skip
        if not found:
            return None
        newest = found[-1]
        return CommentRef(int(newest["id"]), str(newest["html_url"]), "issue", body=newest.get("body") or "")

    def fetch_thread(self, number: int, is_pull_request: bool) -> ThreadData:
        """Issue/PR, comments, reviews, review comments and files, every page: independent reads
        and the pages past the first at once (``github_gather.py``)."""
        from runner.platforms.github_gather import gather_thread

        return gather_thread(self.client, self.repo_full_name, number, is_pull_request)

    def read_file(self, path: str, ref: str) -> str | None:
        """A file's text at ``ref``, or None when it does not exist there."""
        from github import UnknownObjectException

        url = self._repo("/contents/" + urllib.parse.quote(path.strip("/")))

        def fetch() -> Any:
            try:
                return self.client.request("GET", url, None, {"ref": ref})[1]
            except UnknownObjectException:
                return None

        content = self.client.call(f"read {path} at {ref}", fetch)
        if not isinstance(content, dict) or content.get("type") != "file":
            return None  # absent, or a directory
        if content.get("encoding") != "base64":  # "none": over 1 MB, which the contents API leaves out
            raise PlatformError(f"GitHub could not read {path} at {ref}: the file is too large (over 1 MB)")
        return base64.b64decode(content.get("content") or "").decode("utf-8", errors="replace")

    def list_files(self, directory: str, ref: str) -> list[str]:
        """The files under ``directory`` at ``ref``: the contents API, one folder at a time."""
        from github import UnknownObjectException

        def fetch(folder: str) -> Any:
            url = self._repo("/contents/" + urllib.parse.quote(folder))
            try:
                return self.client.request("GET", url, None, {"ref": ref})[1]
            except UnknownObjectException:
                return None

        found: list[str] = []
        folders = [directory.strip("/")]
        for _ in range(20):  # folders visited, at most
            if not folders or len(found) >= MAX_LISTED_FILES:
                break
            folder = folders.pop(0)
            entries = self.client.call(f"list {folder} at {ref}", fetch, folder)
            for entry in entries if isinstance(entries, list) else ():  # absent, or a file
                if entry.get("type") == "file":
                    found.append(str(entry.get("path")))
                elif entry.get("type") == "dir":
                    folders.append(str(entry.get("path")))
        return sorted(found)[:MAX_LISTED_FILES]

    def find_pull_request(self, head_branch: str) -> str | None:
        """An open PR from ``head_branch`` in this repository."""
        pulls = self.client.call("list pull requests", self._pulls_from, head_branch)
        return str(pulls[0]["html_url"]) if pulls else None

    def create_pull_request(self, *, head: str, base: str, title: str, body: str, draft: bool) -> str:
        """Open a PR and return its URL (made once: the branch's open PR is looked for first)."""

        def landed() -> dict[str, Any] | None:
            pulls = self._pulls_from(head)
            return pulls[0] if pulls else None

        payload = {"head": head, "base": base, "title": title, "body": body, "draft": draft}
        data = self.client.create(
            "open a pull request",
            self._repo("/pulls"),
            payload,
            landed=landed,
            noun="pull request",
            conflict=lambda exc: (
                "already exists" in str(getattr(exc, "data", ""))
            ),  # 422 after a try that landed
        )
        return str(data["html_url"])

    def push_target(self) -> PushTarget:
        """HTTPS push with the current token (a GitHub App's is refreshed before it expires)."""
        return PushTarget(url=self.repository().clone_url, username="x-access-token", token=self.token)

    def api_committer(self) -> ApiCommitter:
        """GraphQL ``createCommitOnBranch``: commits GitHub signs (see ``github_commits.py``)."""
        from runner.platforms.github_commits import GitHubCommitter

        return GitHubCommitter(self.client, self.repo_full_name)

    def change_head_ref(self, number: int) -> str:
        """GitHub keeps every PR's head in the base repository, a fork's included."""
        return f"refs/pull/{int(number)}/head"

    def post_inline_comments(
        self,
        number: int,
        comments: Sequence[InlineComment],
        *,
        commit_sha: str,
        body: str,
        request_changes: bool = False,
    ) -> list[PostedComment]:
        """One review (``event: COMMENT``) holding every comment, anchored on ``commit_sha``.

        GitHub takes or refuses a review whole, so a refusal is reported for every comment. The
        review is made once: after an ambiguous failure, our review with this body is looked for."""
        if not comments:
            return []
        specs: list[dict[str, Any]] = []
        seal = self.client.seal()
        body = seal.sign(body)
        for c in comments:
            spec: dict[str, Any] = {
                "path": c.path,
                "line": c.line,
                "side": "RIGHT",
                "body": seal.sign(c.body),
            }
            if c.start_line is not None and c.start_line != c.line:
                spec.update(start_line=c.start_line, start_side="RIGHT")
            specs.append(spec)
        # Never APPROVE; REQUEST_CHANGES only when the workflow allows it (review_request_changes).
        event = "REQUEST_CHANGES" if request_changes else "COMMENT"
        payload = {"commit_id": commit_sha, "event": event, "body": body, "comments": specs}
        path = self._repo(f"/pulls/{number}/reviews")

        def landed() -> dict[str, Any] | None:
            reviews = self.client.fetch_pages(path)
            mine = [r for r in reviews if self._same(r, body) and r.get("commit_id") == commit_sha]
            return mine[-1] if mine else None

        try:
            data = self.client.create("post a review", path, payload, landed=landed, noun="review")
        except PlatformError as exc:
            return [PostedComment(c, None, exc.one_line()) for c in comments]
        ref = CommentRef(int(data["id"]), str(data.get("html_url") or ""), "review")
        return [PostedComment(c, ref) for c in comments]

    def download_image(self, url: str, max_bytes: int) -> bytes | None:
        """An image attached to a comment on this GitHub, or None when ``url`` is not one (not fetched)."""
        return github_image(url, self.server_url, self.client.tokens.current(), max_bytes)

    def close(self) -> None:
        """Revoke an App installation token we minted: it must not outlive the job."""
        if self.client.tokens.revocable() and not self._revoked:
            import contextlib

            import requests
            from github import GithubException

            self._revoked = True
            # Best effort: the token expires within the hour anyway.
            with contextlib.suppress(GithubException, requests.RequestException):
                self.client.request("DELETE", "/installation/token")

    # --- helpers ----------------------------------------------------------------------
    def _repo(self, path: str = "") -> str:
        return f"/repos/{self.repo_full_name}{path}"

    def _same(self, item: dict[str, Any], body: str) -> bool:
        """``item`` (a comment or review) is ours and says exactly ``body``."""
        text = str(item.get("body") or "").replace("\r\n", "\n").strip()
        return text == body.replace("\r\n", "\n").strip() and self.client.is_own(item.get("user"))

    def _own(self, path: str, body: str, since: str) -> dict[str, Any] | None:
        """The newest comment of the list at ``path`` updated since ``since`` that is ours and says
        exactly ``body``: a write that landed although its answer was lost."""
        mine = [c for c in self.client.fetch_pages(path, {"since": since}) if self._same(c, body)]
        return mine[-1] if mine else None

    def _pulls_from(self, head: str) -> list[dict[str, Any]]:
        owner = self.repo_full_name.split("/", 1)[0]
        label = head if ":" in head else f"{owner}:{head}"
        params = {"state": "open", "head": label}
        return list(self.client.request("GET", self._repo("/pulls"), None, params)[1])


__all__ = ["COMMENTS_QUERY", "GitHubAuth", "GitHubPlatform", "PlatformError"]
