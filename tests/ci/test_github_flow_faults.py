"""`claude-runner github` end to end when GitHub fails: one transient fault on any call of the
mention flow never ends the run (one tracking comment, finalised; one pull request), a persistent
failure is one line with its exit code and no traceback, a revoked token says so, and answers the
description allows (deleted accounts, labels as strings) are read."""

from __future__ import annotations

import pytest

from runner.testing.fake_messages import text
from tests.ci.github_flow_helpers import error_lines
from tests.ci.test_github_flow import fix_turns, job, pr_comment_payload  # noqa: F401  (the job fixture)

# Retries in milliseconds, and a 1 s client timeout, so the hang cases stay fast.
API_ENV = {"CLAUDE_RUNNER_API_RETRY_BASE_MS": "10", "CLAUDE_RUNNER_API_TIMEOUT_S": "1"}


def open_pr(job, **kwargs):  # noqa: F811
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, title="Fix calc", **kwargs)


def issue_payload(job):  # noqa: F811
    payload = pr_comment_payload(job, 9)
    del payload["issue"]["pull_request"]
    return payload


def tracking_comments(job, number):  # noqa: F811
    return [c for c in job.github.comments(number) if "claude-runner:tracking" in c.body]


PR_FAULTS = {
    "permission-502": lambda g: g.faults.fail("get_permission", 502),
    "permission-reset": lambda g: g.faults.reset("get_permission"),
    "permission-secondary-rate-limit": lambda g: g.faults.rate_limit("get_permission", retry_after=1),
    "tracking-comment-made-then-502": lambda g: g.faults.apply_then_fail("create_comment"),
    "tracking-comment-made-then-reset": lambda g: g.faults.reset("create_comment", apply=True),
    "tracking-comment-not-made-502": lambda g: g.faults.fail("create_comment", 502),
    "thread-fetch-502": lambda g: g.faults.fail("graphql", 502),
    "thread-fetch-hang": lambda g: g.faults.hang("graphql"),
    "pull-request-read-503": lambda g: g.faults.fail("get_pull", 503),
    "comment-update-502": lambda g: g.faults.fail("edit_comment", 502),
    "comment-update-reset": lambda g: g.faults.reset("edit_comment"),
}


@pytest.mark.parametrize("fault", sorted(PR_FAULTS))
def test_one_transient_fault_on_any_call_of_a_pr_mention_never_ends_the_run(job, fault):  # noqa: F811
    open_pr(job)
    job.env_extra.update(API_ENV)
    job.model.add_turns(fix_turns(job))
    PR_FAULTS[fault](job.github)
    proc, outputs, _ = job.run("issue_comment", pr_comment_payload(job, 5))
    assert proc.returncode == 0, proc.stderr
    assert job.github.faults.hits, "the fault was never served"
    (comment,) = tracking_comments(job, 5)
    assert "Claude finished @Codertocat's task" in comment.body and "Fixed `add()`" in comment.body
    assert outputs["conclusion"] == "success"
    assert "retrying in" in proc.stderr or "was made: using it" in proc.stderr
    assert "Traceback" not in proc.stderr


ISSUE_FAULTS = {
    "pr-create-made-then-502": lambda g: g.faults.apply_then_fail("create_pull"),
    "pr-create-made-then-reset": lambda g: g.faults.reset("create_pull", apply=True),
    "pr-create-not-made-502": lambda g: g.faults.fail("create_pull", 502),
    "pr-lookup-502": lambda g: g.faults.fail("list_pulls", 502),
}


@pytest.mark.parametrize("fault", sorted(ISSUE_FAULTS))
def test_one_transient_fault_around_the_pull_request_gives_exactly_one(job, fault):  # noqa: F811
    job.github.add_issue(9, title="add() is wrong", body="It subtracts.")
    job.env_extra.update(API_ENV)
    job.model.add_turns(fix_turns(job))
    ISSUE_FAULTS[fault](job.github)
    proc, outputs, _ = job.run("issue_comment", issue_payload(job), pr_mode="draft")
    assert proc.returncode == 0, proc.stderr
    assert job.github.faults.hits
    (pr,) = job.github.pulls_created
    assert outputs["pr_url"].endswith(f"/pull/{pr.number}")
    (comment,) = tracking_comments(job, 9)
    assert "finished" in comment.body and outputs["pr_url"] in comment.body


def test_a_persistent_failure_before_posting_is_one_line_with_exit_code_10(job):  # noqa: F811
    open_pr(job)
    job.env_extra.update(API_ENV, CLAUDE_RUNNER_API_RETRIES="2")
    job.github.faults.fail("get_permission", 502, times=None)
    proc, _, _ = job.run("issue_comment", pr_comment_payload(job, 5))
    assert proc.returncode == 10
    errors = error_lines(proc.stderr)
    assert errors == [
        "error: GitHub API kept failing while trying to check Codertocat's permission: 502 Bad Gateway"
        " after 3 attempts — GitHub may be having an outage (https://www.githubstatus.com);"
        " run the job again later"
    ]
    assert "Traceback" not in proc.stderr and proc.stderr.count("retrying in") == 2
    assert job.github.comments(5) == [] and job.model.requests == []


def test_a_persistent_failure_mid_run_is_reported_in_the_comment_with_exit_code_10(job):  # noqa: F811
    open_pr(job)
    job.env_extra.update(API_ENV, CLAUDE_RUNNER_API_RETRIES="1")
    job.github.faults.fail("get_pull", 503, times=None)
    proc, outputs, _ = job.run("issue_comment", pr_comment_payload(job, 5))
    assert proc.returncode == 10 and "Traceback" not in proc.stderr
    (comment,) = tracking_comments(job, 5)
    assert "Claude hit an error" in comment.body
    assert "GitHub API kept failing while trying to read the pull request: 503" in comment.body
    assert outputs["conclusion"] == "failure"


def test_an_unreachable_github_is_one_line_with_exit_code_10(job, tmp_path):  # noqa: F811
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    open_pr(job)
    job.env_extra.update(API_ENV, CLAUDE_RUNNER_API_RETRIES="1", GITHUB_API_URL=f"http://127.0.0.1:{port}")
    proc, _, _ = job.run("issue_comment", pr_comment_payload(job, 5))
    assert proc.returncode == 10 and "Traceback" not in proc.stderr
    (error,) = error_lines(proc.stderr)
    assert error.startswith("error: GitHub API unreachable while trying to check Codertocat's permission:")
    assert "connection refused" in error


def test_a_token_revoked_mid_run_says_it_expired_or_was_revoked(job):  # noqa: F811
    open_pr(job)
    job.env_extra.update(API_ENV)
    job.model.add_turns([[text("Looked at it.")]])
    job.github.faults.fail("graphql", 401, message="Bad credentials")  # after the comment was posted
    proc, _, _ = job.run("issue_comment", pr_comment_payload(job, 5, body="@claude have a look"))
    assert proc.returncode == 4 and "Traceback" not in proc.stderr
    expected = "the GitHub token expired or was revoked (401 while trying to list comments)"
    assert any(f"error: {expected}" in line for line in error_lines(proc.stderr))
    (comment,) = tracking_comments(job, 5)
    assert "Claude hit an error" in comment.body and expected in comment.body


def test_deleted_accounts_and_string_labels_do_not_break_a_mention(job):  # noqa: F811
    open_pr(job, labels=["bug"])
    job.github.add_review_comment(5, "This line is odd.", "ghostly", "README.md", 1)
    job.github.add_comment(5, "Agreed.", "ghostly")
    job.github.delete_user("ghostly")
    job.github.string_labels = True
    job.model.add_turns([[text("It names the project.")]])
    proc, _, _ = job.run("issue_comment", pr_comment_payload(job, 5, body="@claude what is odd here?"))
    assert proc.returncode == 0, proc.stderr
    (comment,) = tracking_comments(job, 5)
    assert "Claude finished" in comment.body and "It names the project." in comment.body
    (listed,) = job.github.requests_to("GET", "list_review_comments")
    assert listed.reply[0]["user"] is None  # what crashed every mention on such a pull request
    (issue,) = job.github.requests_to("GET", "get_issue")
    assert issue.reply["user"] is not None and issue.reply["labels"] == ["bug"]


def test_a_model_401_exits_4_as_run_does_and_is_annotated_once(job):  # noqa: F811
    open_pr(job)
    job.model.queue_fault("authentication")
    proc, outputs, _ = job.run("issue_comment", pr_comment_payload(job, 5, body="@claude have a look"))
    assert proc.returncode == 4 and "Traceback" not in proc.stderr
    (error,) = error_lines(proc.stderr)
    assert "model API error" in error
    assert outputs["conclusion"] == "failure"


def test_unwritable_outputs_and_summary_after_the_push_are_one_line_and_exit_11(job, tmp_path):  # noqa: F811
    open_pr(job)
    before = job.remote_log("fix-calc")[0]
    (tmp_path / "summary-dir").mkdir()
    job.env_extra.update(GITHUB_OUTPUT="/dev/full", GITHUB_STEP_SUMMARY=str(tmp_path / "summary-dir"))
    job.model.add_turns(fix_turns(job))
    proc, _, _ = job.run("issue_comment", pr_comment_payload(job, 5))
    assert proc.returncode == 11 and "Traceback" not in proc.stderr
    (error,) = error_lines(proc.stderr)
    assert error.startswith("error: could not write $GITHUB_OUTPUT (/dev/full): No space left on device — ")
    assert job.remote_log("fix-calc")[0] != before  # the work was pushed
    (comment,) = tracking_comments(job, 5)
    assert "Claude finished @Codertocat's task" in comment.body


def test_a_warning_in_the_flow_is_a_warning_annotation(job):  # noqa: F811
    open_pr(job)
    job.model.add_turns([[text("Looked at it.")]])
    proc, _, _ = job.run(
        "issue_comment",
        pr_comment_payload(job, 5, body="@claude have a look"),
        claude_args="--allowedTools Bsh",
    )
    assert proc.returncode == 0, proc.stderr
    (warning,) = [line for line in proc.stderr.splitlines() if "no tool is named" in line]
    assert warning.startswith(
        "::warning title=claude-runner::--allowedTools/--disallowedTools: no tool is named 'Bsh'"
    )
