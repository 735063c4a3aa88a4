"""The tracking comment always ends final, and the outputs are always written: a killed
`claude-runner github` finished by `claude-runner finalize`, a final update that meets 502s, a
second signal during the cleanup, and the early ways out. Real subprocesses against the fake
GitHub, the fake Messages API and a bare git remote."""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest

from runner.testing.fake_messages import text, tool_use
from tests.ci.github_flow_helpers import actions_job, now_iso
from tests.ci.test_github_flow import fix_turns_without_progress, pr_comment_payload

WORKING = "Claude is working"


@pytest.fixture
def job(tmp_path):
    with actions_job(tmp_path) as job:
        yield job


def wait_for(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Lines:
    """A subprocess's stderr, read as it comes."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    def has(self, fragment: str) -> bool:
        return any(fragment in line for line in self.lines)

    def text(self) -> str:
        self._thread.join(timeout=10)
        return "".join(self.lines)


def pr_job(job):
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head)
    return pr_comment_payload(job, 5, body="@claude explain calc.py")


def issue_payload(job, number=9):
    job.github.add_issue(number, title="add() is wrong", body="It subtracts.")
    payload = job.payload("issue_comment")
    payload["issue"]["number"] = number
    payload["comment"]["body"] = "@claude fix the bug in calc.py"
    payload["comment"]["created_at"] = payload["comment"]["updated_at"] = now_iso()
    return payload


def state(job) -> dict:
    return json.loads((job.root / "runner_temp" / "claude-runner-state.json").read_text())


# --- a killed run, finished by finalize ------------------------------------------------------------


def test_a_killed_run_is_finalised_by_finalize_as_stopped(job):
    payload = pr_job(job)
    job.model.add_turns([{"content": [text("slow")], "delay_s": 60}])
    proc = job.start("issue_comment", payload)
    wait_for(lambda: job.model.requests, "the model call")
    assert state(job)["phase"] == "running"
    proc.kill()
    proc.communicate(timeout=20)
    (comment,) = job.github.comments(5)
    assert WORKING in comment.body  # what the kill left

    done, outputs, summary = job.finalize("cancelled")
    assert done.returncode == 0, done.stderr
    (comment,) = job.github.comments(5)
    assert WORKING not in comment.body
    assert (
        "was stopped after" in comment.body and "The job was cancelled before Claude finished" in comment.body
    )
    assert "while Claude was working" in comment.body
    assert f"{job.github.web_url}/Codertocat/Hello-World/actions/runs/777" in comment.body  # the job
    assert "ghp_fake_token" not in comment.body
    assert outputs["conclusion"] == "cancelled" and outputs["comment_url"].endswith(str(comment.id))
    assert "stopped" in summary and "actions/runs/777" in summary
    assert state(job)["phase"] == "finalised"

    again, outputs, _ = job.finalize("cancelled")  # a second finalize has nothing left to do
    assert again.returncode == 0 and "nothing to do" in again.stderr
    assert "conclusion" not in outputs
    assert job.github.comments(5)[0].body == comment.body


def test_a_run_killed_while_publishing_links_the_pushed_branch(job):
    payload = issue_payload(job)
    job.model.add_turns(fix_turns_without_progress(job))
    job.github.fail_route("POST", "create_pull", 502, delay_s=60)  # the push is done, the PR hangs
    proc = job.start("issue_comment", payload, pr_mode="draft")
    wait_for(lambda: any(b.startswith("claude/issue-9-") for b in job.remote_branches()), "the pushed branch")
    wait_for(lambda: state(job)["phase"] == "publishing", "the publishing phase")
    time.sleep(0.5)  # the pull request call is on its way (and hangs)
    proc.kill()
    proc.communicate(timeout=20)
    branch = next(b for b in job.remote_branches() if b.startswith("claude/issue-9-"))

    done, outputs, _ = job.finalize("cancelled")
    assert done.returncode == 0, done.stderr
    (comment,) = job.github.comments(9)
    assert "while it was publishing the work" in comment.body
    assert f"[`{branch}`]({job.github.web_url}/Codertocat/Hello-World/tree/{branch})" in comment.body
    assert outputs["conclusion"] == "cancelled"


def test_finalize_after_a_successful_run_changes_nothing(job):
    job.model.add_turns([[text("It adds numbers (badly).")]])
    proc, outputs, _ = job.run("issue_comment", pr_job(job))
    assert proc.returncode == 0, proc.stderr
    (comment,) = job.github.comments(5)
    assert "Claude finished" in comment.body and outputs["conclusion"] == "success"
    edits = job.github.request_count("PATCH", "edit_comment")

    done, outputs, summary = job.finalize("success")
    assert done.returncode == 0, done.stderr
    assert "nothing to do" in done.stderr
    assert outputs == {} and summary == ""
    assert job.github.comments(5)[0].body == comment.body
    assert job.github.request_count("PATCH", "edit_comment") == edits


# --- the final update meets errors -------------------------------------------------------------------


def test_a_final_update_answered_502_twice_is_retried(job):
    job.model.add_turns([[text("It adds numbers (badly).")]])
    job.github.fail_route("PATCH", "edit_comment", 502, 502)
    proc, outputs, summary = job.run("issue_comment", pr_job(job))
    assert proc.returncode == 0, proc.stderr
    (comment,) = job.github.comments(5)
    assert "Claude finished" in comment.body and "It adds numbers (badly)." in comment.body
    assert outputs["conclusion"] == "success" and "finished" in summary
    assert state(job)["phase"] == "finalised"


def test_a_final_update_that_always_fails_still_reports_and_links_the_work(job):
    payload = issue_payload(job)
    job.model.add_turns(fix_turns_without_progress(job))
    job.github.fail_route("PATCH", "edit_comment", 502, repeat=True)
    proc, outputs, summary = job.run("issue_comment", payload, pr_mode="draft")
    assert proc.returncode == 9  # PlatformError: the comment could not be finalised
    assert "could not finalise the tracking comment" in proc.stderr and "502" in proc.stderr
    # The work is done and linked everywhere but in the comment.
    branch = outputs["branch_name"]
    assert outputs["conclusion"] == "success" and branch in job.remote_branches()
    assert outputs["pr_url"] and outputs["pr_url"] in summary and branch in summary
    assert "could not finalise the tracking comment" in summary
    (comment,) = job.github.comments(9)
    assert WORKING in comment.body
    assert state(job)["phase"] == "finishing"

    # The always() step delivers the final comment the run kept, once GitHub answers again.
    job.github.fail_route("PATCH", "edit_comment")
    done, _, _ = job.finalize("failure")
    assert done.returncode == 0, done.stderr
    (comment,) = job.github.comments(9)
    assert "Claude finished" in comment.body and outputs["pr_url"] in comment.body


def test_finalize_says_so_when_it_cannot_update_the_comment_either(job):
    job.model.add_turns([{"content": [text("slow")], "delay_s": 60}])
    proc = job.start("issue_comment", pr_job(job))
    wait_for(lambda: job.model.requests, "the model call")
    proc.kill()
    proc.communicate(timeout=20)
    job.github.fail_route("PATCH", "edit_comment", 502, repeat=True)
    done, outputs, summary = job.finalize("cancelled")
    assert done.returncode == 9 and "could not finalise the tracking comment" in done.stderr
    assert outputs["conclusion"] == "cancelled" and "stopped" in summary


# --- signals ---------------------------------------------------------------------------------------


def test_a_second_sigterm_during_cleanup_still_finalises_the_comment(job):
    payload = pr_job(job)
    calc = str(job.workspace / "calc.py")
    edit = {"file_path": calc, "old_string": "a - b", "new_string": "a + b"}
    job.model.add_turns(
        [
            [tool_use("Read", {"file_path": calc}), tool_use("Edit", edit)],
            {"content": [text("slow")], "delay_s": 60},
        ]
    )
    # The first final update is slow and fails: the second signal lands while it is retried.
    job.github.fail_route("PATCH", "edit_comment", 502, delay_s=2)
    proc = job.start("issue_comment", payload)
    log = Lines(proc.stderr)
    wait_for(lambda: len(job.model.requests) == 2, "the second model call")
    proc.send_signal(signal.SIGTERM)
    wait_for(lambda: log.has("cancelled: saving the work"), "the cleanup")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    stderr = log.text()
    assert "second signal during cleanup (SIGTERM): finishing within" in stderr
    assert proc.returncode == 1
    (comment,) = job.github.comments(5)
    assert "Claude hit an error" in comment.body and "cancelled" in comment.body
    assert "pushed to `fix-calc`" in comment.body  # the cleanup saved the edit
    assert job.remote_log("fix-calc", "%an")[0] == "claude[bot]"
    outputs = (job.root / "github_output").read_text()
    assert "conclusion=cancelled" in outputs and "branch_name=fix-calc" in outputs
    done, _, _ = job.finalize("cancelled")
    assert done.returncode == 0 and "nothing to do" in done.stderr


# --- outputs on every way out ------------------------------------------------------------------------


def test_a_bad_input_still_writes_conclusion_failure(job):
    proc, outputs, summary = job.run("issue_comment", pr_job(job), pr_mode="sometimes")
    assert proc.returncode == 2 and "pr_mode" in proc.stderr
    assert outputs == {"conclusion": "failure"}
    assert "pr_mode" in summary and "failed" in summary
    assert job.github.comments(5) == []


def test_a_tracking_comment_that_cannot_be_posted_still_writes_outputs(job):
    job.github.fail_route("POST", "create_comment", 502, repeat=True)
    proc, outputs, summary = job.run("issue_comment", pr_job(job))
    # A 502 on every try: the host kept failing (PlatformUnavailable, exit 10), after the retries.
    assert proc.returncode == 10, proc.stderr
    assert "while trying to post a comment" in proc.stderr
    assert outputs["conclusion"] == "failure" and "while trying to post a comment" in summary
    assert job.model.requests == []  # nothing was spent
    assert state(job)["phase"] == "finalised"


def test_a_missing_event_file_still_writes_conclusion_failure(job):
    job.env_extra["GITHUB_EVENT_PATH"] = str(job.root / "missing.json")
    proc, outputs, summary = job.run("issue_comment", pr_job(job))
    assert proc.returncode == 2 and "missing.json" in proc.stderr
    assert outputs == {"conclusion": "failure"} and "missing.json" in summary


def test_a_failed_permission_check_still_writes_conclusion_failure(job):
    job.github.fail_route("GET", "get_permission", 502, repeat=True)
    proc, outputs, summary = job.run("issue_comment", pr_job(job))
    assert proc.returncode == 10 and "permission" in proc.stderr
    assert outputs == {"conclusion": "failure"} and "permission" in summary
    assert job.github.comments(5) == [] and job.model.requests == []


def test_finalize_without_a_run_has_nothing_to_do(job):
    proc, outputs, _ = job.run("issue_comment", pr_comment_payload(job, 5, body="no mention here"))
    assert proc.returncode == 0 and outputs["conclusion"] == "skipped"
    done, outputs, _ = job.finalize("success")
    assert done.returncode == 0 and "no run to finish" in done.stderr
    assert outputs == {}


def test_a_state_file_changed_by_someone_else_is_not_acted_on(job):
    job.model.add_turns([{"content": [text("slow")], "delay_s": 60}])
    proc = job.start("issue_comment", pr_job(job))
    wait_for(lambda: job.model.requests, "the model call")
    proc.kill()
    proc.communicate(timeout=20)
    path = job.root / "runner_temp" / "claude-runner-state.json"
    data = json.loads(path.read_text())
    data["comment"]["id"] = 1  # another comment of the repository
    path.write_text(json.dumps(data))
    done, outputs, _ = job.finalize("cancelled")
    assert done.returncode == 3 and "HMAC does not match" in done.stderr
    assert outputs == {}
    assert WORKING in job.github.comments(5)[0].body
