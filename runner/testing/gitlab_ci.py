"""The fake GitLab's pipeline jobs and traces, labels, issue creation and label edits, and their
state (a mixin of `FakeGitLab`): `add_job(pipeline, name, ...)` with its trace, `add_label(...)`.

Jobs have the keys of GitLab's documented "List pipeline jobs" example (doc/api/jobs.md); a trace
is plain text; `PUT .../issues/:iid` and `PUT .../merge_requests/:iid` take `labels`, `add_labels`
and `remove_labels` (comma-separated) as GitLab does, and a new name becomes a project label.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runner.testing.gitlab_endpoints import Reply, Request, _mr, _visible_issue
from runner.testing.gitlab_state import ApiError, Pipeline

if TYPE_CHECKING:
    from runner.testing.fake_gitlab import FakeGitLab

P = r"/api/v4/projects/(?P<project>[^/]+)"
_CI_ROUTES = [
    ("GET", P + r"/pipelines/(?P<pipeline>\d+)/jobs", "list_pipeline_jobs"),
    ("GET", P + r"/jobs/(?P<job>\d+)/trace", "get_job_trace"),
    ("GET", P + r"/labels", "list_labels"),
    ("PUT", P + r"/issues/(?P<iid>\d+)", "update_issue"),
    ("PUT", P + r"/merge_requests/(?P<iid>\d+)", "update_merge_request"),
    ("POST", P + r"/issues", "create_issue"),
    ("GET", P + r"/issues", "list_issues"),
]
CI_ROUTES = [(method, re.compile(f"^{pattern}$"), name) for method, pattern, name in _CI_ROUTES]
# Access levels the writes need (Reporter edits issue labels, Developer a merge request's).
CI_WRITES_NEED = {"update_issue": 20, "update_merge_request": 30, "create_issue": 10}
# Reads that need more than Guest: a job's trace and jobs (Reporter on a private project).
CI_READS_NEED = {"list_pipeline_jobs": 20, "get_job_trace": 20}


@dataclass
class FakeJob:
    id: int
    pipeline_id: int
    name: str
    stage: str
    status: str
    trace: str
    failure_reason: str | None = None
    allow_failure: bool = False


class GitLabCIState:
    """Pipeline jobs and project labels (mixed into `FakeGitLab`)."""

    pipelines: list[Pipeline]

    def _init_ci(self) -> None:
        self.jobs: dict[int, FakeJob] = {}
        self.project_labels: list[str] = []
        self.issues_opened: list[Any] = []
        self._job_ids = itertools.count(9_000_001)

    def add_job(
        self,
        pipeline: Pipeline,
        name: str,
        *,
        stage: str = "test",
        status: str = "failed",
        trace: str = "",
        failure_reason: str | None = None,
        allow_failure: bool = False,
    ) -> FakeJob:
        """A job of `pipeline` with its `trace` (a failed job's reason defaults to script_failure)."""
        reason = failure_reason or ("script_failure" if status == "failed" else None)
        job = FakeJob(next(self._job_ids), pipeline.id, name, stage, status, trace, reason, allow_failure)
        self.jobs[job.id] = job
        return job

    def add_label(self, *names: str) -> None:
        """Labels the project has."""
        for name in names:
            if name not in self.project_labels:
                self.project_labels.append(name)


def _job(fake: FakeGitLab, job: FakeJob) -> dict[str, Any]:
    from runner.testing.gitlab_render import iso

    pipeline = next(p for p in fake.pipelines if p.id == job.pipeline_id)
    stamp = iso(pipeline.created_at)
    user = fake.render.user(fake.user(pipeline.user))
    user.pop("locked")
    user.update(created_at=iso(fake.created_at), bio=None, location=None, public_email="", skype="",
                linkedin="", twitter="", website_url="", organization="")  # fmt: skip
    data: dict[str, Any] = {
        "commit": {
            "author_email": "dev@example.com", "author_name": "dev", "created_at": stamp,
            "id": pipeline.sha, "message": "a commit", "short_id": pipeline.sha[:8], "title": "a commit",
        },
        "coverage": None, "allow_failure": job.allow_failure, "created_at": stamp, "started_at": stamp,
        "finished_at": stamp, "duration": 1.5, "queued_duration": 0.1, "artifacts_expire_at": stamp,
        "tag_list": ["docker"], "id": job.id, "name": job.name,
        "pipeline": {"id": pipeline.id, "project_id": fake.project_id, "ref": pipeline.ref,
                     "sha": pipeline.sha, "status": pipeline.status},
        "ref": pipeline.ref, "artifacts": [], "runner": None, "stage": job.stage, "status": job.status,
        "tag": False, "web_url": f"{fake.render.project_url}/-/jobs/{job.id}",
        "project": {"ci_job_token_scope_enabled": False}, "user": user,
    }  # fmt: skip
    if job.status == "failed":
        data["failure_reason"] = job.failure_reason
    return data


def list_pipeline_jobs(fake: FakeGitLab, req: Request) -> Reply:
    """`GET /projects/:id/pipelines/:pipeline_id/jobs` (newest first; `scope` filters by status)."""
    wanted = int(req.params["pipeline"])
    if not any(p.id == wanted for p in fake.pipelines):
        raise ApiError(404, "404 Not found")
    scope = req.record.query.get("scope") or req.record.query.get("scope[]")
    jobs = sorted((j for j in fake.jobs.values() if j.pipeline_id == wanted), key=lambda j: -j.id)
    return 200, [_job(fake, j) for j in jobs if not scope or j.status == scope]


def get_job_trace(fake: FakeGitLab, req: Request) -> Reply:
    """`GET /projects/:id/jobs/:job_id/trace`: the log as plain text."""
    job = fake.jobs.get(int(req.params["job"]))
    if job is None:
        raise ApiError(404, "404 Not found")
    return 200, job.trace.encode("utf-8")


def list_labels(fake: FakeGitLab, req: Request) -> Reply:
    """`GET /projects/:id/labels`."""
    return 200, [
        {"id": 70_000 + i, "name": name, "description": "", "description_html": "",
         "text_color": "#FFFFFF", "color": "#dc143c", "subscribed": False, "priority": None,
         "is_project_label": True, "archived": False}
        for i, name in enumerate(fake.project_labels)
    ]  # fmt: skip


def _edit_labels(fake: FakeGitLab, req: Request, labels: list[str]) -> None:
    def names(key: str) -> list[str] | None:
        value = req.data.get(key)
        if value is None:
            return None
        items = value if isinstance(value, list) else str(value).split(",")
        return [x.strip() for x in items if x.strip()]

    with fake.lock:
        if (replace := names("labels")) is not None:
            labels[:] = replace
        for name in names("add_labels") or []:
            if name not in labels:
                labels.append(name)
        for name in names("remove_labels") or []:
            if name in labels:
                labels.remove(name)
        fake.add_label(*labels)


def update_issue(fake: FakeGitLab, req: Request) -> Reply:
    """`PUT /projects/:id/issues/:iid`: labels (and title/description)."""

    issue = _visible_issue(fake, req, int(req.params["iid"]))
    _edit_labels(fake, req, issue.labels)
    issue.updated_at = fake.clock()
    return 200, fake.render.issue(issue)


def update_merge_request(fake: FakeGitLab, req: Request) -> Reply:
    """`PUT /projects/:id/merge_requests/:iid`: labels."""

    mr = _mr(fake, req)
    _edit_labels(fake, req, mr.labels)
    return 200, fake.render.merge_request(mr, req.caller)


def create_issue(fake: FakeGitLab, req: Request) -> Reply:
    """`POST /projects/:id/issues`."""
    title = str(req.arg("title"))
    labels = [x.strip() for x in str(req.data.get("labels") or "").split(",") if x.strip()]
    issue = fake.add_issue(title, description=str(req.data.get("description") or ""), author=req.caller,
                           labels=labels)  # fmt: skip
    fake.add_label(*labels)
    fake.issues_opened.append(issue)
    return 201, fake.render.issue(issue)


def list_issues(fake: FakeGitLab, req: Request) -> Reply:
    """`GET /projects/:id/issues` (`search` in titles; newest first)."""
    search = (req.record.query.get("search") or "").lower()
    issues = sorted(fake.issues.values(), key=lambda i: -i.iid)
    return 200, [fake.render.issue(i) for i in issues if search in i.title.lower()]


CI_HANDLERS: dict[str, Callable[[FakeGitLab, Request], Reply]] = {
    name: globals()[name] for _, _, name in CI_ROUTES
}
