"""`claude-runner github` end to end when the push fails: the work and the answer still reach the user.

The real command in a subprocess, against the fake GitHub, the fake Messages API and a local bare
remote whose ``pre-receive`` hook refuses pushes.
"""

from __future__ import annotations

import re
from pathlib import Path

from runner.testing.fake_messages import text, tool_use
from tests.ci.github_flow_helpers import git
from tests.ci.test_github_flow import fix_turns, job, pr_comment_payload  # noqa: F401 (job: a fixture)
from tests.gitrepos import reject_pushes

FIXED = "def add(a, b):\n    return a + b\n"


def rescued_calc(job) -> str:  # noqa: F811
    return git("--git-dir", str(job.origin), "show", "claude/rescue-777:calc.py", cwd=job.root) + "\n"


def test_a_protected_pr_branch_sends_the_work_to_a_rescue_branch_the_comment_links(job):  # noqa: F811
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, title="Fix calc")
    reject_pushes(job.origin, only="fix-calc", message="GH006: Protected branch update failed")
    job.model.add_turns(fix_turns(job))
    proc, outputs, summary = job.run("issue_comment", pr_comment_payload(job, 5))

    assert proc.returncode != 0  # the work is not where it was asked for: the job says so
    assert job.remote_branches()["fix-calc"] == head
    assert (
        git("--git-dir", str(job.origin), "show", "claude/rescue-777:calc.py", cwd=job.root) + "\n" == FIXED
    )
    assert outputs["branch_name"] == "claude/rescue-777" and outputs["conclusion"] == "failure"
    (comment,) = job.github.comments(5)
    link = f"{job.github.web_url}/{job.origin.parent.name}/Hello-World/tree/claude/rescue-777"
    assert f"[`claude/rescue-777`]({link})" in comment.body
    assert "GH006: Protected branch update failed" in comment.body
    assert "Fixed `add()`" in comment.body  # the answer is not lost to the push either
    assert "claude/rescue-777" in summary
    assert "ghp_fake_token" not in comment.body


def test_a_remote_refusing_every_push_leaves_a_patch_the_comment_shows(job):  # noqa: F811
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, title="Fix calc")
    reject_pushes(job.origin)
    job.model.add_turns(fix_turns(job))
    proc, outputs, _ = job.run("issue_comment", pr_comment_payload(job, 5))

    assert proc.returncode != 0
    assert set(job.remote_branches()) == {"master", "fix-calc"}
    patch = Path(outputs["patch_file"])
    assert patch.is_file() and Path(outputs["bundle_file"]).is_file() and outputs["branch_name"] == ""
    (comment,) = job.github.comments(5)
    assert str(patch) in comment.body and f"git am {patch}" in comment.body
    (diff,) = re.findall(r"```diff\n(.*?)```", comment.body, re.S)
    assert "+    return a + b" in diff
    # Applying the patch on the pull request's head gives the agent's change.
    applied = job.root / "applied"
    git("clone", "-q", "-b", "fix-calc", str(job.origin), str(applied), cwd=job.root)
    git("am", "-q", str(patch), cwd=applied)
    assert (applied / "calc.py").read_text() == FIXED


def test_partial_work_after_a_model_error_goes_through_the_same_rescue(job):  # noqa: F811
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head)
    reject_pushes(job.origin, only="fix-calc")
    calc = str(job.workspace / "calc.py")
    edit = {"file_path": calc, "old_string": "a - b", "new_string": "a + b"}
    job.model.add_turns([[tool_use("Read", {"file_path": calc}), tool_use("Edit", edit)]])
    job.model.add_turns([{"content": [text("never")], "faults": ["invalid_request"]}])
    proc, outputs, _ = job.run("issue_comment", pr_comment_payload(job, 5))

    assert proc.returncode == 6  # a 400 from the model: ProviderError, as `run` exits
    (comment,) = job.github.comments(5)
    assert "Claude hit an error" in comment.body
    assert "tree/claude/rescue-777" in comment.body  # the partial work is linked where it really is
    assert outputs["branch_name"] == "claude/rescue-777"
    assert (
        git("--git-dir", str(job.origin), "show", "claude/rescue-777:calc.py", cwd=job.root) + "\n" == FIXED
    )
