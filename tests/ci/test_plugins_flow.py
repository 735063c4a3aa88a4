"""claude-code-action's own review workflow, as its users run it: `plugins: code-review@fixture`,
`plugin_marketplaces: <a git marketplace>` and `prompt: /code-review:code-review ...` on a pull
request. The command's text reaches the model, and the review is posted."""

from __future__ import annotations

import pytest

from runner.testing.fake_messages import text, tool_use
from tests.ci.github_flow_helpers import OWNER, REPO, actions_job
from tests.plugin_fixtures import make_marketplace
from tests.review.test_review_flow import pr_event

INLINE = "mcp__github_inline_comment__create_inline_comment"
COMMENT = "mcp__github_comment__create_comment"  # claude-code-action's plugin uses `gh pr comment`


@pytest.fixture
def job(tmp_path):
    with actions_job(tmp_path) as job:
        job.env_extra["CLAUDE_RUNNER_PLUGIN_CACHE"] = str(tmp_path / "plugin-cache")
        yield job


def _pull(job) -> None:
    head = job.remote_branches()["fix-calc"]
    files = [{"filename": "README.md", "patch": "@@ -0,0 +1 @@\n+calc", "status": "added", "additions": 1}]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, files=files)


def test_the_code_review_plugin_command_posts_a_review(job, tmp_path):
    marketplace, _ = make_marketplace(tmp_path / "markets")
    _pull(job)
    finding = {"path": "README.md", "line": 1, "body": "The README says nothing useful.", "confirmed": True}
    summary = {"body": "## Code review\n\nFound 1 issue. See the inline comment."}
    job.model.add_turns(
        [[tool_use(INLINE, finding), tool_use(COMMENT, summary)], [text("Posted the review.")]]
    )
    payload = pr_event(job, "opened")
    payload["pull_request"]["head"].update(ref="fix-calc")
    proc, _, _ = job.run(
        "pull_request",
        payload,
        prompt=f"/code-review:code-review {OWNER}/{REPO}/pull/5",
        plugins="code-review@fixture",
        plugin_marketplaces=f"file://{marketplace}",
    )
    assert proc.returncode == 0, proc.stderr
    first = job.model.message_requests[0].body
    prompt = first["messages"][0]["content"][0]["text"]
    # The command was expanded: its text, with the arguments, in place of "/code-review:code-review".
    assert prompt.startswith("Provide a code review for the given pull request.")
    assert f"ARGUMENTS: {OWNER}/{REPO}/pull/5" in prompt and "/code-review:code-review" not in prompt
    # The plugin's skill is offered under its namespace.
    skill = next(t for t in first["tools"] if t["name"] == "Skill")
    assert "<name>code-review:review-checklist</name>" in skill["description"]
    # The review: the inline comment, and the summary as the run's comment.
    (inline,) = job.github.review_comments_of(5)
    assert inline.path == "README.md" and "nothing useful" in inline.body
    (comment,) = job.github.comments(5)  # allowed by the command's allowed-tools, for this run
    assert comment.body.startswith("## Code review")
    assert f"plugins: file://{marketplace} cloned into the cache" in proc.stderr  # the job log says so


def test_a_missing_plugin_named_by_the_inputs_fails_in_one_line(job, tmp_path):
    marketplace, _ = make_marketplace(tmp_path / "markets")
    _pull(job)
    proc, _, _ = job.run(
        "pull_request",
        pr_event(job, "opened"),
        prompt="/code-review:code-review",
        plugins="no-such-plugin@fixture",
        plugin_marketplaces=f"file://{marketplace}",
    )
    assert proc.returncode == 3, proc.stderr
    assert (
        "plugin no-such-plugin@fixture: the marketplace has no such plugin (it has: code-review)"
        in proc.stderr
    )
    assert "Traceback" not in proc.stderr
    assert job.model.message_requests == []
