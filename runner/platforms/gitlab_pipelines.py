"""GitLab pipelines, jobs and traces, labels, issues and diff notes: what the platform tools
(``runner/platform_tools/``) ask of GitLab, over the adapter's transport.

Which token: reading pipelines and traces needs ``read_api`` (``GITLAB_ACCESS_TOKEN``); GitLab's
CI job token may not list a project's pipelines, so with it alone the CI tools are not offered.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from runner.errors import RunnerError
from runner.platform_tools.base import CIJob, CIRun, CreatedIssue
from runner.platforms.base import CommentRef
from runner.platforms.gitlab_data import text_position

if TYPE_CHECKING:
    from runner.platforms.gitlab import GitLabPlatform

_SUGGESTION = re.compile(r"^(`{3,})suggestion[ \t]*$", re.MULTILINE)


class GitLabAutomation:
    """``platform_tools.base.Automation`` for one GitLab project."""

    def __init__(self, platform: GitLabPlatform) -> None:
        self.platform, self.client = platform, platform.client
        self.path = platform._path  # "/projects/<id or encoded path>"

    def _get(self, what: str, tail: str, query: dict[str, Any] | None = None) -> Any:
        return self.client.call(what, self.client.http_get, self.path + tail, query)

    def _list(self, what: str, tail: str, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.client.call(what, self.client.http_list, self.path + tail, query)

    @staticmethod
    def _kind(change_request: bool) -> str:
        return "merge_requests" if change_request else "issues"

    # --- CI -------------------------------------------------------------------------------
    def can_read_ci(self) -> bool:
        """One pipeline listed: a token that may not read them is refused."""
        try:
            self.client.call(
                "list pipelines", self.client.http_get, self.path + "/pipelines", {"per_page": 1}
            )
        except RunnerError:  # refused (the job token), or GitLab unreachable: no CI tools
            return False
        return True

    def ci_runs(self, head_sha: str, status: str | None = None) -> list[CIRun]:
        """The pipelines of ``head_sha``, newest first."""
        query: dict[str, Any] = {"sha": head_sha, "order_by": "id", "sort": "desc"}
        if status:
            query["status"] = status
        return [
            CIRun(
                id=int(p["id"]),
                name=str(p.get("name") or ""),
                status=str(p.get("status") or ""),
                conclusion=None,
                html_url=str(p.get("web_url") or ""),
                created_at=str(p.get("created_at") or ""),
                ref=str(p.get("ref") or ""),
                sha=str(p.get("sha") or ""),
            )
            for p in self._list("list pipelines", "/pipelines", query)
        ]

    def check_runs(self, head_sha: str) -> list[Any]:
        """GitLab has no check runs."""
        return []

    def ci_jobs(self, run_id: int) -> list[CIJob]:
        """The jobs of pipeline ``run_id``."""
        return [
            CIJob(
                id=int(j["id"]),
                name=str(j.get("name") or ""),
                status=str(j.get("status") or ""),
                conclusion=None,
                html_url=str(j.get("web_url") or ""),
                stage=j.get("stage"),
                failure_reason=j.get("failure_reason"),
                allow_failure=bool(j.get("allow_failure")),
            )
            for j in self._list("list jobs", f"/pipelines/{int(run_id)}/jobs")
        ]

    def job_log(self, job_id: int, max_bytes: int) -> bytes:
        """The job's trace (its last ``max_bytes``)."""

        def fetch() -> bytes:
            response = self.client.http_get(f"{self.path}/jobs/{int(job_id)}/trace", raw=True, streamed=True)
            data = b""
            for chunk in response.iter_content(64 * 1024):
                data = (data + chunk)[-max_bytes:]
            return data

        result: bytes = self.client.call("download the job log", fetch)
        return result

    # --- actions ----------------------------------------------------------------------------
    def labels(self) -> list[str]:
        """The project's label names (group labels included)."""
        return [
            str(x["name"]) for x in self._list("list labels", "/labels", {"include_ancestor_groups": True})
        ]

    def _edit_labels(self, number: int, labels: list[str], key: str, change_request: bool) -> list[str]:
        tail = f"/{self._kind(change_request)}/{int(number)}"
        data = self.client.call(
            "change labels", self.client.http_put, self.path + tail, {key: ",".join(labels)}
        )
        return [str(x) for x in (data or {}).get("labels") or []]

    def add_labels(self, number: int, labels: list[str], *, change_request: bool) -> list[str]:
        """``add_labels`` on the issue or merge request."""
        return self._edit_labels(number, labels, "add_labels", change_request)

    def remove_labels(self, number: int, labels: list[str], *, change_request: bool) -> list[str]:
        """``remove_labels`` on the issue or merge request."""
        return self._edit_labels(number, labels, "remove_labels", change_request)

    def comment(self, number: int, body: str, *, change_request: bool) -> CommentRef:
        """A note (made once, as the adapter's)."""
        return self.platform.create_comment(
            number, body, noteable="merge_request" if change_request else "issue"
        )

    def create_issue(self, title: str, body: str, labels: list[str]) -> CreatedIssue:
        """Open an issue (made once: our newest issue with this title is looked for)."""
        path = self.path + "/issues"
        query = {"order_by": "created_at", "sort": "desc", "per_page": 20, "search": title, "in": "title"}

        def landed() -> dict[str, Any] | None:
            found = self.client.http_get(path, query)
            mine = [i for i in found or [] if i.get("title") == title and self.client.is_own(i.get("author"))]
            return mine[0] if mine else None

        payload: dict[str, Any] = {"title": title, "description": body}
        if labels:
            payload["labels"] = ",".join(labels)
        data = self.client.create("open an issue", path, payload, landed=landed, noun="issue")
        return CreatedIssue(int(data["iid"]), str(data["web_url"]))

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
        """A diff discussion on the merge request. A GitHub-style multi-line ```` ```suggestion ````
        becomes GitLab's ```` ```suggestion:-N+0 ```` (replace N lines above too)."""
        if start_line is not None and start_line < line:
            body = _SUGGESTION.sub(lambda m: f"{m.group(1)}suggestion:-{line - start_line}+0", body)
        refs = self.platform.diff_refs(number)
        if side == "LEFT":
            position = text_position(refs, path, old_line=line)
        else:
            position = text_position(refs, path, new_line=line)
        return self.platform.post_diff_note(number, position, body)
