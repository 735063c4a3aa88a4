"""The fake GitHub's Actions, checks, labels and issue endpoints against GitHub's OpenAPI
description (as `test_fake_github_schema.py` does for the others), and the log redirect."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from runner.testing.fake_github import FakeGitHub
from tests.testing.github_openapi import OpenAPI
from tests.testing.test_fake_github_schema import REPO, TOKEN, Case, openapi, populated

__all__ = ["CI_CASES", "openapi"]

SHA = "a" * 40
CI_CASES = [
    Case("workflow-runs", "list_workflow_runs", "GET", f"{REPO}/actions/runs?head_sha={SHA}"),
    Case("workflow-runs-none", "list_workflow_runs", "GET", f"{REPO}/actions/runs?head_sha={'b' * 40}"),
    Case("run-jobs", "list_run_jobs", "GET", f"{REPO}/actions/runs/30000001/jobs"),
    Case("run-jobs-404", "list_run_jobs", "GET", f"{REPO}/actions/runs/1/jobs", status=404),
    Case("job-logs", "download_job_logs", "GET", f"{REPO}/actions/jobs/30000002/logs", status=302),
    Case("check-runs", "list_check_runs", "GET", f"{REPO}/commits/{SHA}/check-runs"),
    Case("labels", "list_labels", "GET", f"{REPO}/labels"),
    Case("add-labels", "add_labels", "POST", f"{REPO}/issues/1/labels", {"labels": ["triage"]}),
    Case("remove-label", "remove_label", "DELETE", f"{REPO}/issues/1/labels/bug"),
    Case("remove-label-absent", "remove_label", "DELETE", f"{REPO}/issues/1/labels/nope", status=404),
    Case(
        "create-issue", "create_issue", "POST", f"{REPO}/issues", {"title": "Flaky", "labels": ["bug"]}, 201
    ),
    Case("create-issue-no-title", "create_issue", "POST", f"{REPO}/issues", {"body": "x"}, 422),
    Case("list-issues", "list_issues", "GET", f"{REPO}/issues?state=open"),
    Case(
        "review-comment",
        "create_review_comment",
        "POST",
        f"{REPO}/pulls/2/comments",
        {
            "body": "```suggestion\ny = 4\n```",
            "commit_id": SHA,
            "path": "src/app.py",
            "line": 3,
            "side": "RIGHT",
        },
        201,
    ),
    Case(
        "review-comment-off-diff",
        "create_review_comment",
        "POST",
        f"{REPO}/pulls/2/comments",
        {"body": "x", "commit_id": SHA, "path": "src/app.py", "line": 7, "side": "RIGHT"},
        422,
    ),
]


def with_ci(fake: FakeGitHub) -> FakeGitHub:
    """`populated()` with a failed workflow run, its jobs, another app's check run and labels."""
    run = fake.add_workflow_run(SHA, "CI", head_branch="feature")
    fake.add_job(run, "test", steps=[("Set up job", "success"), ("Run tests", "failure")], log="boom\n")
    fake.add_job(run, "lint", conclusion="success", steps=[("Run lint", "success")])
    fake.add_check_run(SHA, "external / build")
    fake.add_label("bug", "triage", "question")
    return fake


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False
        yield s


@pytest.mark.parametrize("case", CI_CASES, ids=str)
def test_ci_response_matches_openapi(openapi: OpenAPI, session: requests.Session, case: Case) -> None:
    with with_ci(populated()) as fake:
        headers = {"Authorization": f"token {TOKEN}", "Accept": "application/vnd.github+json"}
        response = session.request(
            case.method, fake.base_url + case.path, json=case.body, headers=headers, timeout=10,
            allow_redirects=False,
        )  # fmt: skip
        assert fake.requests[-1].route == case.route
    assert response.status_code == case.status, response.text
    op = openapi.operation(case.method, case.path)
    documented = str(case.status) in op.operation["responses"]
    pointer = openapi.response_pointer(op, case.status) if documented else "/components/schemas/basic-error"
    if case.status == 302:
        assert pointer is None and response.content == b"" and response.headers["location"]
        return
    if pointer is None:
        pointer = "/components/schemas/basic-error"
    errors = openapi.errors(pointer, response.json())
    assert not errors, f"{op.operation_id} {case.status} ({pointer}):\n" + "\n".join(errors[:20])


def test_a_job_log_redirects_to_a_host_that_needs_no_token(session: requests.Session) -> None:
    with with_ci(populated()) as fake:
        headers = {"Authorization": f"token {TOKEN}"}
        job = next(j for j in fake.ci_jobs.values() if j.name == "test")
        redirect = session.get(
            f"{fake.base_url}{REPO}/actions/jobs/{job.id}/logs", headers=headers, allow_redirects=False
        )
        log = session.get(redirect.headers["location"])
        forged = session.get(redirect.headers["location"].split("?")[0] + "?sig=forged")
    assert redirect.status_code == 302 and log.status_code == 200 and log.text == "boom\n"
    assert forged.status_code == 403 and fake.blob_auth_seen == []


def test_a_token_without_actions_read_is_refused(session: requests.Session) -> None:
    with with_ci(populated()) as fake:
        fake.actions_readers = set()
        response = session.get(
            f"{fake.base_url}{REPO}/actions/runs?per_page=1", headers={"Authorization": f"token {TOKEN}"}
        )
    assert response.status_code == 403 and "not accessible" in response.json()["message"]
