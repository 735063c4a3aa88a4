"""GitLab: the dotenv report written on every way out. Real subprocesses against the fake
GitLab, the fake Messages API and a bare git remote."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.ci import test_gitlab_flow as flow

world = flow.world  # the fixture: a GitLab CI job in a box


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


def dotenv(world) -> dict[str, str]:
    path = world.workspace / "claude-runner.env"
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def notes(world, iid=5):
    return [n for n in world.gitlab.note_list("merge_request", iid) if not n.system]


def mention(world):
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    return world.note_payload("MergeRequest", 5, "@claude explain calc.py")


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
