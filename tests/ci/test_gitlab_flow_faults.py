"""`claude-runner gitlab` end to end when GitLab fails: a transient fault on the calls of the mention
flow never ends the run, a note or merge request made but answered 502 exists once, and a
persistent failure is one line with its exit code."""

from __future__ import annotations

import pytest

from tests.ci.test_gitlab_flow import fix, world  # noqa: F401  (the GitLab world fixture)

API_ENV = {"CLAUDE_RUNNER_API_RETRY_BASE_MS": "10", "CLAUDE_RUNNER_API_TIMEOUT_S": "0.5"}


def own_notes(world, noteable, iid):  # noqa: F811
    return [n for n in world.gitlab.note_list(noteable, iid) if not n.system and "claude-runner" in n.body]


MR_FAULTS = {
    "member-check-502": lambda g: g.faults.fail("get_member", 502),
    "note-made-then-502": lambda g: g.faults.apply_then_fail("create_note"),
    "note-made-then-hang": lambda g: g.faults.hang("create_note", apply=True),
    "note-not-made-503": lambda g: g.faults.fail("create_note", 503),
    "discussions-reset": lambda g: g.faults.reset("list_discussions"),
    "note-update-502": lambda g: g.faults.fail("update_note", 502),
    "rate-limited-read": lambda g: g.faults.fail("get_merge_request", 429, headers={"Retry-After": "1"}),
}


@pytest.mark.parametrize("fault", sorted(MR_FAULTS))
def test_one_transient_fault_on_an_mr_mention_never_ends_the_run(world, fault):  # noqa: F811
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    world.model.add_turns(fix(world))
    MR_FAULTS[fault](world.gitlab)
    proc = world.run(world.note_payload("MergeRequest", 5, "@claude fix the bug in calc.py"), **API_ENV)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert world.gitlab.faults.hits, "the fault was never served"
    (note,) = own_notes(world, "merge_request", 5)
    assert "Claude finished @alice's task" in note.body
    assert "Traceback" not in proc.stderr


def test_a_merge_request_made_but_answered_502_exists_once(world):  # noqa: F811
    world.gitlab.add_issue("add() is wrong", iid=7, description="It subtracts.", author="alice")
    world.model.add_turns(fix(world))
    world.gitlab.faults.apply_then_fail("create_merge_request")
    proc = world.run(world.note_payload("Issue", 7, "@claude please fix this"), **API_ENV)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    (mr,) = world.gitlab.merge_requests_created
    (note,) = own_notes(world, "issue", 7)
    assert f"/-/merge_requests/{mr.iid}" in note.body and "finished" in note.body
    assert "but the merge request was made: using it" in proc.stdout + proc.stderr


def test_a_persistent_failure_is_one_line_with_exit_code_10(world):  # noqa: F811
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    world.gitlab.faults.fail("list_users", 503, times=None)
    proc = world.run(
        world.note_payload("MergeRequest", 5, "@claude fix it"), **API_ENV, CLAUDE_RUNNER_API_RETRIES="2"
    )
    assert proc.returncode == 10 and "Traceback" not in proc.stderr
    (error,) = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(
        "error: GitLab API kept failing while trying to look up user alice: 503 Service Unavailable"
        " after 3 attempts"
    )
    assert own_notes(world, "merge_request", 5) == [] and world.model.requests == []


def test_unwritable_outputs_are_one_error_section_after_the_note_and_exit_11(world):  # noqa: F811
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    world.model.add_turns(fix(world))
    (world.workspace / "claude-runner.env").mkdir()  # the dotenv report cannot be written
    proc = world.run(world.note_payload("MergeRequest", 5, "@claude fix the bug in calc.py"), **API_ENV)
    assert proc.returncode == 11 and "Traceback" not in proc.stderr
    (error,) = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(
        f"error: could not write the job's outputs in {world.workspace}: Is a directory — "
    )
    assert "section_start:" in proc.stderr and ":claude_runner_error" in proc.stderr
    (note,) = own_notes(world, "merge_request", 5)
    assert "Claude finished @alice's task" in note.body
