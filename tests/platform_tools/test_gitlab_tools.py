"""The platform tools on the fake GitLab: pipelines of the merge request's head, a job's trace,
labels on issues and merge requests, an issue, a diff note; and a job token that cannot read CI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.agent.tools.base import ToolContext
from runner.platform_tools.offer import RunFacts, build_toolset
from runner.platforms.gitlab import GitLabPlatform
from runner.platforms.gitlab_pipelines import GitLabAutomation
from runner.sanitize import Redactor
from runner.testing.fake_gitlab import FakeGitLab

TOKEN = "glpat-platform-tools"
DIFF = "@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n"


@pytest.fixture
def gitlab():
    with FakeGitLab("group/app", tokens={TOKEN: "claude_bot"}, job_tokens={"job-1": "claude_bot"}) as fake:
        fake.add_user("alice", "developer")
        mr = fake.add_merge_request(
            "Fix", iid=3, source_branch="fix", author="alice",
            diffs=[{"old_path": "calc.py", "new_path": "calc.py", "diff": DIFF}],
        )  # fmt: skip
        fake.add_issue("Crash", iid=7)
        pipeline = fake.add_pipeline("fix", sha=mr.head_sha, status="failed", source="merge_request_event")
        fake.add_job(pipeline, "unit", trace=f"\x1b[0K$ pytest\nFAILED test_add {TOKEN}\n")
        fake.add_label("bug", "p1")
        yield fake


def platform(fake: FakeGitLab, **auth: str) -> GitLabPlatform:
    return GitLabPlatform(
        "group/app", url=fake.base_url, noteable="merge_request", **(auth or {"token": TOKEN})
    )


def tools(fake, tmp_path, *, number=3, change_request=True, allow=(), tag_mode=True, **auth):
    head = fake.merge_requests[3].head_sha
    facts = RunFacts(
        "gitlab", tag_mode, number, change_request, head if change_request else None, tuple(allow)
    )
    return build_toolset(
        facts, GitLabAutomation(platform(fake, **auth)), logs_dir=tmp_path / "logs",
        redactor=Redactor([TOKEN]), log=lambda line: None,
    )  # fmt: skip


def call(out, name, args, tmp_path):
    return next(t for t in out.tools if t.name == name).run(args, ToolContext(cwd=tmp_path)).content


def test_the_head_pipeline_its_jobs_and_a_trace(gitlab, tmp_path):
    out = tools(gitlab, tmp_path)
    status = json.loads(call(out, "mcp__gitlab_ci__get_ci_status", {}, tmp_path))
    assert status["summary"] == {"total_pipelines": 1, "failed": 1, "passed": 0, "pending": 0}
    (job,) = status["pipelines"][0]["failed_jobs"]
    assert job["name"] == "unit" and job["failure_reason"] == "script_failure"
    pipeline = status["pipelines"][0]["id"]
    details = json.loads(
        call(out, "mcp__gitlab_ci__get_pipeline_details", {"pipeline_id": pipeline}, tmp_path)
    )
    assert details["jobs"][0]["web_url"].endswith(f"/-/jobs/{job['id']}")
    result = json.loads(call(out, "mcp__gitlab_ci__download_job_log", {"job_id": job["id"]}, tmp_path))
    text = Path(result["path"]).read_text()
    assert text.startswith("$ pytest\nFAILED test_add") and TOKEN not in text


def test_a_job_token_alone_gets_no_ci_tools(gitlab, tmp_path):
    out = tools(gitlab, tmp_path, job_token="job-1")
    assert not [t for t in out.tools if t.name.startswith("mcp__gitlab_ci__")]
    assert any("cannot read CI runs" in note for note in out.notes)


def test_labels_on_issues_and_merge_requests_and_a_new_issue(gitlab, tmp_path):
    out = tools(gitlab, tmp_path, allow=["mcp__gitlab_issues"])
    call(out, "mcp__gitlab_issues__add_labels", {"labels": ["bug"]}, tmp_path)
    assert gitlab.merge_requests[3].labels == ["bug"] and gitlab.issues[7].labels == []
    call(out, "mcp__gitlab_issues__add_labels", {"labels": ["p1"], "issue_number": 7}, tmp_path)
    assert gitlab.issues[7].labels == ["p1"]
    call(out, "mcp__gitlab_issues__remove_labels", {"labels": ["bug"]}, tmp_path)
    assert gitlab.merge_requests[3].labels == []
    created = json.loads(
        call(out, "mcp__gitlab_issues__create_issue", {"title": "Flaky", "body": "b"}, tmp_path)
    )
    assert gitlab.issues[created["issue_number"]].title == "Flaky"


def test_an_inline_suggestion_becomes_a_diff_note(gitlab, tmp_path):
    out = tools(gitlab, tmp_path, allow=["mcp__gitlab_inline_comment"])
    body = "```suggestion\n    return a + b  # sum\n```"
    name = "mcp__gitlab_inline_comment__create_inline_comment"
    posted = json.loads(
        call(out, name, {"path": "calc.py", "line": 2, "body": body, "confirmed": True}, tmp_path)
    )
    assert posted["success"]
    (note,) = [n for n in gitlab.note_list("merge_request", 3) if n.position]
    assert note.position["new_line"] == 2 and "```suggestion" in note.body
