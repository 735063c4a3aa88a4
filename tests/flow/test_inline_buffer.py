"""`classify_inline_comments`: the inline comments an agent left unconfirmed are judged by a small
model through the configured provider (the fake Messages API here) before they are posted on the
fake GitHub; a classification that fails posts none of them and lists them instead."""

from __future__ import annotations

import pytest

from runner.flow.inline_buffer import ClassificationFailed, InlineBuffer, flush, parse_verdicts
from runner.platforms.base import InlineComment
from runner.platforms.github import GitHubAuth, GitHubPlatform
from runner.providers import build_client
from runner.settings.provider import read_provider_config
from runner.testing.fake_github import FakeGitHub
from runner.testing.fake_messages import text
from tests.conftest import base_env

PATCH = "@@ -1,2 +1,4 @@\n a\n+b\n+c\n d"
REAL = InlineComment("a.py", 2, "`b` is never read: drop it or use it.")
PROBE = InlineComment("a.py", 3, "test comment, please ignore")


@pytest.fixture
def github():
    with FakeGitHub("octo-org", "hello-world") as fake:
        fake.add_user("alice", permission="write")
        fake.add_branch("fix", "f" * 40)
        fake.add_pull(5, head_ref="fix", files=[{"filename": "a.py", "patch": PATCH}], user="alice")
        yield fake


def run_flush(github, fake, *, classify: bool = True, comments=(REAL, PROBE)):
    platform = GitHubPlatform(
        "octo-org/hello-world",
        GitHubAuth("ghp_fake_token"),
        api_url=github.api_url,
        server_url=github.web_url,
    )
    buffer = InlineBuffer(list(comments))
    log: list[str] = []
    outcome = flush(
        buffer,
        platform,
        5,
        github.pull(5).head_sha,
        classify_comments=classify,
        make_client=lambda: build_client(read_provider_config(base_env(fake))),
        model="claude-haiku-4-5",
        log=log.append,
    )
    return outcome, log


def test_only_comments_the_classifier_keeps_are_posted(github, fake):
    fake.add_turn([text("[true, false]")])
    outcome, log = run_flush(github, fake)
    assert [c.body for c in github.review_comments_of(5)] == [REAL.body]
    assert outcome.posted == (REAL,) and outcome.dropped == (PROBE,) and outcome.note() == ""
    (request,) = fake.message_requests
    assert request.body["model"] == "claude-haiku-4-5"
    prompt = request.body["messages"][0]["content"]
    assert REAL.body in prompt and PROBE.body in prompt and "JSON array of booleans" in prompt
    assert log == ["inline comments: 1 kept, 1 dropped as tests or probes by the classifier"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("Sure! The first one is real.", "the classifier did not answer with JSON"),
        ("[true]", "the classifier judged 1 comments, not 2"),
    ],
)
def test_an_unreadable_classification_posts_nothing_and_lists_the_comments(github, fake, answer, reason):
    fake.add_turn([text(answer)])
    outcome, log = run_flush(github, fake)
    assert github.review_comments_of(5) == []
    assert outcome.held == (REAL, PROBE) and outcome.error == f"classifying them failed ({reason})"
    note = outcome.note()
    assert note.startswith(f"⚠️ 2 inline comment(s) were not posted: classifying them failed ({reason}).")
    assert "**`a.py:2`**" in note and REAL.body in note and PROBE.body in note
    assert log == [f"warning: 2 inline comment(s) not posted: classifying them failed: {reason}"]


def test_a_refused_classification_request_is_reported_too(github, fake):
    fake.queue_fault("overloaded")
    outcome, _ = run_flush(github, fake)
    assert github.review_comments_of(5) == [] and len(outcome.held) == 2
    assert "OverloadedError" in outcome.error or "529" in outcome.error


def test_with_classification_off_every_comment_is_posted_without_a_model_call(github, fake):
    outcome, _ = run_flush(github, fake, classify=False)
    assert sorted(c.body for c in github.review_comments_of(5)) == sorted([REAL.body, PROBE.body])
    assert fake.requests == [] and outcome.posted == (REAL, PROBE)


def test_comments_without_a_pull_request_are_listed_not_lost(github, fake):
    platform = GitHubPlatform(
        "octo-org/hello-world",
        GitHubAuth("ghp_fake_token"),
        api_url=github.api_url,
        server_url=github.web_url,
    )
    outcome = flush(
        InlineBuffer([REAL]),
        platform,
        None,
        None,
        classify_comments=True,
        make_client=lambda: None,
        model="m",
        log=print,
    )
    assert fake.requests == [] and outcome.held == (REAL,)
    assert outcome.note().startswith(
        "⚠️ 1 inline comment(s) were not posted: there is no pull or merge request"
    )


def test_an_empty_buffer_calls_nothing(github, fake):
    outcome, _ = run_flush(github, fake, comments=())
    assert fake.requests == [] and github.review_comments_of(5) == [] and outcome.posted == ()


def test_parse_verdicts_accepts_a_fenced_array_only():
    assert parse_verdicts("```json\n[true, false]\n```", 2) == [True, False]
    with pytest.raises(ClassificationFailed, match="not an array of booleans"):
        parse_verdicts('["yes", "no"]', 2)
