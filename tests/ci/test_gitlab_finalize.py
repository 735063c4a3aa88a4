"""GitLab: a killed `claude-runner gitlab` finished by `claude-runner finalize` in after_script,
and the dotenv report written on every way out. Real subprocesses against the fake GitLab, the
fake Messages API and a bare git remote."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import yaml

from runner.testing.fake_messages import text
from tests.ci import test_gitlab_flow as flow
from tests.paths import REPO_ROOT

world = flow.world  # the fixture: a GitLab CI job in a box
WORKING = "Claude is working"


def start(world, payload: dict, **variables: str) -> subprocess.Popen[str]:
    event = world.root / "hook.json"
    event.write_text(json.dumps(payload))
    return subprocess.Popen(
        [sys.executable, "-m", "runner", "gitlab", "--event-path", str(event)],
        cwd=world.workspace,
        env={**flow.world_env(world), **variables},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finalize(world, status: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """after_script: a separate shell with the job's variables and CI_JOB_STATUS."""
    return subprocess.run(
        [sys.executable, "-m", "runner", "finalize"],  # GITLAB_CI=true says which platform
        cwd=world.workspace,
        env={**flow.world_env(world), "CI_JOB_STATUS": status, **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )


def dotenv(world) -> dict[str, str]:
    path = world.workspace / "claude-runner.env"
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def notes(world, iid=5):
    return [n for n in world.gitlab.note_list("merge_request", iid) if not n.system]


def wait_for(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def mention(world):
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    return world.note_payload("MergeRequest", 5, "@claude explain calc.py")


def test_a_killed_job_is_finalised_in_after_script(world):
    world.model.add_turns([{"content": [text("slow")], "delay_s": 60}])
    proc = start(world, mention(world))
    wait_for(lambda: world.model.requests, "the model call")
    state = json.loads((world.workspace / ".git" / "claude-runner-state.json").read_text())
    assert state["phase"] == "running" and state["run_id"] == "99" and state["comment"]["noteable"]
    proc.kill()
    proc.communicate(timeout=20)
    (note,) = notes(world)
    assert WORKING in note.body

    done = finalize(world, "canceled")
    assert done.returncode == 0, done.stderr
    (note,) = notes(world)
    assert WORKING not in note.body
    assert "was stopped after" in note.body and "The job was cancelled before Claude finished" in note.body
    assert "/-/jobs/99" in note.body
    assert "glpat-fake-token" not in note.body
    assert dotenv(world)["CLAUDE_CONCLUSION"] == "cancelled"
    assert dotenv(world)["CLAUDE_COMMENT_URL"]
    assert "stopped" in done.stdout  # the summary goes to the job log

    again = finalize(world, "canceled")
    assert again.returncode == 0 and "nothing to do" in again.stderr
    assert notes(world)[0].body == note.body


def test_after_script_after_a_successful_run_changes_nothing(world):
    world.model.add_turns([[text("It adds numbers (badly).")]])
    proc = start(world, mention(world))
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    (note,) = notes(world)
    assert "Claude finished" in note.body
    before = (world.workspace / "claude-runner.env").read_text()

    done = finalize(world, "success")
    assert done.returncode == 0 and "nothing to do" in done.stderr
    assert notes(world)[0].body == note.body
    assert (world.workspace / "claude-runner.env").read_text() == before


def test_a_state_file_from_an_earlier_job_is_ignored(world):
    world.model.add_turns([{"content": [text("slow")], "delay_s": 60}])
    proc = start(world, mention(world))
    wait_for(lambda: world.model.requests, "the model call")
    proc.kill()
    proc.communicate(timeout=20)
    # The checkout is reused (GIT_STRATEGY: fetch): the next job's after_script finds the file.
    done = finalize(world, "success", CI_JOB_ID="100", CI_JOB_URL="https://gitlab.example/-/jobs/100")
    assert done.returncode == 0 and "another job" in done.stderr
    assert WORKING in notes(world)[0].body


def test_a_bad_job_variable_still_writes_the_conclusion(world):
    proc = start(world, mention(world), MAX_TURNS="many")
    proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert dotenv(world) == {"CLAUDE_CONCLUSION": "failure"}
    assert notes(world) == []


def test_an_event_that_does_not_ask_for_claude_writes_skipped(world):
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    proc = start(world, world.note_payload("MergeRequest", 5, "no mention here"))
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert dotenv(world) == {"CLAUDE_CONCLUSION": "skipped"}


def test_every_example_job_finalises_in_after_script():
    jobs = yaml.safe_load((REPO_ROOT / ".gitlab-ci.example.yml").read_text())
    base = jobs[".claude"]
    assert base["after_script"] == ["claude-runner finalize"]
    runners = [
        name for name, job in jobs.items() if isinstance(job, dict) and "claude-runner gitlab" in str(job)
    ]
    assert runners
    for name in runners:
        job = jobs[name]
        assert job.get("after_script", base["after_script"] if job.get("extends") == ".claude" else None) == [
            "claude-runner finalize"
        ], name
