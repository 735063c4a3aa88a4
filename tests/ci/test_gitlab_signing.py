"""`use_commit_signing` on GitLab: the runner's commit is made by GitLab's Commits API (which signs
it), on the merge request's branch or a new one, with the tree the agent left."""

from __future__ import annotations

from tests.ci.github_flow_helpers import git
from tests.ci.test_gitlab_flow import fix, world  # noqa: F401  (the fixture)


def test_a_merge_request_fix_is_committed_through_the_commits_api(world):  # noqa: F811
    world.gitlab.git_dir = world.origin
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    before = world.remote_branches()["feature"]
    world.model.add_turns(fix(world))
    proc = world.run(
        world.note_payload("MergeRequest", 5, "@claude fix the bug in calc.py"), USE_COMMIT_SIGNING="true"
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    (made,) = world.gitlab.api_commits
    assert world.remote_branches()["feature"] == made
    parent, subject = git(
        "--git-dir", str(world.origin), "log", "-1", "--format=%P|%s", made, cwd=world.root
    ).split("|")
    assert parent == before and subject.startswith("MR #5")
    assert "return a + b" in git("--git-dir", str(world.origin), "show", f"{made}:calc.py", cwd=world.root)
    (request,) = world.gitlab.requests_to("POST", "create_commit")
    assert request.body["branch"] == "feature"
    assert request.body["actions"] == [
        {
            "action": "update",
            "file_path": "calc.py",
            "content": request.body["actions"][0]["content"],
            "encoding": "base64",
        }
    ]


def test_an_issue_fix_goes_to_a_new_branch_created_through_the_api(world):  # noqa: F811
    world.gitlab.git_dir = world.origin
    world.gitlab.add_issue("add() is wrong", iid=7, description="It subtracts.", author="alice")
    world.model.add_turns(fix(world))
    main = world.remote_branches()["main"]
    proc = world.run(world.note_payload("Issue", 7, "@claude please fix this"), USE_COMMIT_SIGNING="true")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    branch = next(b for b in world.remote_branches() if b.startswith("claude/issue-7-"))
    (made,) = world.gitlab.api_commits
    assert world.remote_branches()[branch] == made
    assert git("--git-dir", str(world.origin), "rev-parse", f"{made}^", cwd=world.root) == main
    (created,) = world.gitlab.requests_to("POST", "create_branch")
    assert created.body == {"branch": branch, "ref": main}
