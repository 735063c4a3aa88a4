"""The refusal reply's wording and when it is not sent (pure)."""

from __future__ import annotations

from runner.events import Actor, Comment, Event
from runner.flow.refusal import access_reason, reply_text, why_not_reply


def _event(login: str = "alice", body: str = "@claude fix it", *, bot: bool = False, number: int | None = 3):
    return Event(
        platform="github",
        name="issue_comment",
        action="created",
        kind="comment",
        activity="created",
        actor=Actor(login, "Bot" if bot else "User"),
        entity_type="issue",
        number=number,
        comment=Comment(7, "comment", body),
    )


def test_the_reply_names_the_requester_and_the_access_in_the_platforms_words():
    assert reply_text("alice", "github", "write", "@claude") == (
        "@alice, only people with write access can ask Claude here."
    )
    assert reply_text("bob", "gitlab", "maintain", "@claude") == (
        "@bob, only members with the Maintainer role or higher can ask Claude here."
    )


def test_a_reply_that_would_mention_the_trigger_phrase_drops_the_mention_or_is_not_sent():
    # A user named like the bot: "@claude, only ..." would start a run by itself.
    assert (
        reply_text("claude", "github", "write", "@claude")
        == "Only people with write access can ask Claude here."
    )
    assert reply_text("alice", "github", "write", "Claude") is None  # both wordings say "Claude"


def test_no_reply_to_bots_to_the_runners_own_reply_or_without_a_thread_or_when_off():
    assert why_not_reply(_event(), enabled=True) is None
    assert why_not_reply(_event(), enabled=False) == "reply_to_refused is false"
    assert why_not_reply(_event(bot=True), enabled=True) == "bots get no reply"
    assert why_not_reply(_event(number=None), enabled=True) is not None
    own = _event(body="@claude x\n\n<!-- claude-runner:refused comment-1 -->")
    assert why_not_reply(own, enabled=True) == "the comment is the runner's own reply"


def test_the_log_line_says_the_level_in_each_platforms_words():
    assert access_reason("github", "m", "read", "write", False) == (
        "m has read permission; at least write access is required"
    )
    assert access_reason("gitlab", "r", "triage", "write", False) == (
        "r has the Reporter role; at least the Developer role is required"
    )
    assert access_reason("gitlab", "d", "write", "write", True) == "d has the Developer role"


def test_an_automatic_run_is_refused_without_a_reply():
    assert why_not_reply(_event(), enabled=True, asked=False) == "nobody asked: the run was automatic"
