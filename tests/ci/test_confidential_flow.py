"""A job on a GitLab confidential issue keeps the issue's text where the issue is: a neutrally
named branch, a neutral commit, no merge request, the answer and the branch's link in the issue,
the answer kept out of the job log. `CONFIDENTIAL_ISSUE_MR=true` opts into today's merge request."""

from __future__ import annotations

from tests.ci.test_gitlab_flow import World, fix, world  # noqa: F401 (fixture)

TITLE = "Auth bypass in login handler"
SECRET_WORDS = ("auth", "bypass", "login", "handler")


def _confidential_issue(world: World) -> None:  # noqa: F811
    world.gitlab.add_issue(
        TITLE, iid=7, description="Tokens are accepted unsigned.", author="alice", confidential=True
    )
    world.model.add_turns(fix(world))


def test_a_confidential_issue_gets_a_neutral_branch_and_commit_and_no_merge_request(world: World):  # noqa: F811
    _confidential_issue(world)
    # The hook's payload does not say confidential (a job started by hand): the API does.
    proc = world.run(world.note_payload("Issue", 7, "@claude please fix this"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    (branch,) = [b for b in world.remote_branches() if b not in ("main", "feature")]
    assert branch.startswith("claude/confidential-")
    assert not any(word in branch.lower() for word in SECRET_WORDS) and "issue" not in branch
    message = "\n".join(world.remote_log(branch, "%B%n%an%n%ae"))
    assert "Changes from Claude (confidential run)" in message
    assert "Fixed" not in message and "#7" not in message and "alice" not in message.lower()
    assert not world.gitlab.merge_requests_created
    (note,) = [n for n in world.gitlab.note_list("issue", 7) if not n.system]
    assert "Fixed `add()`." in note.body and branch in note.body and "merge_requests" not in note.body
    assert "Fixed `add()`." not in proc.stdout + proc.stderr  # the job log
    assert "the issue is confidential" in proc.stdout + proc.stderr


def test_the_payloads_flag_alone_is_enough(world: World):  # noqa: F811
    world.gitlab.add_issue("Plain title", iid=8, description="x", author="alice")  # API: not confidential
    world.model.add_turns(fix(world))
    payload = world.note_payload("Issue", 8, "@claude please fix this")
    payload["issue"]["confidential"] = True
    proc = world.run(payload)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert any(b.startswith("claude/confidential-") for b in world.remote_branches())
    assert not world.gitlab.merge_requests_created


def test_confidential_issue_mr_opts_into_a_named_branch_and_a_merge_request(world: World):  # noqa: F811
    _confidential_issue(world)
    proc = world.run(world.note_payload("Issue", 7, "@claude please fix this"), CONFIDENTIAL_ISSUE_MR="true")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    (mr,) = world.gitlab.merge_requests_created
    assert mr.source_branch.startswith("claude/issue-7-") and "Closes #7" in mr.description
    # the job log still leaves the answer out: the setting is about the merge request
    assert "Fixed `add()`." not in proc.stdout + proc.stderr
