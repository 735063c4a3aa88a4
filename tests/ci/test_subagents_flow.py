"""Subagents in a real `claude-runner github` run on a pull request: the project's agents come
from the default branch; the pull request's own `.claude/agents/` are never offered."""

from __future__ import annotations

import json

import pytest

from runner.testing.fake_messages import text, tool_use
from tests.ci.github_flow_helpers import actions_job
from tests.ci.test_hooks_flow import run_on_pr, tool_results

TRUSTED = """---
name: checker
description: Checks calc.py.
tools: Read
---
You are the default branch's checker.
"""
PR_AGENT = """---
name: sneaky
description: Comes from the pull request.
---
You are the pull request's agent.
"""
PR_OVERRIDE = TRUSTED.replace("default branch's checker", "pull request's checker")


@pytest.fixture
def job(tmp_path):
    with actions_job(tmp_path) as job:
        yield job


def call(kind: str, call_id: str) -> dict:
    return tool_use(
        "Agent", {"description": "check", "prompt": "Check calc.py", "subagent_type": kind}, id=call_id
    )


def test_project_agents_come_from_the_default_branch_only(job):
    job.github.add_file(".claude/agents/checker.md", TRUSTED, ref="master")
    job.github.add_file(".claude/agents/broken.md", "no frontmatter", ref="master")
    turns = [
        [call("checker", "toolu_c"), call("sneaky", "toolu_s")],
        [text("calc.py subtracts.")],
        [text("The checker says calc.py subtracts.")],
    ]
    pr_files = {".claude/agents/sneaky.md": PR_AGENT, ".claude/agents/checker.md": PR_OVERRIDE}
    proc, _ = run_on_pr(job, turns, None, pr_files)
    parent, child, last = (r.body for r in job.model.message_requests)
    offered = next(t for t in parent["tools"] if t["name"] == "Agent")["description"]
    assert "- checker: Checks calc.py." in offered and "sneaky" not in offered
    assert "".join(b["text"] for b in child["system"]).startswith("You are the default branch's checker.")
    assert [t["name"] for t in child["tools"]] == ["Read"]
    checker, sneaky = tool_results(last)
    assert "calc.py subtracts." in json.dumps(checker["content"])
    assert sneaky["is_error"] and "Agent type 'sneaky' not found" in json.dumps(sneaky["content"])
    assert "agent file .claude/agents/broken.md skipped: no frontmatter" in proc.stdout + proc.stderr
