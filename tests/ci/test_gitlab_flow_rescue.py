"""`claude-runner gitlab` end to end when the push fails: the work and the answer still reach the user.

The real command in a subprocess, against the fake GitLab, the fake Messages API and a local bare
remote whose ``pre-receive`` hook refuses pushes to the merge request's source branch.
"""

from __future__ import annotations

from tests.ci.github_flow_helpers import git
from tests.ci.test_gitlab_flow import fix, world, world_env  # noqa: F401 (world: a fixture)
from tests.gitrepos import reject_pushes


def test_a_protected_source_branch_sends_the_work_to_a_rescue_branch_the_note_links(world):  # noqa: F811
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    head = world.remote_branches()["feature"]
    refusal = "You are not allowed to push code to protected branches"
    reject_pushes(world.origin, only="feature", message=refusal)
    world.model.add_turns(fix(world))
    proc = world.run(world.note_payload("MergeRequest", 5, "@claude fix the bug in calc.py"))

    assert proc.returncode != 0  # the work is not where it was asked for: the job says so
    assert world.remote_branches()["feature"] == head
    rescued = git("--git-dir", str(world.origin), "show", "claude/rescue-99:calc.py", cwd=world.root)
    assert "return a + b" in rescued
    (note,) = [n for n in world.gitlab.note_list("merge_request", 5) if not n.system]
    assert "claude/rescue-99" in note.body
    assert refusal in note.body
    assert "Fixed `add()`." in note.body  # the answer is not lost to the push either
    outputs = (world.workspace / "claude-runner.env").read_text()
    assert "CLAUDE_CONCLUSION=failure" in outputs


def test_when_no_push_works_the_patch_is_kept_as_an_artifact_and_no_temp_dir_is_left(world):  # noqa: F811
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    reject_pushes(world.origin)  # every push, the rescue branch's too
    world.model.add_turns(fix(world))
    tmp = world.root / "job-tmp"
    tmp.mkdir()
    proc = world.run(world.note_payload("MergeRequest", 5, "@claude fix the bug in calc.py"), TMPDIR=str(tmp))

    assert proc.returncode != 0
    outputs = (world.workspace / "claude-runner.env").read_text()
    kept = world.workspace / "claude-rescue.patch"
    assert f"CLAUDE_PATCH_FILE={kept}" in outputs  # next to the checkout: `artifacts: paths:` keeps it
    assert "return a + b" in kept.read_text()
    assert (world.workspace / "claude-rescue.bundle").is_file()
    assert list(tmp.iterdir()) == []  # nothing left behind in $TMPDIR
