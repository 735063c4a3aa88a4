"""`claude-runner github` end to end with the CI tools: "@claude fix the failing CI" on a pull
request whose workflow failed. The scripted model asks for the CI status, downloads the failing
job's log, reads it, fixes the bug; the fix is pushed. The runner's token never reaches the model
or the log host."""

from __future__ import annotations

import json

from runner.testing.fake_messages import text, tool_use
from tests.ci.github_flow_helpers import actions_job
from tests.ci.test_github_flow import pr_comment_payload
from tests.platform_tools.scripted import offered_tools, read_log_turn, then, tool_results

LOG = (
    "2026-01-05T10:00:00.0000000Z ##[group]Run pytest\n"
    "2026-01-05T10:00:01.0000000Z ============================= test session starts ==============\n"
    "2026-01-05T10:00:02.0000000Z FAILED test_calc.py::test_add - assert -1 == 3\n"
    "2026-01-05T10:00:02.1000000Z ##[error]Process completed with exit code 1.\n"
)
CI_TOOLS = {
    "mcp__github_ci__get_ci_status",
    "mcp__github_ci__get_workflow_run_details",
    "mcp__github_ci__download_job_log",
}


def failing_pr(job):
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, title="Fix calc")
    run = job.github.add_workflow_run(head, "CI", head_branch="fix-calc")
    failing = job.github.add_job(
        run, "test", steps=[("Checkout", "success"), ("Run pytest", "failure")], log=LOG
    )
    job.github.add_job(run, "lint", conclusion="success", steps=[("Run ruff", "success")])
    return head, run, failing


def fix_ci_turns(job):
    calc = str(job.workspace / "calc.py")
    return [
        [tool_use("mcp__github_ci__get_ci_status", {})],
        then(
            lambda status: tool_use(
                "mcp__github_ci__download_job_log", {"job_id": status["runs"][0]["failed_jobs"][0]["id"]}
            )
        ),
        read_log_turn(),
        [
            tool_use("Read", {"file_path": calc}),
            tool_use("Edit", {"file_path": calc, "old_string": "a - b", "new_string": "a + b"}),
        ],
        [text("CI failed in test_add: add() subtracted. Fixed.")],
    ]


def test_fix_the_failing_ci_reads_the_log_and_pushes_the_fix(tmp_path):
    with actions_job(tmp_path) as job:
        head, _run, failing = failing_pr(job)
        job.model.add_turns(fix_ci_turns(job))
        proc, outputs, _ = job.run(
            "issue_comment", pr_comment_payload(job, 5, body="@claude fix the failing CI")
        )
        assert proc.returncode == 0, proc.stderr
        assert set(offered_tools(job.model)) >= CI_TOOLS
        status, download, read = tool_results(job.model)[:3]
        summary = json.loads(status)
        assert summary["summary"] == {"total_runs": 1, "failed": 1, "passed": 0, "pending": 0}
        assert summary["runs"][0]["failed_jobs"] == [{"id": failing.id, "name": "test"}]
        path = json.loads(download)["path"]
        assert path.endswith(f"ci-logs/job-{failing.id}.log") and path.startswith(
            str(tmp_path / "runner_temp")
        )
        # The agent read the log through Read, timestamps stripped.
        assert "FAILED test_calc.py::test_add - assert -1 == 3" in read and "2026-01-05T" not in read
        # The fix is on the pull request's branch.
        assert job.remote_branches()["fix-calc"] != head
        shown = json.dumps([r.body for r in job.model.message_requests])
        assert "ghp_fake_token" not in shown and job.github.blob_auth_seen == []
        assert outputs["conclusion"] == "success"
    (calc,) = [line for line in _file_at(job, "fix-calc", "calc.py").splitlines() if "return" in line]
    assert calc.strip() == "return a + b"


def test_without_actions_read_the_ci_tools_are_not_offered(tmp_path):
    with actions_job(tmp_path) as job:
        failing_pr(job)
        job.github.actions_readers = set()  # the workflow's token lacks `actions: read`
        job.model.add_turns([[text("I cannot see CI.")]])
        proc, _, _ = job.run("issue_comment", pr_comment_payload(job, 5, body="@claude why did CI fail?"))
        assert proc.returncode == 0, proc.stderr
        assert not CI_TOOLS & set(offered_tools(job.model))
        assert "the CI tools are not offered" in proc.stderr + proc.stdout


def test_a_deny_rule_removes_the_ci_tools(tmp_path):
    with actions_job(tmp_path) as job:
        failing_pr(job)
        job.model.add_turns([[text("ok")]])
        proc, _, _ = job.run(
            "issue_comment",
            pr_comment_payload(job, 5, body="@claude look"),
            claude_args="--disallowedTools mcp__github_ci",
        )
        assert proc.returncode == 0, proc.stderr
        assert not CI_TOOLS & set(offered_tools(job.model))


def _file_at(job, branch, path):
    from tests.ci.github_flow_helpers import git

    return git("--git-dir", str(job.origin), "show", f"{branch}:{path}", cwd=job.root)


def test_a_command_in_the_sandbox_reads_the_downloaded_log(tmp_path):
    """The logs' directory is a root of the run: Read reaches it, and so does a command the
    sandbox runs (bubblewrap binds the roots)."""
    with actions_job(tmp_path) as job:
        _, _, failing = failing_pr(job)
        job.model.add_turns(
            [
                [tool_use("mcp__github_ci__download_job_log", {"job_id": failing.id})],
                then(lambda r: tool_use("Bash", {"command": f"grep -n FAILED {r['path']}"})),
                [text("done")],
            ]
        )
        proc, _, _ = job.run(
            "issue_comment",
            pr_comment_payload(job, 5, body="@claude what failed?"),
            claude_args='--allowedTools "Bash(grep:*)"',
        )
        assert proc.returncode == 0, proc.stderr
        assert "3:FAILED test_calc.py::test_add" in tool_results(job.model)[1], proc.stderr
        # It ran in bubblewrap: no warning that the sandbox could not start.
        assert not [
            line for line in proc.stderr.splitlines() if "warning" in line and "sandbox" in line.lower()
        ]
