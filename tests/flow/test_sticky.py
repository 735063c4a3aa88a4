"""Sticky tracking comments with two runs on one issue: each run edits only a comment it owns.

Against the fake GitHub through the real adapter: a sticky comment is reused only when it is the
runner's own and finished; a run whose sticky comment another run took over meanwhile posts its
answer in a comment of its own, and neither answer is overwritten.
"""

from __future__ import annotations

import pytest

from runner.flow.tracker import TRACKING_MARKER, FinalState, Tracker
from runner.platforms.github import GitHubAuth, GitHubPlatform
from runner.sanitize import Redactor
from runner.testing.fake_github import FakeGitHub

TOKEN = "ghp_fake_token"


@pytest.fixture
def github():
    with FakeGitHub("octo-org", "hello-world") as fake:
        fake.add_issue(3)
        yield fake


def tracker(fake: FakeGitHub, run_id: str) -> Tracker:
    platform = GitHubPlatform(
        "octo-org/hello-world", GitHubAuth(TOKEN), api_url=fake.api_url, server_url=fake.web_url
    )
    return Tracker(platform, 3, None, Redactor(), sticky=True, run_id=run_id, retry_delays=())


def done(summary: str) -> FinalState:
    return FinalState(ok=True, requester="alice", duration_s=1, summary=summary)


def bodies(fake: FakeGitHub) -> list[str]:
    return [c.body for c in fake.comments(3)]


def test_a_finished_sticky_comment_is_reused(github):
    first = tracker(github, "run-1")
    first.start()
    first.finish(done("First answer."))
    second = tracker(github, "run-2")
    assert second.start().id == first.ref.id  # type: ignore[union-attr]
    second.finish(done("Second answer."))
    (body,) = bodies(github)
    assert "Second answer." in body and "First answer." not in body


def test_a_sticky_comment_another_run_is_working_on_is_not_taken(github):
    first = tracker(github, "run-1")
    first.start()
    second = tracker(github, "run-2")
    second.start()
    assert second.ref is not None and first.ref is not None and second.ref.id != first.ref.id
    second.finish(done("Second answer."))
    first.finish(done("First answer."))
    assert sorted(bodies(github)) == sorted(
        [b for b in bodies(github) if "First answer." in b]
        + [b for b in bodies(github) if "Second answer." in b]
    )
    assert any("First answer." in b for b in bodies(github))
    assert any("Second answer." in b for b in bodies(github))


def test_a_run_whose_sticky_comment_was_taken_over_answers_in_its_own(github):
    first = tracker(github, "run-1")
    first.start()
    # Another run took the comment over meanwhile (it read it before this run marked it working).
    taken = tracker(github, "run-2")
    taken.ref = first.ref
    taken.platform.update_comment(first.ref, taken._working(None))  # type: ignore[arg-type]
    first.finish(done("First answer."))
    taken.finish(done("Second answer."))
    got = bodies(github)
    assert len(got) == 2
    assert any("First answer." in b for b in got) and any("Second answer." in b for b in got)


def test_a_marker_pasted_by_a_person_is_never_reused(github):
    github.add_comment(3, f"{TRACKING_MARKER} my own text", user="mallory")
    run = tracker(github, "run-1")
    run.start()
    run.finish(done("The answer."))
    got = bodies(github)
    assert f"{TRACKING_MARKER} my own text" in got  # untouched
    assert sum("The answer." in b for b in got) == 1
