"""The fake GitLab's pipeline jobs, traces, labels and issues: shapes of GitLab's documented
examples, and the behaviour the platform tools rely on."""

from __future__ import annotations

import gitlab
import pytest

from runner.testing.fake_gitlab import FakeGitLab
from tests.testing.test_fake_gitlab_shapes import shape_errors

TOKEN = "glpat-ci"
PROJECT = "/projects/group%2Fapp"

# `GET /projects/:id/pipelines/:pipeline_id/jobs`: the first item of the example response in
# doc/api/jobs.md ("List pipeline jobs", gitlabhq 04d4cf89), without `artifacts_file` (present only
# when the job kept an archive); `user` is the documented user with its profile fields.
DOCUMENTED_JOB = {
    "commit": {
        "author_email": "admin@example.com", "author_name": "Administrator",
        "created_at": "2015-12-24T16:51:14.000+01:00", "id": "0ff3ae198f8601a285adcf5c0fff204ee6fba5fd",
        "message": "Test the CI integration.", "short_id": "0ff3ae19", "title": "Test the CI integration.",
    },
    "coverage": None, "allow_failure": False, "created_at": "2015-12-24T15:51:21.727Z",
    "started_at": "2015-12-24T17:54:24.729Z", "finished_at": "2015-12-24T17:54:24.921Z", "duration": 0.192,
    "queued_duration": 0.023, "artifacts_expire_at": "2016-01-23T17:54:24.921Z",
    "tag_list": ["docker runner", "ubuntu18"], "id": 6, "name": "rspec:other",
    "pipeline": {"id": 6, "project_id": 1, "ref": "main", "sha": "0ff3ae198f8601a285adcf5c0fff204ee6fba5fd",
                 "status": "pending"},
    "ref": "main", "artifacts": [], "runner": None, "stage": "test", "status": "failed",
    "failure_reason": "stuck_or_timeout_failure", "tag": False, "web_url": "https://example.com/foo/bar/-/jobs/6",
    "project": {"ci_job_token_scope_enabled": False},
    "user": {
        "id": 1, "name": "Administrator", "username": "root", "state": "active",
        "avatar_url": "http://www.gravatar.com/avatar/e64c7d89f26bd1972efa854d13d7dd61?s=80&d=identicon",
        "web_url": "http://gitlab.dev/root", "created_at": "2015-12-21T13:14:24.077Z", "bio": None,
        "location": None, "public_email": "", "skype": "", "linkedin": "", "twitter": "", "website_url": "",
        "organization": "",
    },
}  # fmt: skip
# `GET /projects/:id/labels` (doc/api/labels.md, "List labels": its second item, whose priority is
# null), without the `with_counts` counts.
DOCUMENTED_LABEL = {
    "id": 4, "color": "#d9534f", "text_color": "#FFFFFF", "name": "confirmed",
    "description": "Confirmed issue", "description_html": "Confirmed issue", "subscribed": False,
    "priority": None, "is_project_label": True, "archived": False,
}  # fmt: skip


@pytest.fixture
def fake():
    with FakeGitLab("group/app", tokens={TOKEN: "claude_bot"}) as fake:
        fake.add_user("alice", "developer")
        fake.add_merge_request("Fix", iid=3, source_branch="fix", author="alice")
        fake.add_issue("Crash", iid=7, labels=["bug"])
        pipeline = fake.add_pipeline("fix", status="failed", source="merge_request_event")
        fake.add_job(pipeline, "unit", trace="$ pytest\nFAILED test_calc.py::test_add\n")
        fake.add_job(pipeline, "lint", status="success", stage="lint")
        fake.add_label("bug", "feature", "needs-triage")
        yield fake


def api(fake: FakeGitLab) -> gitlab.Gitlab:
    return gitlab.Gitlab(fake.base_url, private_token=TOKEN)


def test_jobs_and_labels_have_the_documented_shape(fake):
    pipeline = fake.pipelines[0]
    jobs = api(fake).http_list(f"{PROJECT}/pipelines/{pipeline.id}/jobs", get_all=True)
    failed = [j for j in jobs if j["status"] == "failed"]
    assert failed and not (errors := shape_errors(failed, [DOCUMENTED_JOB])), errors
    passed = [j for j in jobs if j["status"] == "success"]
    assert "failure_reason" not in passed[0]
    assert not shape_errors({**passed[0], "failure_reason": "script_failure"}, DOCUMENTED_JOB)
    labels = api(fake).http_list(f"{PROJECT}/labels", get_all=True)
    assert [x["name"] for x in labels] == ["bug", "feature", "needs-triage"]
    assert not (errors := shape_errors(labels, [DOCUMENTED_LABEL])), errors


def test_a_trace_is_plain_text(fake):
    job = next(j for j in fake.jobs.values() if j.name == "unit")
    response = api(fake).http_get(f"{PROJECT}/jobs/{job.id}/trace", raw=True, streamed=True)
    assert response.headers["content-type"].startswith("text/plain")
    assert b"FAILED test_calc.py::test_add" in response.content


def test_labels_are_added_and_removed_on_issues_and_merge_requests(fake):
    gl = api(fake)
    issue = gl.http_put(f"{PROJECT}/issues/7", post_data={"add_labels": "needs-triage,feature"})
    assert issue["labels"] == ["bug", "needs-triage", "feature"]
    issue = gl.http_put(f"{PROJECT}/issues/7", post_data={"remove_labels": "bug"})
    assert issue["labels"] == ["needs-triage", "feature"] and fake.issues[7].labels == issue["labels"]
    mr = gl.http_put(f"{PROJECT}/merge_requests/3", post_data={"add_labels": "bug"})
    assert mr["labels"] == ["bug"]


def test_an_issue_is_opened_with_labels(fake):
    created = api(fake).http_post(f"{PROJECT}/issues", post_data={"title": "Flaky", "labels": "bug"})
    assert created["iid"] in fake.issues and created["labels"] == ["bug"]
    assert not shape_errors(created, api(fake).http_get(f"{PROJECT}/issues/7"))


def test_a_job_token_cannot_read_jobs(fake):
    fake.job_tokens["job-1"] = "alice"
    gl = gitlab.Gitlab(fake.base_url, job_token="job-1")
    with pytest.raises(gitlab.exceptions.GitlabHttpError) as caught:
        gl.http_list(f"{PROJECT}/pipelines/{fake.pipelines[0].id}/jobs", get_all=True)
    assert caught.value.response_code == 404
