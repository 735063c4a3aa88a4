"""The platform tools on the fake GitHub, as the agent loop calls them: which are offered, what
each does to the repository, what the model reads back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.agent.tools.base import ToolContext, ToolError
from runner.platform_tools.offer import RunFacts, build_toolset
from runner.platforms.github import GitHubAuth, GitHubPlatform
from runner.platforms.github_actions import GitHubAutomation
from runner.sanitize import Redactor
from runner.testing.fake_github import FakeGitHub

TOKEN = "ghp_platformToolsTest0123456789abcdefghij"
PATCH = "@@ -1,2 +1,3 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n+# done"


@pytest.fixture
def github():
    with FakeGitHub("octo-org", "hello-world", tokens={TOKEN: "claude[bot]"}) as fake:
        fake.add_user("alice", permission="write")
        fake.add_issue(1, "Crash", "It crashes.", "alice")
        pull = fake.add_pull(2, head_ref="fix", files=[{"filename": "calc.py", "patch": PATCH}], user="alice")
        run = fake.add_workflow_run(pull.pull.head_sha, "CI", head_branch="fix")
        fake.add_job(run, "test", steps=[("Run tests", "failure")], log=f"token {TOKEN}\nFAILED test_add\n")
        fake.add_label("bug", "p1")
        yield fake


def automation(fake: FakeGitHub) -> GitHubAutomation:
    platform = GitHubPlatform(
        "octo-org/hello-world", GitHubAuth(TOKEN, None, None), api_url=fake.base_url, server_url=fake.web_url
    )
    return GitHubAutomation(platform.client, "octo-org/hello-world")


def toolset(
    fake, tmp_path, *, tag_mode=True, number=2, change_request=True, allow=(), deny=(), progress=None
):
    facts = RunFacts(
        "github", tag_mode, number, change_request, fake.pull(2).head_sha if change_request else None,
        tuple(allow), tuple(deny),
    )  # fmt: skip
    log: list[str] = []
    out = build_toolset(
        facts, automation(fake), logs_dir=tmp_path / "ci-logs", redactor=Redactor([TOKEN]), log=log.append,
        progress=progress,
    )  # fmt: skip
    return out, log


def call(out, name, args, tmp_path):
    tool = next(t for t in out.tools if t.name == name)
    return tool.run(args, ToolContext(cwd=tmp_path))


def test_a_mention_on_a_pull_request_gets_the_ci_tools_allowed_by_default(github, tmp_path):
    out, _ = toolset(github, tmp_path)
    names = [t.name for t in out.tools]
    assert names == [
        "mcp__github_ci__get_ci_status",
        "mcp__github_ci__get_workflow_run_details",
        "mcp__github_ci__download_job_log",
    ]
    assert set(out.default_allow) == set(names)


def test_an_automation_run_gets_only_what_its_rules_name(github, tmp_path):
    out, _ = toolset(github, tmp_path, tag_mode=False)
    assert out.tools == []
    out, _ = toolset(
        github, tmp_path, tag_mode=False, allow=["mcp__github_ci", "mcp__github_issues__add_labels"]
    )
    assert {t.name for t in out.tools} == {
        "mcp__github_ci__get_ci_status",
        "mcp__github_ci__get_workflow_run_details",
        "mcp__github_ci__download_job_log",
        "mcp__github_issues__add_labels",
    }
    assert out.default_allow == ()  # the allow rules already let them through
    out, _ = toolset(github, tmp_path, allow=["mcp__*"], deny=["mcp__github_issues"])
    assert "mcp__github_issues__add_labels" not in {t.name for t in out.tools}
    assert "mcp__github_inline_comment__create_inline_comment" in {t.name for t in out.tools}


def test_the_log_is_written_redacted_and_the_run_is_summarised(github, tmp_path):
    out, _ = toolset(github, tmp_path)
    status = json.loads(call(out, "mcp__github_ci__get_ci_status", {}, tmp_path).content)
    (job,) = status["runs"][0]["failed_jobs"]
    details = json.loads(
        call(
            out, "mcp__github_ci__get_workflow_run_details", {"run_id": status["runs"][0]["id"]}, tmp_path
        ).content
    )
    assert details["jobs"][0]["failed_steps"] == [{"name": "Run tests", "number": 1}]
    result = json.loads(
        call(out, "mcp__github_ci__download_job_log", {"job_id": job["id"]}, tmp_path).content
    )
    text = Path(result["path"]).read_text()
    assert "FAILED test_add" in text and TOKEN not in text and result["failure_lines"] == [2]
    assert github.blob_auth_seen == []  # the token never went to the log host
    with pytest.raises(ToolError, match="Error: GitHub could not download the job log"):
        call(out, "mcp__github_ci__download_job_log", {"job_id": 1}, tmp_path)


def test_labels_comments_and_issues(github, tmp_path):
    out, log = toolset(
        github, tmp_path, number=1, change_request=False, allow=["mcp__github_issues", "mcp__github_comment"]
    )
    added = json.loads(
        call(out, "mcp__github_issues__add_labels", {"labels": ["BUG", "p1"]}, tmp_path).content
    )
    assert added["labels"] == ["bug", "p1"] == github.issue(1).labels
    with pytest.raises(ToolError, match="no such label in this repository: wontfix"):
        call(out, "mcp__github_issues__add_labels", {"labels": ["wontfix"]}, tmp_path)
    call(out, "mcp__github_issues__remove_labels", {"labels": ["p1"]}, tmp_path)
    assert github.issue(1).labels == ["bug"]
    call(out, "mcp__github_comment__create_comment", {"body": f"Triaged. <!-- hidden --> {TOKEN}"}, tmp_path)
    (comment,) = github.comments(1)
    assert comment.body.startswith("Triaged.") and TOKEN not in comment.body and "hidden" not in comment.body
    opened = json.loads(
        call(
            out,
            "mcp__github_issues__create_issue",
            {"title": "Follow-up", "body": "x", "labels": ["p1"]},
            tmp_path,
        ).content
    )
    assert github.issue(opened["issue_number"]).labels == ["p1"]
    assert any("added labels bug, p1 on #1" in line for line in log)


def test_inline_comments_post_when_confirmed_and_at_the_end_otherwise(github, tmp_path):
    out, _ = toolset(github, tmp_path, allow=["mcp__github_inline_comment"])
    name = "mcp__github_inline_comment__create_inline_comment"
    body = "```suggestion\n    return a + b  # fixed\n```"
    posted = json.loads(
        call(out, name, {"path": "calc.py", "line": 2, "body": body, "confirmed": True}, tmp_path).content
    )
    assert posted["success"] and len(github.review_comments_of(2)) == 1
    kept = json.loads(call(out, name, {"path": "calc.py", "line": 3, "body": "A note"}, tmp_path).content)
    never = json.loads(
        call(out, name, {"path": "calc.py", "line": 3, "body": "probe", "confirmed": False}, tmp_path).content
    )
    assert kept["buffered"] and never["buffered"] and len(github.review_comments_of(2)) == 1
    assert (
        out.finish(ok=False) == [] and len(github.review_comments_of(2)) == 1
    )  # a failed turn posts nothing
    call(out, name, {"path": "calc.py", "line": 3, "body": "A note"}, tmp_path)
    assert out.finish(ok=True) == []
    bodies = [c.body for c in github.review_comments_of(2)]
    assert bodies == [body, "A note"]
    with pytest.raises(ToolError, match="not part of the diff"):
        call(out, name, {"path": "calc.py", "line": 40, "body": "x", "confirmed": True}, tmp_path)


def test_update_claude_comment_goes_to_the_tracking_comment(github, tmp_path):
    shown: list[str] = []
    out, _ = toolset(github, tmp_path, progress=lambda body: shown.append(body) or True)
    assert "mcp__github_comment__update_claude_comment" in out.default_allow
    call(out, "mcp__github_comment__update_claude_comment", {"body": "- [x] read the log"}, tmp_path)
    assert shown == ["- [x] read the log"]


def test_update_claude_comment_shows_the_body_in_the_tracking_comment(github, tmp_path):
    from runner.flow.tracker import Tracker

    now = [1000.0]
    platform = GitHubPlatform(
        "octo-org/hello-world",
        GitHubAuth(TOKEN, None, None),
        api_url=github.base_url,
        server_url=github.web_url,
    )
    tracker = Tracker(platform, 1, None, Redactor([TOKEN]), clock=lambda: now[0])
    tracker.start()
    out, _ = toolset(github, tmp_path, number=1, change_request=False, progress=tracker.progress)
    now[0] += 10  # past the throttle
    call(out, "mcp__github_comment__update_claude_comment", {"body": f"- [x] read the log {TOKEN}"}, tmp_path)
    (comment,) = github.comments(1)
    assert "- [x] read the log" in comment.body and TOKEN not in comment.body
