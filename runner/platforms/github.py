"""GitHub (github.com and Enterprise Server) through PyGithub, behind the ``Platform`` protocol.

SDK objects stay in this module: every method returns the plain values of ``base.py``.
PyGithub is imported lazily (it costs ~0.2 s) and built lazy, so asking for an issue or
a comment by number sends no request until something is actually read or written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runner.errors import CredentialsError, PlatformError
from runner.platforms.base import (
    ChangedFile,
    CommentRef,
    InlineComment,
    PostedComment,
    PushTarget,
    RepoInfo,
    ThreadComment,
    ThreadData,
)
from runner.platforms.github_auth import GitHubAuth, installation_token
from runner.platforms.github_data import (
    COMMENTS_QUERY,
    default_graphql_url,
    error_message,
    graphql_comment,
    next_link,
    pull_fields,
    rest_changed_file,
    rest_review,
    rest_review_comment,
)

if TYPE_CHECKING:
    from github import Github
    from github.Repository import Repository

PER_PAGE = 100  # the most GitHub serves per page: fewest requests for big threads


class GitHubPlatform:
    """The ``Platform`` for one GitHub repository."""

    name = "github"

    def __init__(
        self,
        repo_full_name: str,
        auth: GitHubAuth,
        *,
        api_url: str,
        server_url: str,
        graphql_url: str | None = None,
    ) -> None:
        self.repo_full_name = repo_full_name
        self.api_url = api_url.rstrip("/")
        # GHES serves GraphQL at {server}/api/graphql, beside REST's /api/v3; github.com at
        # api.github.com/graphql. Actions says which in GITHUB_GRAPHQL_URL.
        self.graphql_url = (graphql_url or default_graphql_url(self.api_url)).rstrip("/")
        self.server_url = server_url.rstrip("/")
        self._app_token = False
        self.token = self._resolve_token(auth)
        self._github: Github | None = None
        self._repo: Repository | None = None
        self._info: RepoInfo | None = None
        self._requests = 0  # counted so the context budget (requests per thread) can be asserted

    # --- connection -------------------------------------------------------------------
    def _resolve_token(self, auth: GitHubAuth) -> str:
        if auth.token:
            return auth.token
        if auth.app_id and auth.app_private_key:
            self._app_token = True
            return installation_token(
                auth.app_id, auth.app_private_key, repo_full_name=self.repo_full_name, api_url=self.api_url
            )
        raise CredentialsError(
            "no GitHub credentials", "set github_token (or app_id and app_private_key for a GitHub App)"
        )

    @property
    def github(self) -> Github:
        """The PyGithub client (created on first use)."""
        if self._github is None:
            from github import Auth, Github

            self._github = Github(
                auth=Auth.Token(self.token),
                base_url=self.api_url,
                per_page=PER_PAGE,
                lazy=True,
                retry=3,
                # We throttle our own writes (progress updates); PyGithub's default pauses
                # (0.25 s per request, 1 s per write) would triple the time to first comment.
                seconds_between_requests=None,
                seconds_between_writes=None,
            )
        return self._github

    @property
    def repo(self) -> Repository:
        """The repository object (lazy: no request until a field is read)."""
        if self._repo is None:
            self._repo = self.github.get_repo(self.repo_full_name)
        return self._repo

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from github import GithubException

        try:
            return fn(*args, **kwargs)
        except GithubException as exc:
            if exc.status == 401:
                raise CredentialsError(
                    f"GitHub rejected the token while trying to {what}",
                    "check github_token or the App installation",
                ) from exc
            raise PlatformError(f"GitHub could not {what}: {exc.status} {error_message(exc)}") from exc

    # --- Platform ---------------------------------------------------------------------
    def repository(self) -> RepoInfo:
        """Repository facts (one request, cached)."""
        if self._info is None:
            data = self._call("read the repository", self._raw, "GET", f"/repos/{self.repo_full_name}")
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
        data = self._call(
            f"check {login}'s permission",
            self._raw,
            "GET",
            f"/repos/{self.repo_full_name}/collaborators/{login}/permission",
        )
        role = str(data.get("role_name") or "")
        # role_name distinguishes maintain/triage, which "permission" folds into write/read.
        return (
            role if role in ("maintain", "triage", "admin", "write", "read") else str(data.get("permission"))
        )

    def create_comment(self, number: int, body: str) -> CommentRef:
        """A new conversation comment on the issue or PR."""
        data = self._call(
            "post a comment",
            self._raw,
            "POST",
            f"/repos/{self.repo_full_name}/issues/{number}/comments",
            {"body": body},
        )
        return CommentRef(int(data["id"]), str(data["html_url"]), "issue")

    def reply_to_review_comment(
        self, number: int, comment_id: int, body: str, *, discussion_id: str | None = None
    ) -> CommentRef:
        """A reply in a review-comment thread."""
        data = self._call(
            "reply in the review thread",
            self._raw,
            "POST",
            f"/repos/{self.repo_full_name}/pulls/{number}/comments/{comment_id}/replies",
            {"body": body},
        )
        return CommentRef(int(data["id"]), str(data["html_url"]), "review")

    def update_comment(self, ref: CommentRef, body: str) -> None:
        """Edit a comment the runner wrote (issue comment or review comment id space)."""
        kind = "pulls" if ref.kind == "review" else "issues"
        self._call(
            "update the comment",
            self._raw,
            "PATCH",
            f"/repos/{self.repo_full_name}/{kind}/comments/{ref.id}",
            {"body": body},
        )

    def find_comment(self, number: int, marker: str) -> CommentRef | None:
        """The newest conversation comment containing ``marker``."""
        issue = self.repo.get_issue(number)
        found = None
        for comment in self._call("list comments", lambda: list(issue.get_comments())):
            if marker in (comment.body or ""):
                found = CommentRef(comment.id, comment.html_url, "issue")
        return found

    def fetch_thread(self, number: int, is_pull_request: bool) -> ThreadData:
        """Issue/PR, comments, reviews, review comments and files, every page."""
        before = self._request_count()
        issue = self._call(
            "read the issue", self._raw, "GET", f"/repos/{self.repo_full_name}/issues/{number}"
        )
        comments = self._conversation(number)
        fields: dict[str, Any] = {}
        files: list[ChangedFile] = []
        if is_pull_request:
            pull = f"/repos/{self.repo_full_name}/pulls/{number}"
            pr = self._call("read the pull request", self._raw, "GET", pull)
            fields = pull_fields(pr, self.repo_full_name)
            comments += [rest_review(r) for r in self._pages(f"{pull}/reviews")]
            comments += [rest_review_comment(c) for c in self._pages(f"{pull}/comments")]
            files = [rest_changed_file(f) for f in self._pages(f"{pull}/files")]
        comments.sort(key=lambda c: c.created_at or datetime.min.replace(tzinfo=UTC))
        return ThreadData(
            number=number,
            is_pull_request=is_pull_request,
            title=issue.get("title") or "",
            body=issue.get("body") or "",
            author=(issue.get("user") or {}).get("login", "ghost"),
            state=issue.get("state", "open"),
            labels=tuple(label["name"] for label in issue.get("labels", [])),
            comments=tuple(comments),
            files=tuple(files),
            api_requests=self._request_count() - before,
            **fields,
        )

    def read_file(self, path: str, ref: str) -> str | None:
        """A file's text at ``ref``, or None when it does not exist there."""
        from github import GithubException, UnknownObjectException

        try:
            content = self.repo.get_contents(path, ref=ref)
        except UnknownObjectException:
            return None
        except GithubException as exc:
            raise PlatformError(
                f"GitHub could not read {path} at {ref}: {exc.status} {error_message(exc)}"
            ) from exc
        if isinstance(content, list):
            return None
        return content.decoded_content.decode("utf-8", errors="replace")

    def find_pull_request(self, head_branch: str) -> str | None:
        """An open PR from ``head_branch`` in this repository."""
        owner = self.repo_full_name.split("/", 1)[0]
        pulls = self._call(
            "list pull requests",
            self._raw,
            "GET",
            f"/repos/{self.repo_full_name}/pulls",
            None,
            {"state": "open", "head": f"{owner}:{head_branch}"},
        )
        return str(pulls[0]["html_url"]) if pulls else None

    def create_pull_request(self, *, head: str, base: str, title: str, body: str, draft: bool) -> str:
        """Open a PR and return its URL."""
        data = self._call(
            "open a pull request",
            self._raw,
            "POST",
            f"/repos/{self.repo_full_name}/pulls",
            {"head": head, "base": base, "title": title, "body": body, "draft": draft},
        )
        return str(data["html_url"])

    def push_target(self) -> PushTarget:
        """HTTPS push with the same token."""
        return PushTarget(url=self.repository().clone_url, username="x-access-token", token=self.token)

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

        GitHub takes or refuses a review whole, so a refusal is reported for every comment."""
        if not comments:
            return []
        specs: list[dict[str, Any]] = []
        for c in comments:
            spec: dict[str, Any] = {"path": c.path, "line": c.line, "side": "RIGHT", "body": c.body}
            if c.start_line is not None and c.start_line != c.line:
                spec.update(start_line=c.start_line, start_side="RIGHT")
            specs.append(spec)
        # Never APPROVE; REQUEST_CHANGES only when the workflow allows it (review_request_changes).
        event = "REQUEST_CHANGES" if request_changes else "COMMENT"
        payload = {"commit_id": commit_sha, "event": event, "body": body, "comments": specs}
        try:
            data = self._call(
                "post a review",
                self._raw,
                "POST",
                f"/repos/{self.repo_full_name}/pulls/{number}/reviews",
                payload,
            )
        except PlatformError as exc:
            return [PostedComment(c, None, exc.one_line()) for c in comments]
        ref = CommentRef(int(data["id"]), str(data.get("html_url") or ""), "review")
        return [PostedComment(c, ref) for c in comments]

    def close(self) -> None:
        """Revoke an App installation token we minted: it must not outlive the job."""
        if self._app_token:
            import contextlib

            from github import GithubException

            # Best effort: the token expires within the hour anyway.
            with contextlib.suppress(GithubException):
                self._raw("DELETE", "/installation/token")
            self._app_token = False

    # --- helpers ----------------------------------------------------------------------
    def _raw(
        self, verb: str, path: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None
    ) -> Any:
        """One REST call through PyGithub's requester (retries, auth, GHES base URL)."""
        return self._raw_with_headers(verb, path, body, params)[1]

    def _raw_with_headers(
        self, verb: str, path: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], Any]:
        self._requests += 1
        url = path if path.startswith("http") else self.api_url + path
        headers, data = self.github.requester.requestJsonAndCheck(verb, url, parameters=params, input=body)
        return headers, data

    def _pages(self, path: str) -> list[dict[str, Any]]:
        """Every item of a paginated list: 100 a page, following ``Link: rel="next"``."""
        items: list[dict[str, Any]] = []
        url: str | None = path
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        while url:
            headers, batch = self._call(
                "list " + path.rsplit("/", 1)[-1], self._raw_with_headers, "GET", url, None, params
            )
            items.extend(batch)
            url, params = next_link(headers.get("link", "")), None  # the next URL carries its query
        return items

    def _graphql(self, what: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One GraphQL query through PyGithub's requester; a GraphQL error (HTTP 200) is a
        ``PlatformError`` with GitHub's first message."""
        self._requests += 1
        _, response = self._call(
            what,
            self.github.requester.requestJsonAndCheck,
            "POST",
            self.graphql_url,
            input={"query": query, "variables": variables},
        )
        errors = response.get("errors") if isinstance(response, dict) else None
        if errors:
            raise PlatformError(f"GitHub could not {what}: {errors[0].get('message') or errors[0]}")
        data = response.get("data") if isinstance(response, dict) else None
        if not isinstance(data, dict):
            raise PlatformError(f"GitHub could not {what}: the GraphQL answer has no data")
        return data

    def _conversation(self, number: int) -> list[ThreadComment]:
        """The conversation comments of issue or PR ``number``, every page, with ``minimized``.

        Over GraphQL, not REST, because only GraphQL says whether a comment was minimized (hidden
        as spam, abuse, off-topic, outdated, ...)."""
        owner, name = self.repo_full_name.split("/", 1)
        variables: dict[str, Any] = {"owner": owner, "name": name, "number": number, "after": None}
        comments: list[ThreadComment] = []
        while True:
            data = self._graphql("list comments", COMMENTS_QUERY, variables)
            thread = (data.get("repository") or {}).get("issueOrPullRequest") or {}
            page = thread.get("comments")
            if page is None:
                raise PlatformError(f"GitHub could not list comments: no issue or pull request #{number}")
            comments += [graphql_comment(node) for node in page["nodes"] if node]
            if not page["pageInfo"]["hasNextPage"]:
                return comments
            variables["after"] = page["pageInfo"]["endCursor"]

    def _request_count(self) -> int:
        return self._requests


__all__ = ["COMMENTS_QUERY", "GitHubAuth", "GitHubPlatform", "PlatformError"]
