"""The fake GitHub's Actions, checks, labels and issue-creation endpoints, and their state.

State (a mixin of `FakeGitHub`): workflow runs on a commit (`add_workflow_run`), their jobs and
steps with a log each (`add_job`), other apps' check runs (`add_check_run`), the repository's
labels (`add_label`). A job's log is served as GitHub does: `GET .../actions/jobs/{id}/logs`
answers 302 with a short-lived URL on another root (`/_fake-blob/...` here) that needs no token;
a token sent there is recorded (`blob_auth_seen`) so a test can assert it never is. A token without
`actions: read` (`actions_readers` set and the caller not in it) is refused with 403 as GitHub
refuses a `GITHUB_TOKEN` without the permission.
"""

from __future__ import annotations

import itertools
import re
import secrets
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runner.testing.github_endpoints import Reply, Request, issue_of, page, render
from runner.testing.github_model import ApiError, Issue, not_found, validation_failed
from runner.testing.github_objects import JSON, iso, label_object, legacy_node_id

if TYPE_CHECKING:
    from runner.testing.fake_github import FakeGitHub

BLOB_PREFIX = "/_fake-blob/job-logs/"
R = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_CI_ROUTES = [
    ("GET", R + r"/actions/runs", "list_workflow_runs"),
    ("GET", R + r"/actions/runs/(?P<run_id>\d+)/jobs", "list_run_jobs"),
    ("GET", R + r"/actions/jobs/(?P<job_id>\d+)/logs", "download_job_logs"),
    ("GET", R + r"/commits/(?P<ref>[^/]+)/check-runs", "list_check_runs"),
    ("GET", R + r"/labels", "list_labels"),
    ("POST", R + r"/issues/(?P<number>\d+)/labels", "add_labels"),
    ("DELETE", R + r"/issues/(?P<number>\d+)/labels/(?P<name>[^/]+)", "remove_label"),
    ("POST", R + r"/issues", "create_issue"),
    ("GET", R + r"/issues", "list_issues"),
    ("POST", R + r"/pulls/(?P<number>\d+)/comments", "create_review_comment"),
]
CI_ROUTES = [(method, re.compile(f"^{pattern}$"), name) for method, pattern, name in _CI_ROUTES]
CI_NEEDS: dict[str, tuple[str, ...]] = {
    "add_labels": ("issues", "pull_requests"),
    "remove_label": ("issues", "pull_requests"),
    "create_issue": ("issues",),
    "create_review_comment": ("pull_requests",),
}
ACTIONS_ROUTES = {"list_workflow_runs", "list_run_jobs", "download_job_logs"}
# The properties of a `minimal-repository` (the `repository` of a workflow run).
_MINIMAL = """id node_id name full_name owner private html_url description fork url archive_url assignees_url
blobs_url branches_url collaborators_url comments_url commits_url compare_url contents_url contributors_url
deployments_url downloads_url events_url forks_url git_commits_url git_refs_url git_tags_url git_url
issue_comment_url issue_events_url issues_url keys_url labels_url languages_url merges_url milestones_url
notifications_url pulls_url releases_url ssh_url stargazers_url statuses_url subscribers_url subscription_url
tags_url teams_url trees_url clone_url mirror_url hooks_url svn_url homepage language forks_count
stargazers_count watchers_count size default_branch open_issues_count is_template topics has_issues
has_projects has_wiki has_pages has_downloads archived disabled visibility pushed_at created_at updated_at"""
MINIMAL_REPO_KEYS = frozenset(_MINIMAL.split())


@dataclass
class FakeStep:
    name: str
    number: int
    conclusion: str | None
    status: str = "completed"


@dataclass
class FakeJob:
    id: int
    run_id: int
    name: str
    status: str
    conclusion: str | None
    steps: list[FakeStep]
    log: str


@dataclass
class FakeRun:
    id: int
    name: str
    head_sha: str
    head_branch: str
    status: str
    conclusion: str | None
    event: str
    created_at: float
    jobs: list[int] = field(default_factory=list)


@dataclass
class FakeCheckRun:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    app: str


class CIState:
    """Actions runs and jobs, check runs and labels (mixed into `FakeGitHub`)."""

    clock: Callable[[], float]

    def _init_ci(self) -> None:
        self.workflow_runs: dict[int, FakeRun] = {}
        self.ci_jobs: dict[int, FakeJob] = {}
        self.check_runs: list[FakeCheckRun] = []
        self.repo_labels: list[str] = []
        self.actions_readers: set[str] | None = None  # None: every caller may read Actions
        self.blob_auth_seen: list[str] = []  # Authorization headers sent to the log host
        self.issues_opened: list[Issue] = []
        self._ci_ids = itertools.count(30_000_001)
        self._blobs: dict[str, int] = {}

    def add_workflow_run(
        self,
        head_sha: str,
        name: str = "CI",
        *,
        head_branch: str = "main",
        status: str = "completed",
        conclusion: str | None = "failure",
        event: str = "pull_request",
    ) -> FakeRun:
        """A workflow run of commit `head_sha`."""
        run = FakeRun(
            next(self._ci_ids), name, head_sha, head_branch, status, conclusion, event, self.clock()
        )
        self.workflow_runs[run.id] = run
        return run

    def add_job(
        self,
        run: FakeRun,
        name: str,
        *,
        conclusion: str | None = "failure",
        status: str = "completed",
        steps: list[tuple[str, str | None]] | None = None,
        log: str = "",
    ) -> FakeJob:
        """A job of `run` with `steps` ((name, conclusion), numbered from 1) and its `log`."""
        job = FakeJob(
            next(self._ci_ids),
            run.id,
            name,
            status,
            conclusion,
            [FakeStep(n, i + 1, c) for i, (n, c) in enumerate(steps or [])],
            log,
        )
        self.ci_jobs[job.id] = job
        run.jobs.append(job.id)
        return job

    def add_check_run(
        self, head_sha: str, name: str, *, status: str = "completed", conclusion: str | None = "success",
        app: str = "external-ci",
    ) -> FakeCheckRun:  # fmt: skip
        """A check run another app reported on `head_sha`."""
        check = FakeCheckRun(next(self._ci_ids), name, head_sha, status, conclusion, app)
        self.check_runs.append(check)
        return check

    def add_label(self, *names: str) -> None:
        """Labels the repository has."""
        for name in names:
            if name not in self.repo_labels:
                self.repo_labels.append(name)

    def blob(self, token: str) -> FakeJob | None:
        """The job whose signed log URL carries `token`."""
        job_id = self._blobs.get(token)
        return self.ci_jobs.get(job_id) if job_id is not None else None


# --- rendering ----------------------------------------------------------------------------------------


def _minimal_repo(fake: FakeGitHub, request: Request) -> JSON:

    full = render(fake, request).repo()
    return {k: v for k, v in full.items() if k in MINIMAL_REPO_KEYS}


def _label(fake: FakeGitHub, name: str) -> JSON:
    import zlib

    return label_object(fake.urls, fake.full_name, name, 600_000 + zlib.crc32(name.encode()) % 100_000)


def _run(fake: FakeGitHub, request: Request, run: FakeRun) -> JSON:
    api = f"{fake.urls.repo_api(fake.full_name)}/actions/runs/{run.id}"
    web = f"{fake.urls.repo_web(fake.full_name)}/actions/runs/{run.id}"
    repo = _minimal_repo(fake, request)
    stamp = iso(run.created_at)
    author = {"name": "dev", "email": "dev@example.com"}
    return {
        "id": run.id, "name": run.name, "node_id": legacy_node_id("WorkflowRun", run.id),
        "check_suite_id": run.id + 1, "check_suite_node_id": legacy_node_id("CheckSuite", run.id + 1),
        "head_branch": run.head_branch, "head_sha": run.head_sha, "path": ".github/workflows/ci.yml",
        "run_number": run.id % 1000, "run_attempt": 1, "referenced_workflows": [], "event": run.event,
        "status": run.status, "conclusion": run.conclusion, "workflow_id": 161335, "url": api,
        "html_url": web, "pull_requests": [], "created_at": stamp, "updated_at": stamp,
        "run_started_at": stamp, "jobs_url": f"{api}/jobs", "logs_url": f"{api}/logs",
        "check_suite_url": f"{fake.urls.repo_api(fake.full_name)}/check-suites/{run.id + 1}",
        "artifacts_url": f"{api}/artifacts", "cancel_url": f"{api}/cancel", "rerun_url": f"{api}/rerun",
        "previous_attempt_url": None,
        "workflow_url": f"{fake.urls.repo_api(fake.full_name)}/actions/workflows/161335",
        "head_commit": {
            "id": run.head_sha, "tree_id": run.head_sha[::-1], "message": "a commit", "timestamp": stamp,
            "author": author, "committer": author,
        },
        "repository": repo, "head_repository": repo, "display_title": run.name,
    }  # fmt: skip


def _job(fake: FakeGitHub, job: FakeJob) -> JSON:
    run = fake.workflow_runs[job.run_id]
    api = f"{fake.urls.repo_api(fake.full_name)}/actions/jobs/{job.id}"
    stamp = iso(run.created_at)
    done = job.status == "completed"
    return {
        "id": job.id, "run_id": run.id,
        "run_url": f"{fake.urls.repo_api(fake.full_name)}/actions/runs/{run.id}", "run_attempt": 1,
        "node_id": legacy_node_id("CheckRun", job.id), "head_sha": run.head_sha, "url": api,
        "html_url": f"{fake.urls.repo_web(fake.full_name)}/actions/runs/{run.id}/job/{job.id}",
        "status": job.status, "conclusion": job.conclusion, "created_at": stamp, "started_at": stamp,
        "completed_at": stamp if done else None, "name": job.name,
        "steps": [
            {"status": s.status, "conclusion": s.conclusion, "name": s.name, "number": s.number,
             "started_at": stamp, "completed_at": stamp if done else None}
            for s in job.steps
        ],
        "check_run_url": f"{fake.urls.repo_api(fake.full_name)}/check-runs/{job.id}",
        "labels": ["ubuntu-latest"], "runner_id": 1, "runner_name": "GitHub Actions 1",
        "runner_group_id": 2, "runner_group_name": "GitHub Actions", "workflow_name": run.name,
        "head_branch": run.head_branch,
    }  # fmt: skip


def _check(fake: FakeGitHub, c: FakeCheckRun) -> JSON:
    from runner.testing.github_render import Renderer

    def render(fake: FakeGitHub, _: None) -> Renderer:
        return Renderer(fake, fake.urls, None)

    api = fake.urls.repo_api(fake.full_name)
    stamp = iso(fake.created_at)
    app = {
        "id": 9000 + len(c.app), "slug": c.app, "node_id": legacy_node_id("App", 9000 + len(c.app)),
        "owner": render(fake, None).user(fake.owner), "name": c.app, "description": None, "external_url": "https://ci.example.com",
        "html_url": f"{fake.web_url}/apps/{c.app}", "created_at": stamp, "updated_at": stamp,
        "permissions": {"checks": "write"}, "events": [],
    }  # fmt: skip
    return {
        "id": c.id, "head_sha": c.head_sha, "node_id": legacy_node_id("CheckRun", c.id),
        "external_id": "", "url": f"{api}/check-runs/{c.id}",
        "html_url": f"https://ci.example.com/runs/{c.id}", "details_url": f"https://ci.example.com/runs/{c.id}",
        "status": c.status, "conclusion": c.conclusion, "started_at": stamp,
        "completed_at": stamp if c.status == "completed" else None,
        "output": {"title": None, "summary": None, "text": None, "annotations_count": 0,
                   "annotations_url": f"{api}/check-runs/{c.id}/annotations"},
        "name": c.name, "check_suite": {"id": c.id + 1}, "app": app, "pull_requests": [],
    }  # fmt: skip


# --- handlers -----------------------------------------------------------------------------------------


def _can_read_actions(fake: FakeGitHub, request: Request) -> None:
    readers = fake.actions_readers
    if readers is not None and request.caller not in readers:
        raise ApiError(403, "Resource not accessible by integration")


def _page(fake: FakeGitHub, request: Request, key: str, items: list[JSON]) -> Reply:

    listed = page(fake, request, items)
    listed.body = {"total_count": len(items), key: listed.body}
    return listed


def list_workflow_runs(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/actions/runs` (filters: `head_sha`, `status`, `branch`, `event`)."""
    _can_read_actions(fake, request)
    q = request.record.query
    runs = sorted(fake.workflow_runs.values(), key=lambda r: -r.id)
    if q.get("head_sha"):
        runs = [r for r in runs if r.head_sha == q["head_sha"]]
    if q.get("branch"):
        runs = [r for r in runs if r.head_branch == q["branch"]]
    if q.get("event"):
        runs = [r for r in runs if r.event == q["event"]]
    if q.get("status"):
        runs = [r for r in runs if q["status"] in (r.status, r.conclusion)]
    return _page(fake, request, "workflow_runs", [_run(fake, request, r) for r in runs])


def list_run_jobs(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs`."""
    _can_read_actions(fake, request)
    run = fake.workflow_runs.get(int(request.params["run_id"]))
    if run is None:
        raise not_found()
    return _page(fake, request, "jobs", [_job(fake, fake.ci_jobs[j]) for j in run.jobs])


def download_job_logs(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs`: 302 to a signed URL."""

    _can_read_actions(fake, request)
    job_id = int(request.params["job_id"])
    if job_id not in fake.ci_jobs:
        raise not_found()
    token = secrets.token_urlsafe(16)
    fake._blobs[token] = job_id
    location = f"{fake.base_url}{BLOB_PREFIX}{job_id}?sig={token}"
    return Reply(302, None, {"location": location})


def list_check_runs(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/commits/{ref}/check-runs` (apps' runs, then the jobs')."""
    ref = request.params["ref"]
    sha = fake.branch_sha(ref) or ref
    checks = [_check(fake, c) for c in fake.check_runs if c.head_sha == sha]
    return _page(fake, request, "check_runs", checks)


def list_labels(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/labels`."""

    return page(fake, request, [_label(fake, n) for n in fake.repo_labels])


def add_labels(fake: FakeGitHub, request: Request) -> Reply:
    """`POST /repos/{owner}/{repo}/issues/{n}/labels` (`{"labels": [...]}`): a new name becomes a
    repository label, as on GitHub; answers the issue's labels."""

    body = request.record.body
    labels = body.get("labels") if isinstance(body, dict) else None
    if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
        raise validation_failed("Label", "labels", "invalid")
    with fake.lock:
        issue = issue_of(fake, request)
        for name in labels:
            fake.add_label(name)
            if name not in issue.labels:
                issue.labels.append(name)
        issue.updated_at = fake.clock()
    return Reply(200, [_label(fake, n) for n in issue.labels])


def remove_label(fake: FakeGitHub, request: Request) -> Reply:
    """`DELETE /repos/{owner}/{repo}/issues/{n}/labels/{name}`: 404 when the issue lacks it."""

    name = urllib.parse.unquote(request.params["name"])
    with fake.lock:
        issue = issue_of(fake, request)
        if name not in issue.labels:
            raise ApiError(404, "Label does not exist")
        issue.labels.remove(name)
    return Reply(200, [_label(fake, n) for n in issue.labels])


def create_issue(fake: FakeGitHub, request: Request) -> Reply:
    """`POST /repos/{owner}/{repo}/issues`."""

    body = request.record.body
    assert isinstance(body, dict)
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise validation_failed("Issue", "title", "missing_field")
    labels = [x for x in body.get("labels") or [] if isinstance(x, str)]
    issue = fake.add_issue(title=title, body=body.get("body"), user=request.caller, labels=labels)
    fake.add_label(*labels)
    fake.issues_opened.append(issue)
    return Reply(201, render(fake, request).issue(issue))


def list_issues(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/issues` (`state`, `creator`; newest first)."""

    q = request.record.query
    state, creator = q.get("state", "open"), q.get("creator")
    issues = sorted(fake.issues.values(), key=lambda i: -i.number)
    chosen = [
        i for i in issues if (state == "all" or i.state == state) and (not creator or i.user == creator)
    ]
    view = render(fake, request)
    return page(fake, request, [view.issue(i) for i in chosen])


def create_review_comment(fake: FakeGitHub, request: Request) -> Reply:
    """`POST /repos/{owner}/{repo}/pulls/{n}/comments`: one comment on the diff (in a review of
    its own, as GitHub files it), checked against the pull request's files."""
    from runner.testing import github_writes as writes

    body = request.record.body
    assert isinstance(body, dict)
    number = issue_of(fake, request, pull=True).number
    if not body.get("commit_id"):
        raise validation_failed("PullRequestReviewComment", "commit_id", "missing_field")
    try:
        payload = {"event": "COMMENT", "body": "", "comments": [body], "commit_id": body["commit_id"]}
        review = writes.create_review(fake, number, payload, request.caller)
    except ApiError as exc:  # this endpoint words a line outside the diff as GitHub does
        if exc.status != 422:
            raise
        field = "pull_request_review_thread.line"
        raise validation_failed("PullRequestReviewComment", field, "custom", "could not be resolved") from exc
    comment = [c for c in fake.review_comments_of(number) if c.review_id == review.id][-1]
    return Reply(201, render(fake, request).review_comment(comment))


def serve_blob(
    fake: FakeGitHub, path: str, query: dict[str, str], headers: dict[str, str]
) -> tuple[int, Any]:
    """The log host: the job's log as text for a URL the redirect handed out."""
    if headers.get("authorization"):
        fake.blob_auth_seen.append(headers["authorization"])
    job = fake.blob(query.get("sig", ""))
    if job is None or not path.startswith(BLOB_PREFIX) or path[len(BLOB_PREFIX) :] != str(job.id):
        return 403, b"AuthenticationFailed"
    return 200, job.log.encode("utf-8")


CI_ENDPOINTS: dict[str, Callable[[FakeGitHub, Request], Reply]] = {
    name: globals()[name] for _, _, name in CI_ROUTES
}
