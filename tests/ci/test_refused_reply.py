"""A requester without permission hears why: one short reply where they asked (unless
``reply_to_refused`` / ``REPLY_TO_REFUSED`` is false), the step summary (GitHub) or the job log
(GitLab) says it, nothing is spent, and the job exits 0 with ``conclusion: skipped``."""

from __future__ import annotations

from runner.testing.fake_messages import text
from tests.ci.test_github_flow import job, pr_comment_payload  # noqa: F401 (fixture)
from tests.ci.test_gitlab_flow import World, world  # noqa: F401 (fixture)


def test_github_refused_requester_gets_one_short_reply_and_the_summary_says_why(job):  # noqa: F811
    job.github.add_user("mallory", permission="read")
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master")
    payload = pr_comment_payload(job, 5, login="mallory")
    proc, outputs, summary = job.run("issue_comment", payload)
    assert proc.returncode == 0, proc.stderr
    assert outputs["conclusion"] == "skipped" and job.model.requests == []
    (reply,) = job.github.comments(5)
    assert reply.body.startswith("@mallory, only people with write access can ask Claude here.\n")
    assert "permission" not in reply.body.split("<!--")[0].replace("write access", "")  # no internals
    assert "Claude did not run: mallory has read permission; at least write access is required." in summary
    (line,) = [line for line in summary.splitlines() if line.startswith("Replied on the pull request: ")]
    assert line.endswith(f"#issuecomment-{reply.id}")
    # The job is re-run: the reply is found, not posted again.
    proc, _, summary = job.run("issue_comment", payload)
    assert proc.returncode == 0, proc.stderr
    assert len(job.github.comments(5)) == 1
    assert "The reply was already posted on the pull request" in summary


def test_github_reply_to_refused_false_posts_nothing_but_the_summary_says_why(job):  # noqa: F811
    job.github.add_user("mallory", permission="triage")
    job.github.add_issue(9, title="add() is wrong", body="It subtracts.")
    payload = pr_comment_payload(job, 9, login="mallory")
    del payload["issue"]["pull_request"]
    proc, outputs, summary = job.run("issue_comment", payload, reply_to_refused="false")
    assert proc.returncode == 0, proc.stderr
    assert job.github.comments(9) == [] and outputs["conclusion"] == "skipped"
    assert "Claude did not run: mallory has triage permission" in summary
    assert "No reply was posted: reply_to_refused is false." in summary


def test_github_maintain_requirement_is_said_in_the_reply(job):  # noqa: F811
    job.github.add_user("wendy", permission="write")
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master")
    proc, _, _ = job.run(
        "issue_comment", pr_comment_payload(job, 5, login="wendy"), min_access_level="maintain"
    )
    assert proc.returncode == 0, proc.stderr
    (reply,) = job.github.comments(5)
    assert reply.body.startswith("@wendy, only people with maintain access can ask Claude here.")


def test_github_the_runners_own_reply_is_never_answered(job):  # noqa: F811
    """With a personal token the runner's reply is a user's comment; if it ever came back as an
    event (a phrase that matches the reply), it is not answered again."""
    job.github.add_user("mallory", permission="read")
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master")
    own = "@claude @mallory, only people with write access can ask Claude here.\n\n"
    own += "<!-- claude-runner:refused comment-1 -->"
    proc, _, summary = job.run("issue_comment", pr_comment_payload(job, 5, body=own, login="mallory"))
    assert proc.returncode == 0, proc.stderr
    assert job.github.comments(5) == []
    assert "No reply was posted: the comment is the runner's own reply." in summary


def test_github_a_failed_reply_is_a_warning_and_the_job_still_exits_0(job):  # noqa: F811
    job.github.add_user("mallory", permission="read")
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master")
    job.github.faults.fail("create_comment", 422, times=None)
    proc, outputs, summary = job.run("issue_comment", pr_comment_payload(job, 5, login="mallory"))
    assert proc.returncode == 0, proc.stderr
    assert "could not reply to the refused requester" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert outputs["conclusion"] == "skipped" and "No reply was posted" in summary


def test_gitlab_refused_author_gets_a_note_in_gitlab_words(world: World):  # noqa: F811
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    world.gitlab.add_user("rita", "reporter")
    proc = world.run(world.note_payload("MergeRequest", 5, "@claude fix it", user="rita"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert world.model.requests == []
    (note,) = [n for n in world.gitlab.note_list("merge_request", 5) if not n.system]
    assert note.body.startswith("@rita, only members with the Developer role or higher can ask Claude here.")
    log = proc.stdout + proc.stderr
    assert "rita has the Reporter role; at least the Developer role is required" in log
    assert "Replied on the merge request:" in log


def test_gitlab_reply_to_refused_false_posts_no_note(world: World):  # noqa: F811
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    world.model.add_turns([[text("unused")]])
    proc = world.run(
        world.note_payload("MergeRequest", 5, "@claude fix it", user="mallory"), REPLY_TO_REFUSED="false"
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert [n for n in world.gitlab.note_list("merge_request", 5) if not n.system] == []
    assert "No reply was posted: REPLY_TO_REFUSED is false." in proc.stdout


def test_github_an_automatic_review_of_an_outsiders_pull_request_says_nothing_to_them(job):  # noqa: F811
    """Nobody asked Claude: the outsider opened a pull request and `review: true` is on."""
    job.github.add_user("outsider", permission="read")
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master")
    payload = job.payload("pull_request", "opened.payload.json")
    payload["number"] = payload["pull_request"]["number"] = 5
    payload["sender"]["login"] = payload["pull_request"]["user"]["login"] = "outsider"
    proc, outputs, summary = job.run("pull_request", payload, review="true")
    assert proc.returncode == 0, proc.stderr
    assert job.github.comments(5) == [] and job.model.requests == []
    assert outputs["conclusion"] == "skipped"
    assert "No reply was posted: nobody asked: the run was automatic." in summary
