"""Comments by people who cannot push reach the model marked "(no write access)", end to end:
GitHub from each comment's `author_association` (GraphQL conversation comments, REST reviews and
review comments), GitLab from the author's project membership (Developer and above can push)."""

from __future__ import annotations

import json
import time

from runner.testing.fake_messages import text
from tests.ci.test_github_flow import job, pr_comment_payload  # noqa: F401 (fixture)
from tests.ci.test_gitlab_flow import World, world  # noqa: F401 (fixture)


def _sent(model) -> str:
    return json.dumps(model.message_requests[0].body)


def test_github_marks_comments_reviews_and_review_comments_of_outsiders(job):  # noqa: F811
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head)
    job.github.add_user("maintainer", permission="write")
    job.github.add_user("outsider", permission="read")
    earlier = time.time() - 120
    job.github.add_comment(5, "Maintainer note.", user="maintainer", created_at=earlier)
    job.github.add_comment(5, "Outsider idea.", user="outsider", created_at=earlier + 1)
    job.github.add_review(5, user="outsider", body="Outsider review.", submitted_at=earlier + 2)
    job.github.add_review_comment(5, "Outsider inline.", user="outsider", line=1, created_at=earlier + 3)
    job.model.add_turns([[text("Read it.")]])
    proc, _, _ = job.run("issue_comment", pr_comment_payload(job, 5, body="@claude have a look"))
    assert proc.returncode == 0, proc.stderr
    sent = _sent(job.model)
    assert "comment by @maintainer at" in sent
    assert "comment by @outsider (no write access) at" in sent
    assert "review COMMENTED by @outsider (no write access)" in sent
    assert "review_comment by @outsider (no write access)" in sent
    assert "@maintainer (no write access)" not in sent


def test_gitlab_marks_notes_of_non_members_and_reporters(world: World):  # noqa: F811
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    world.gitlab.add_user("rita", "reporter")
    world.gitlab.add_user("eve", None)  # not a member
    earlier = time.time() - 120
    for i, (author, body) in enumerate((("alice", "Developer"), ("rita", "Reporter"), ("eve", "Outsider"))):
        world.gitlab.add_note("merge_request", 5, f"{body} note.", author=author, created_at=earlier + i)
    world.model.add_turns([[text("Read it.")]])
    proc = world.run(world.note_payload("MergeRequest", 5, "@claude have a look"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    sent = _sent(world.model)
    assert "comment by @alice at" in sent
    assert "comment by @rita (no write access)" in sent
    assert "comment by @eve (no write access)" in sent
    # one members request for the thread's authors, not one per author
    assert len(world.gitlab.requests_to("GET", "list_members")) == 1
