"""The triage example (examples/issue-triage.yml) end to end on the fakes: its prompt and
claude_args, an issue opened, a scripted model that labels it; the labels are on the issue. And the
gate: without the allow rule the label tool is not offered."""

from __future__ import annotations

import json

import yaml

from runner.testing.fake_messages import text, tool_use
from tests.ci.github_flow_helpers import actions_job, now_iso
from tests.paths import REPO_ROOT
from tests.platform_tools.scripted import offered_tools, tool_results

ADD_LABELS = "mcp__github_issues__add_labels"


def example_inputs() -> dict[str, str]:
    workflow = yaml.safe_load((REPO_ROOT / "examples" / "issue-triage.yml").read_text())
    step = next(s for s in workflow["jobs"]["triage"]["steps"] if "claude-runner" in s.get("uses", ""))
    return {k: v for k, v in step["with"].items() if k != "anthropic_api_key"}


def opened(job, number=12):
    job.github.add_issue(
        number, title="Crash when the list is empty", body="max([]) raises.", user="Codertocat"
    )
    payload = job.payload("issues", "opened.payload.json")
    payload["issue"].update(number=number, title="Crash when the list is empty", body="max([]) raises.")
    payload["issue"]["created_at"] = payload["issue"]["updated_at"] = now_iso()
    return payload


def test_the_triage_example_labels_the_issue(tmp_path):
    with actions_job(tmp_path) as job:
        job.github.add_label("bug", "enhancement", "question", "needs-info", "p0", "p1", "p2", "p3")
        job.model.add_turns(
            [
                [tool_use(ADD_LABELS, {"labels": ["bug", "security-critical"]})],  # not a label here
                [tool_use(ADD_LABELS, {"labels": ["Bug", "p1"]})],
                [text("A bug (p1): max() of an empty list.")],
            ]
        )
        proc, outputs, _ = job.run("issues", opened(job), **example_inputs())
        assert proc.returncode == 0, proc.stderr
        assert ADD_LABELS in offered_tools(job.model)
        assert job.github.issue(12).labels == ["bug", "p1"]
        refused, applied = tool_results(job.model)[:2]
        assert "no such label in this repository: security-critical" in refused
        assert json.loads(applied)["labels"] == ["bug", "p1"]
        assert "security-critical" not in job.github.repo_labels
        # Nothing else is on offer: the example disallows edits and commands.
        assert not {"Edit", "Write", "Bash", "mcp__github_issues__create_issue"} & set(
            offered_tools(job.model)
        )
        assert "platform tool: added labels bug, p1 on #12" in proc.stderr + proc.stdout
        assert outputs["conclusion"] == "success"


def test_without_an_allow_rule_the_label_tool_is_not_offered_and_a_call_is_refused(tmp_path):
    with actions_job(tmp_path) as job:
        job.github.add_label("bug")
        job.model.add_turns([[tool_use(ADD_LABELS, {"labels": ["bug"]})], [text("done")]])
        inputs = {**example_inputs(), "claude_args": "--max-turns 5"}
        proc, _, _ = job.run("issues", opened(job), **inputs)
        assert proc.returncode == 0, proc.stderr
        assert ADD_LABELS not in offered_tools(job.model)
        assert "No such tool available" in tool_results(job.model)[0]
        assert job.github.issue(12).labels == []
