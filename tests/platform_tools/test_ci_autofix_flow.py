"""examples/ci-failure-auto-fix.yml end to end on the fakes: a `workflow_run` that failed on a pull
request's branch; the runner offers the CI tools because the example's --allowedTools names them,
the scripted model reads the failing job's log and fixes the bug, and the fix lands on a new branch
from the failing one, with a draft pull request against it."""

from __future__ import annotations

import json

import yaml

from runner.testing.fake_messages import text, tool_use
from tests.ci.github_flow_helpers import actions_job, git
from tests.paths import REPO_ROOT
from tests.platform_tools.scripted import offered_tools, read_log_turn, then, tool_results
from tests.platform_tools.test_ci_github_flow import LOG


def example_inputs(branch: str) -> dict[str, str]:
    workflow = yaml.safe_load((REPO_ROOT / "examples" / "ci-failure-auto-fix.yml").read_text())
    (job,) = workflow["jobs"].values()
    step = next(s for s in job["steps"] if "claude-runner" in s.get("uses", ""))
    inputs = {k: v for k, v in step["with"].items() if k != "anthropic_api_key"}
    assert inputs["base_branch"] == "${{ github.event.workflow_run.head_branch }}"
    return {**inputs, "base_branch": branch}


def test_a_failed_workflow_run_is_fixed_on_a_new_branch(tmp_path):
    with actions_job(tmp_path) as job:
        head = job.remote_branches()["fix-calc"]
        job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, title="Fix calc")
        run = job.github.add_workflow_run(head, "CI", head_branch="fix-calc")
        failing = job.github.add_job(run, "test", steps=[("Run pytest", "failure")], log=LOG)
        calc = str(job.workspace / "calc.py")
        job.model.add_turns(
            [
                [tool_use("mcp__github_ci__get_ci_status", {})],
                then(
                    lambda s: tool_use(
                        "mcp__github_ci__download_job_log", {"job_id": s["runs"][0]["failed_jobs"][0]["id"]}
                    )
                ),
                read_log_turn(),
                [
                    tool_use("Read", {"file_path": calc}),
                    tool_use("Edit", {"file_path": calc, "old_string": "a - b", "new_string": "a + b"}),
                ],
                [text("test_add failed: add() subtracted. Fixed.")],
            ]
        )
        payload = job.payload("workflow_run", "completed.with-pull-requests.payload.json")
        upstream = payload["workflow_run"]
        upstream.update(conclusion="failure", head_branch="fix-calc", head_sha=head, id=run.id, name="CI")
        upstream["pull_requests"][0]["number"] = 5
        proc, outputs, _ = job.run("workflow_run", payload, **example_inputs("fix-calc"))
        assert proc.returncode == 0, proc.stderr
        assert "mcp__github_ci__download_job_log" in offered_tools(job.model)
        assert json.loads(tool_results(job.model)[1])["path"].endswith(f"job-{failing.id}.log")
        assert "FAILED test_calc.py::test_add" in tool_results(job.model)[2]
        branch = outputs["branch_name"]
        assert branch.startswith("claude/") and branch in job.remote_branches()
        assert "return a + b" in git("--git-dir", str(job.origin), "show", f"{branch}:calc.py", cwd=job.root)
        assert job.remote_branches()["fix-calc"] == head  # the failing branch itself is untouched
        (pr,) = job.github.pulls_created
        assert pr.pull.draft and pr.pull.base_ref == "fix-calc" and pr.pull.head_ref == branch
