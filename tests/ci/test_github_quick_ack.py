"""`claude-runner github` with an installation token acknowledges before building the job's
settings (`runner/quick/`), then the full run takes over: the same one tracking comment, finalised
by the run; a bad setting or a broken provider found after it was posted ends it in a final state
naming the error, with the error's exit code; a refused requester is asked once and answered as
before; a comment post without a clear answer is found, not posted twice."""

from __future__ import annotations

import json

import pytest

from tests.ci.github_flow_helpers import OWNER, REPO, error_lines
from tests.ci.test_github_flow import fix_turns, job, pr_comment_payload  # noqa: F401  (the job fixture)

TOKEN = "ghs_actionsInstallationToken0123456789"
API_ENV = {"CLAUDE_RUNNER_API_RETRY_BASE_MS": "10", "CLAUDE_RUNNER_API_TIMEOUT_S": "1"}


def _mention(job, body="@claude fix the add function", **inputs):  # noqa: F811
    job.github.tokens[TOKEN] = "github-actions[bot]"
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, title="Fix calc")
    audit = job.root / "audit.json"
    job.env_extra["CLAUDE_RUNNER_ACK_AUDIT"] = str(audit)
    proc, outputs, summary = job.run(
        "issue_comment", pr_comment_payload(job, 5, body), github_token=TOKEN, **inputs
    )
    quick = audit.exists() and "runner.quick.github" in json.loads(audit.read_text())
    return proc, outputs, summary, quick


def _tracking(job):  # noqa: F811
    return [c for c in job.github.comments(5) if "claude-runner:tracking" in c.body]


def test_a_bad_setting_found_after_the_comment_ends_it_naming_the_error(job):  # noqa: F811
    proc, outputs, summary, quick = _mention(job, pr_mode="sometimes")
    assert quick  # posted before the settings were read
    assert proc.returncode == 2  # UsageError's code, as without the quick acknowledgement
    (comment,) = _tracking(job)
    assert "Claude is working" not in comment.body and "claude-runner:working" not in comment.body
    error = "input pr_mode must be one of link, draft, ready (got 'sometimes')"
    assert error in comment.body and error_lines(proc.stderr) == [f"error: {error}"]
    assert outputs["conclusion"] == "failure" and "pr_mode" in summary
    assert job.model.requests == [] and "Traceback" not in proc.stderr
    # The state file says the comment is final: the action's always() step leaves it as it is.
    done, _, _ = job.finalize(job_status="failure")
    assert done.returncode == 0, done.stderr
    assert [c.body for c in _tracking(job)] == [comment.body]


def test_bad_claude_args_after_the_comment_end_it_naming_the_error(job):  # noqa: F811
    proc, outputs, _, quick = _mention(job, claude_args="--max-turns many")
    assert quick and proc.returncode == 2
    (comment,) = _tracking(job)
    assert "--max-turns" in comment.body and "Claude is working" not in comment.body
    assert outputs["conclusion"] == "failure"


def test_a_broken_provider_found_after_the_comment_ends_it_naming_the_error(job):  # noqa: F811
    job.env_extra["ANTHROPIC_API_KEY"] = ""
    proc, outputs, _, quick = _mention(job)
    assert quick
    assert proc.returncode == 4, proc.stderr  # CredentialsError: no API key
    (comment,) = _tracking(job)
    assert "Claude is working" not in comment.body and "ANTHROPIC_API_KEY" in comment.body
    assert outputs["conclusion"] == "failure" and job.model.requests == []


def test_the_run_takes_the_quick_comment_over_and_asks_the_permission_once(job):  # noqa: F811
    job.model.add_turns(fix_turns(job))
    proc, outputs, _, quick = _mention(job)
    assert quick and proc.returncode == 0, proc.stderr
    (comment,) = _tracking(job)
    assert "Claude finished @Codertocat's task" in comment.body and "Fixed `add()`" in comment.body
    assert [r.route for r in job.github.requests].count("get_permission") == 1
    assert [r.route for r in job.github.requests].count("create_comment") == 1
    assert outputs["conclusion"] == "success" and outputs["comment_url"].endswith(f"-{comment.id}")


def test_a_refused_requester_is_asked_once_and_answered_as_before(job):  # noqa: F811
    job.github.add_user("mallory", permission="read")
    job.github.tokens[TOKEN] = "github-actions[bot]"
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head)
    proc, outputs, _ = job.run(
        "issue_comment", pr_comment_payload(job, 5, "@claude fix it", login="mallory"), github_token=TOKEN
    )
    assert proc.returncode == 0 and outputs["conclusion"] == "skipped"
    (reply,) = job.github.comments(5)
    assert "only people with write access" in reply.body
    assert [r.route for r in job.github.requests].count("get_permission") == 1


def test_the_state_file_names_the_quick_comment_before_the_run_takes_it_over(job, tmp_path):  # noqa: F811
    # A job cancelled or killed between the quick comment and the run taking it over: the comment
    # is in the state file from the moment it exists, so `claude-runner finalize` finishes it.
    from runner.flow.state import StateFile
    from runner.quick.github import acknowledge_quickly
    from runner.settings.quick_ack import read_quick_inputs

    job.github.tokens[TOKEN] = "github-actions[bot]"
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=job.remote_branches()["fix-calc"])
    event = tmp_path / "event.json"
    event.write_text(json.dumps(pr_comment_payload(job, 5, "@claude hi")))
    env = {
        "GITHUB_EVENT_NAME": "issue_comment",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
        "GITHUB_API_URL": job.github.api_url,
        "GITHUB_SERVER_URL": job.github.web_url,
        "GITHUB_RUN_ID": "777",
        "RUNNER_TEMP": str(tmp_path),
        "INPUT_GITHUB_TOKEN": TOKEN,
    }
    handover = acknowledge_quickly(lambda: read_quick_inputs(env))
    assert handover is not None and handover.posted
    state = StateFile(tmp_path / "claude-runner-state.json", TOKEN).read()
    assert state is not None and state.phase == "acknowledged" and state.run_id == "777"
    assert state.comment is not None and state.comment.id == handover.comment_id
    assert state.repo_url == f"{job.github.web_url}/{OWNER}/{REPO}"


def test_a_sticky_comment_is_left_to_the_full_run(job):  # noqa: F811
    job.model.add_turns(fix_turns(job))
    proc, _, _, quick = _mention(job, use_sticky_comment="true")
    assert not quick and proc.returncode == 0, proc.stderr
    (comment,) = _tracking(job)
    assert "Claude finished" in comment.body


ACK_FAULTS = {
    "permission-502": lambda g: g.faults.fail("get_permission", 502),
    "permission-reset": lambda g: g.faults.reset("get_permission"),
    "tracking-comment-made-then-502": lambda g: g.faults.apply_then_fail("create_comment"),
    "tracking-comment-made-then-reset": lambda g: g.faults.reset("create_comment", apply=True),
    "tracking-comment-not-made-502": lambda g: g.faults.fail("create_comment", 502),
    "tracking-comment-rate-limited": lambda g: g.faults.rate_limit("create_comment", retry_after=1),
}


@pytest.mark.parametrize("fault", sorted(ACK_FAULTS))
def test_a_fault_during_the_quick_acknowledgement_leaves_one_comment_finalised(job, fault):  # noqa: F811
    job.env_extra.update(API_ENV)
    job.model.add_turns(fix_turns(job))
    ACK_FAULTS[fault](job.github)
    proc, outputs, _, _ = _mention(job)
    assert proc.returncode == 0, proc.stderr
    assert job.github.faults.hits, "the fault was never served"
    (comment,) = _tracking(job)
    assert "Claude finished @Codertocat's task" in comment.body and outputs["conclusion"] == "success"
    assert "Traceback" not in proc.stderr


def test_a_bad_setting_after_a_comment_post_without_an_answer_finds_and_ends_that_comment(job):  # noqa: F811
    job.env_extra.update(API_ENV)
    job.github.faults.apply_then_fail("create_comment")
    proc, outputs, _, _ = _mention(job, pr_mode="sometimes")
    assert proc.returncode == 2
    (comment,) = _tracking(job)
    assert "input pr_mode must be one of" in comment.body and "Claude is working" not in comment.body
    assert outputs["conclusion"] == "failure"
