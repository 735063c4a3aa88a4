"""``claude-runner finalize``'s decisions (``flow/finalize.py``), in process: what it does for
each phase the state file can be left in, and what the stopped comment says."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.flow.finalize import finalize, stopped_comment
from runner.flow.job import Job
from runner.flow.state import RunState, StateFile
from runner.platforms.base import CommentRef
from runner.sanitize import Redactor

REPO = "https://github.example/o/r"
COMMENT = CommentRef(42, f"{REPO}/issues/5#issuecomment-42")


class Host:
    name = "github"

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.closed = False

    def update_comment(self, ref: CommentRef, body: str) -> None:
        self.bodies.append(body)

    def close(self) -> None:
        self.closed = True


def setup(tmp_path: Path, **changes) -> tuple[Job, Host, list[str], list[dict[str, str]]]:
    file = StateFile(tmp_path / "state.json", key="ghp_key")
    values = dict(
        platform="github", repo_url=REPO, run_id="7", job_url=f"{REPO}/actions/runs/7", requester="alice"
    )
    values.update(number=5, comment=COMMENT, phase="running", links=[("View job", f"{REPO}/actions/runs/7")])
    values.update(changes)
    file.write(RunState(**values))
    lines: list[str] = []
    outputs: list[dict[str, str]] = []
    job = Job(
        workspace=tmp_path,
        temp_dir=tmp_path,
        repo_url=REPO,
        run_id="7",
        log=lines.append,
        write_outputs=lambda o: outputs.append(dict(o)),
        state_file=file,
    )
    return job, Host(), lines, outputs


def run(job: Job, host: Host, status: str | None) -> int:
    return finalize(job, lambda: host, job_status=status, redactor=Redactor(["ghp_key"]), retry_delays=())


def test_a_stopped_run_gets_a_final_comment_and_cancelled_outputs(tmp_path):
    job, host, _, outputs = setup(tmp_path, branch="claude/issue-5", pr_url=f"{REPO}/pull/6")
    assert run(job, host, "cancelled") == 0
    (body,) = host.bodies
    assert "stopped" in body and "[`claude/issue-5`](https://github.example/o/r/tree/claude/issue-5)" in body
    assert outputs[0]["conclusion"] == "cancelled" and outputs[0]["branch_name"] == "claude/issue-5"
    assert outputs[0]["pr_url"] == f"{REPO}/pull/6" and host.closed
    state = job.state_file.read() if job.state_file else None
    assert state is not None and (state.phase, state.conclusion) == ("finalised", "cancelled")


def test_a_run_stopped_while_finishing_gets_the_body_it_kept(tmp_path):
    job, host, _, outputs = setup(
        tmp_path, phase="finishing", conclusion="success", final_body="**Claude finished**"
    )
    assert run(job, host, "failure") == 0
    assert host.bodies == ["**Claude finished**"] and outputs == []  # the run wrote its outputs


@pytest.mark.parametrize(
    ("changes", "status", "says"),
    [
        ({"phase": "finalised", "conclusion": "success"}, "success", "finalised its comment itself"),
        ({"run_id": "6"}, "cancelled", "another job"),
        ({"repo_url": "https://github.example/evil/r"}, "cancelled", "another job"),
        ({}, "success", "the main step succeeded"),
    ],
)
def test_nothing_to_do(tmp_path, changes, status, says):
    job, host, lines, outputs = setup(tmp_path, **changes)
    assert run(job, host, status) == 0
    assert host.bodies == [] and outputs == [] and says in "\n".join(lines)


def test_the_stopped_comment_says_why_and_where_the_work_may_be():
    state = RunState("gitlab", "https://gl/g/p", "9", "https://gl/g/p/-/jobs/9", "bob", phase="publishing")
    state.planned_branch = "claude/issue-3"
    body = stopped_comment(state, "canceled", Redactor([]))
    assert (
        "The job was cancelled before Claude finished. The run stopped while it was publishing the work."
        in body
    )
    assert "[View job](https://gl/g/p/-/jobs/9)" in body
    assert "may have reached [`claude/issue-3`](https://gl/g/p/-/tree/claude/issue-3)" in body
    unknown = stopped_comment(state, None, Redactor([]))
    assert "cancelled, killed or timed out" in unknown
