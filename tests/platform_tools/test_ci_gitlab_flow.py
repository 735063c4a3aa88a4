"""`claude-runner gitlab` end to end with the CI tools: "@claude fix the failing CI" on a merge
request whose pipeline failed: the scripted model reads the status, downloads the failing job's
trace, reads it, fixes the bug; the fix is pushed to the source branch."""

from __future__ import annotations

import json

from runner.testing.fake_messages import text, tool_use
from tests.ci.test_gitlab_flow import world as world  # the fixture
from tests.platform_tools.scripted import offered_tools, read_log_turn, then, tool_results

TRACE = (
    "section_start:1767600000:step_script\r\x1b[0K\x1b[0;m$ pytest\n"
    "FAILED test_calc.py::test_add - assert -1 == 3\n"
    "section_end:1767600001:step_script\r\x1b[0K\x1b[31;1mERROR: Job failed: exit code 1\x1b[0;m\n"
)
CI_TOOLS = {
    "mcp__gitlab_ci__get_ci_status",
    "mcp__gitlab_ci__get_pipeline_details",
    "mcp__gitlab_ci__download_job_log",
}


def failing_mr(world):
    head = world.remote_branches()["feature"]
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    pipeline = world.gitlab.add_pipeline("feature", sha=head, status="failed", source="merge_request_event")
    failing = world.gitlab.add_job(pipeline, "unit", trace=TRACE)
    world.gitlab.add_job(pipeline, "lint", status="success", stage="lint")
    return head, pipeline, failing


def test_fix_the_failing_pipeline_reads_the_trace_and_pushes_the_fix(world):
    head, _pipeline, failing = failing_mr(world)
    calc = str(world.workspace / "calc.py")
    world.model.add_turns(
        [
            [tool_use("mcp__gitlab_ci__get_ci_status", {})],
            then(
                lambda s: tool_use(
                    "mcp__gitlab_ci__get_pipeline_details", {"pipeline_id": s["pipelines"][0]["id"]}
                )
            ),
            then(
                lambda d: tool_use(
                    "mcp__gitlab_ci__download_job_log",
                    {"job_id": next(j["id"] for j in d["jobs"] if j["status"] == "failed")},
                )
            ),
            read_log_turn(),
            [
                tool_use("Read", {"file_path": calc}),
                tool_use("Edit", {"file_path": calc, "old_string": "a - b", "new_string": "a + b"}),
            ],
            [text("The unit job failed in test_add; fixed add().")],
        ]
    )
    proc = world.run(world.note_payload("MergeRequest", 5, "@claude fix the failing CI"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert set(offered_tools(world.model)) >= CI_TOOLS
    status, details, download, read = tool_results(world.model)[:4]
    summary = json.loads(status)
    assert summary["summary"] == {"total_pipelines": 1, "failed": 1, "passed": 0, "pending": 0}
    assert summary["pipelines"][0]["failed_jobs"][0]["id"] == failing.id
    assert {j["name"]: j["status"] for j in json.loads(details)["jobs"]} == {
        "unit": "failed",
        "lint": "success",
    }
    assert json.loads(download)["path"].endswith(f"ci-logs/job-{failing.id}.log")
    # The trace as a reader sees it: colours and section markers gone.
    assert "FAILED test_calc.py::test_add - assert -1 == 3" in read and "\x1b" not in read
    assert "section_start" not in read and "ERROR: Job failed: exit code 1" in read
    assert world.remote_branches()["feature"] != head
    assert "return a + b" in _show(world, "feature:calc.py")
    assert "glpat-fake-token" not in json.dumps([r.body for r in world.model.message_requests])


def _show(world, spec):
    from tests.ci.github_flow_helpers import git

    return git("--git-dir", str(world.origin), "show", spec, cwd=world.root)


def example_job() -> dict:
    import yaml

    from tests.paths import REPO_ROOT

    return yaml.safe_load((REPO_ROOT / ".gitlab-ci.example.yml").read_text())["claude-fix-ci"]


def test_the_gitlab_example_job_fixes_its_failing_pipeline(world):
    """`.gitlab-ci.example.yml`'s claude-fix-ci: a merge request pipeline's on_failure job, with
    the example's PROMPT and CLAUDE_ARGS (the CI tools through an allow rule, no mention)."""
    import subprocess
    import sys

    from tests.ci.test_gitlab_flow import PROJECT_ID, world_env

    job = example_job()
    assert job["stage"] == ".post" and job["rules"][0]["when"] == "on_failure"
    head, pipeline, failing = failing_mr(world)
    calc = str(world.workspace / "calc.py")
    world.model.add_turns(
        [
            [tool_use("mcp__gitlab_ci__get_ci_status", {})],
            then(
                lambda s: tool_use(
                    "mcp__gitlab_ci__download_job_log", {"job_id": s["pipelines"][0]["failed_jobs"][0]["id"]}
                )
            ),
            read_log_turn(),
            [
                tool_use("Read", {"file_path": calc}),
                tool_use("Edit", {"file_path": calc, "old_string": "a - b", "new_string": "a + b"}),
            ],
            [text("Fixed add().")],
        ]
    )
    env = {
        **world_env(world),
        **{k: str(v) for k, v in job["variables"].items()},
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_PIPELINE_ID": str(pipeline.id),
        "CI_MERGE_REQUEST_IID": "5",
        "CI_MERGE_REQUEST_TITLE": "Fix calc",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": str(PROJECT_ID),
        "CI_MERGE_REQUEST_PROJECT_ID": str(PROJECT_ID),
        "CI_COMMIT_SHA": head,
        "GITLAB_USER_LOGIN": "alice",
    }
    command = [sys.executable, "-m", "runner", "gitlab"]
    proc = subprocess.run(command, cwd=world.workspace, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert set(offered_tools(world.model)) >= CI_TOOLS - {"mcp__gitlab_ci__get_pipeline_details"}
    assert "FAILED test_calc.py::test_add" in tool_results(world.model)[2]
    assert "return a + b" in _show(world, "feature:calc.py")
    assert failing.name == "unit"
