"""GitHub Actions runs, jobs and logs, labels, issues and single review comments: what the
platform tools (``runner/platform_tools/``) ask of GitHub, over the adapter's transport.

A job's log: GitHub answers ``GET .../actions/jobs/{id}/logs`` with a redirect to a short-lived
signed URL on another host; it is fetched without our token (the URL carries its own signature,
and a token must never be sent to another host).
"""

from __future__ import annotations

import urllib.parse
from collections import deque
from typing import TYPE_CHECKING, Any

from runner.errors import PlatformError, RunnerError
from runner.platform_tools.base import CheckRun, CIJob, CIRun, CIStep, CreatedIssue
from runner.platforms.base import CommentRef
from runner.platforms.github_data import label_names

if TYPE_CHECKING:
    from runner.platforms.github_client import GitHubClient

LOG_CHUNK = 64 * 1024


class GitHubAutomation:
    """``platform_tools.base.Automation`` for one GitHub repository."""

    def __init__(self, client: GitHubClient, repo_full_name: str) -> None:
        self.client, self.repo = client, repo_full_name

    def _path(self, tail: str) -> str:
        return f"/repos/{self.repo}{tail}"

    # --- CI -------------------------------------------------------------------------------
    def can_read_ci(self) -> bool:
        """One workflow run listed: a token without ``actions: read`` is refused (403)."""
        try:
            self.client.get("list workflow runs", self._path("/actions/runs"), {"per_page": 1})
        except RunnerError:  # refused (403), or GitHub unreachable: the run goes on without them
            return False
        return True

    def ci_runs(self, head_sha: str, status: str | None = None) -> list[CIRun]:
        """The workflow runs of ``head_sha`` (every page)."""
        params: dict[str, Any] = {"head_sha": head_sha, "per_page": 100}
        if status:
            params["status"] = status
        runs = self._listed("list workflow runs", "/actions/runs", "workflow_runs", params)
        return [
            CIRun(
                id=int(r["id"]),
                name=str(r.get("name") or r.get("display_title") or ""),
                status=str(r.get("status") or ""),
                conclusion=r.get("conclusion"),
                html_url=str(r.get("html_url") or ""),
                created_at=str(r.get("created_at") or ""),
                ref=str(r.get("head_branch") or ""),
                sha=str(r.get("head_sha") or ""),
            )
            for r in runs
        ]

    def check_runs(self, head_sha: str) -> list[CheckRun]:
        """Every check run of ``head_sha``; an empty list when the token may not read checks."""
        try:
            runs = self._listed("list check runs", f"/commits/{head_sha}/check-runs", "check_runs", {})
        except PlatformError:
            return []  # `checks: read` is not the CI tools' requirement: the workflow runs say enough
        return [
            CheckRun(
                id=int(c["id"]),
                name=str(c.get("name") or ""),
                status=str(c.get("status") or ""),
                conclusion=c.get("conclusion"),
                html_url=str(c.get("html_url") or ""),
                app=str((c.get("app") or {}).get("slug") or ""),
            )
            for c in runs
        ]

    def ci_jobs(self, run_id: int) -> list[CIJob]:
        """The jobs of workflow run ``run_id`` (latest attempt, every page)."""
        jobs = self._listed("list jobs", f"/actions/runs/{int(run_id)}/jobs", "jobs", {"per_page": 100})
        return [
            CIJob(
                id=int(j["id"]),
                name=str(j.get("name") or ""),
                status=str(j.get("status") or ""),
                conclusion=j.get("conclusion"),
                html_url=str(j.get("html_url") or ""),
                steps=tuple(
                    CIStep(str(s.get("name") or ""), int(s.get("number") or 0), s.get("conclusion"))
                    for s in j.get("steps") or []
                ),
            )
            for j in jobs
        ]

    def job_log(self, job_id: int, max_bytes: int) -> bytes:
        """The job's log (its last ``max_bytes``), through the redirect GitHub answers with."""
        url = self.client.api_url + self._path(f"/actions/jobs/{int(job_id)}/logs")

        def location() -> str:
            headers, _ = self.client.github.requester.requestBlobAndCheck("GET", url)
            self.client.requests += 1
            return str(headers.get("location") or "")

        target = self.client.call("download the job log", location)
        if not target:
            raise PlatformError("GitHub could not download the job log: no log URL in its answer")
        return self.client.call("download the job log", _download, target, max_bytes, self.client)

    # --- actions ----------------------------------------------------------------------------
    def labels(self) -> list[str]:
        """The repository's label names."""
        return [str(x["name"]) for x in self.client.pages("list labels", self._path("/labels"))]

    def add_labels(self, number: int, labels: list[str], *, change_request: bool) -> list[str]:
        """POST the labels; the issue's labels after."""
        data = self.client.call(
            "add labels",
            lambda: self.client.request(
                "POST", self._path(f"/issues/{int(number)}/labels"), {"labels": labels}
            )[1],
        )
        return list(label_names(data))

    def remove_labels(self, number: int, labels: list[str], *, change_request: bool) -> list[str]:
        """DELETE each label (one GitHub does not find on the issue is skipped)."""
        from github import GithubException

        now: list[str] | None = None
        for label in labels:
            path = self._path(f"/issues/{int(number)}/labels/{urllib.parse.quote(label, safe='')}")

            def delete(path: str = path) -> list[str] | None:
                try:
                    return list(label_names(self.client.request("DELETE", path)[1]))
                except GithubException as exc:
                    if exc.status == 404:
                        return None
                    raise

            now = self.client.call(f"remove the label {label}", delete) or now
        if now is None:
            issue = self.client.get("read the issue", self._path(f"/issues/{int(number)}"))
            now = list(label_names(issue.get("labels")))
        return now

    def comment(self, number: int, body: str, *, change_request: bool) -> CommentRef:
        """A conversation comment (made once, as the adapter's)."""
        from runner.platforms.github import LOOKBACK_S

        path = self._path(f"/issues/{int(number)}/comments")
        since = self.client.backoff.since(LOOKBACK_S)

        def landed() -> dict[str, Any] | None:
            mine = [
                c
                for c in self.client.fetch_pages(path, {"since": since})
                if c.get("body") == body and self.client.is_own(c.get("user"))
            ]
            return mine[-1] if mine else None

        data = self.client.create("post a comment", path, {"body": body}, landed=landed, noun="comment")
        return CommentRef(int(data["id"]), str(data["html_url"]), "issue")

    def create_issue(self, title: str, body: str, labels: list[str]) -> CreatedIssue:
        """Open an issue (made once: our newest open issue with this title is looked for)."""
        path = self._path("/issues")

        def landed() -> dict[str, Any] | None:
            found = self.client.fetch_pages(path, {"state": "open", "creator": self.client.identity() or ""})
            mine = [i for i in found if i.get("title") == title and "pull_request" not in i]
            return mine[0] if mine else None

        payload: dict[str, Any] = {"title": title, "body": body}
        if labels:
            payload["labels"] = labels
        data = self.client.create("open an issue", path, payload, landed=landed, noun="issue")
        return CreatedIssue(int(data["number"]), str(data["html_url"]))

    def inline_comment(
        self,
        number: int,
        *,
        path: str,
        body: str,
        line: int,
        start_line: int | None,
        side: str,
        commit_sha: str | None,
    ) -> CommentRef:
        """One review comment on the pull request's diff (never a review: nothing to approve)."""
        if commit_sha is None:
            pull = self.client.get("read the pull request", self._path(f"/pulls/{int(number)}"))
            commit_sha = str(pull["head"]["sha"])
        payload: dict[str, Any] = {
            "body": body,
            "commit_id": commit_sha,
            "path": path,
            "line": line,
            "side": side,
        }
        if start_line is not None:
            payload.update(start_line=start_line, start_side=side)
        comments = self._path(f"/pulls/{int(number)}/comments")
        since = self.client.backoff.since(300)

        def landed() -> dict[str, Any] | None:
            mine = [
                c
                for c in self.client.fetch_pages(comments, {"since": since})
                if c.get("body") == body and c.get("path") == path and self.client.is_own(c.get("user"))
            ]
            return mine[-1] if mine else None

        data = self.client.create("post an inline comment", comments, payload, landed=landed, noun="comment")
        return CommentRef(int(data["id"]), str(data.get("html_url") or ""), "review")

    # --- helpers ------------------------------------------------------------------------------
    def _listed(self, what: str, tail: str, key: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of a list GitHub wraps in an object (``{"total_count": n, key: [...]}``)."""

        def fetch() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = []
            query: dict[str, Any] = {"per_page": 100, **params, "page": 1}
            while True:
                _, data = self.client.request("GET", self._path(tail), None, query)
                batch = list(data.get(key) or [])
                items.extend(batch)
                if not batch or len(items) >= int(data.get("total_count") or 0):
                    return items
                query["page"] += 1

        result: list[dict[str, Any]] = self.client.call(what, fetch)
        return result


def _download(url: str, max_bytes: int, client: GitHubClient) -> bytes:
    """GET a signed log URL (no token) and keep its last ``max_bytes``."""
    import requests

    with requests.get(url, stream=True, timeout=client.backoff.policy.timeout_s) as response:
        client.requests += 1
        if response.status_code != 200:
            raise PlatformError(
                f"GitHub could not download the job log: {response.status_code} from the log URL"
            )
        chunks: deque[bytes] = deque()
        size = 0
        for chunk in response.iter_content(LOG_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            while size - len(chunks[0]) >= max_bytes:
                size -= len(chunks.popleft())
        return b"".join(chunks)[-max_bytes:]
