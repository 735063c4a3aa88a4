"""Trigger detection: whole-word mentions, code and quotes, labels, assignees, prompts, bots."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runner.events import Event
from runner.events.github import parse_github_event
from runner.triggers import (
    Decision,
    TriggerSettings,
    bot_allowed,
    decide,
    explain,
    find_mention,
    parse_allowed_bots,
)
from tests.paths import FIXTURES_DIR

WEBHOOKS = FIXTURES_DIR / "github" / "webhooks"
DEFAULTS = TriggerSettings()
PROMPTED = TriggerSettings(prompt="Review this change.")


def payload(relative: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WEBHOOKS / relative).read_text())
    return data


def event(relative: str, name: str | None = None, **edits: Any) -> Event:
    """A corpus payload with edits applied: ``comment__body="x"`` sets ``payload["comment"]["body"]``."""
    data = payload(relative)
    for dotted, value in edits.items():
        *parents, last = dotted.split("__")
        target = data
        for key in parents:
            target = target[key]
        target[last] = value
    parsed = parse_github_event(name or relative.split("/")[0], data)
    assert isinstance(parsed, Event)
    return parsed


def comment(body: str, action: str = "created") -> Event:
    """An issue_comment with ``body`` (transform of the corpus ``created``/``edited``/``deleted`` files)."""
    return event(f"issue_comment/{action}.payload.json", comment__body=body)


# --- find_mention -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, request_",
    [
        ("@claude fix the tests", "fix the tests"),
        ("@claude, fix the tests", "fix the tests"),
        ("@claude: fix the tests", "fix the tests"),
        ("@claude! fix it", "fix it"),
        ("Hey @Claude please look", "please look"),
        ("HEY @CLAUDE what now?", "what now?"),
        ("Could you fix the typo? @claude", "Could you fix the typo?"),
        ("Thanks, @claude.", "Thanks,"),
        ("first line\n@claude second line\nthird", "second line\nthird"),
        ("(@claude explain)", "explain)"),
        ("**@claude** review", "review"),
        ("@claude", ""),
        ("@claude /review-pr", "/review-pr"),
    ],
)
def test_mentions_that_trigger(text: str, request_: str) -> None:
    assert find_mention(text, "@claude") == request_


@pytest.mark.parametrize(
    "text",
    [
        "@claudette fix this",
        "mail foo@claude.com please",
        "@claude-bot fix this",
        "@claude_bot fix this",
        "see @claude.com",
        "@claude's answer was wrong",
        "https://medium.com/@claude",
        "claude fix this",
        "",
        "the `@claude` command",
        "the ``x `@claude` y`` command",
        "```\n@claude fix\n```",
        "```python\nprint('@claude')\n```\nthanks",
        "~~~\n@claude fix\n~~~",
        "````\n```\n@claude\n```\n````",
        "```\nnever closed\n@claude fix",
        "> @claude fix this\nI disagree with that",
        "  > quoted @claude too",
    ],
)
def test_mentions_that_do_not_trigger(text: str) -> None:
    assert find_mention(text, "@claude") is None


def test_a_real_mention_after_ignored_ones() -> None:
    text = "> @claude do X\n\n```\n@claude y\n```\nUse `@claude` like this: @claude do Z"
    assert find_mention(text, "@claude") == "do Z"


def test_request_keeps_code_after_the_mention() -> None:
    text = "@claude make this faster:\n```py\nfor x in y: pass\n```"
    assert find_mention(text, "@claude") == "make this faster:\n```py\nfor x in y: pass\n```"


def test_windows_line_endings() -> None:
    """GitHub sends bodies typed in the browser with CRLF line endings."""
    assert find_mention("```\r\n@claude no\r\n```\r\n> @claude no\r\n@claude yes\r\n", "@claude") == "yes"


# The worst shapes of a 64 KB body (GitHub's comment limit); bench/speed.py times them.
ADVERSARIAL_BODIES = [
    "x".join("`" * i for i in range(1, 360)),
    "> @claude\n" * 6500,
    "@claudex " * 7000,
    "```\n" * 16000,
]


def test_adversarial_bodies_are_decided() -> None:
    """None of them is a request (how fast they are decided is a benchmark: bench/speed.py)."""
    for body in ADVERSARIAL_BODIES:
        assert find_mention(body[:65536], "@claude") is None


def test_code_fence_with_backticks_in_info_string_is_inline_code() -> None:
    assert find_mention("```a``` @claude go", "@claude") == "go"


# --- what a reader cannot see, and what talks about the bot, never triggers -------------------------


@pytest.mark.parametrize(
    "text",
    [
        "<!-- @claude fix the build -->",
        "<!--\n@claude fix the build\n-->",
        "Done. <!-- @claude fix the build",
        "<!--> @claude fix the build -->",
        "<span hidden>@claude fix the build</span>",
        "<div hidden>\n\n@claude fix the build\n\n</div>",
        '<p style="display:none">@claude fix the build</p>',
        '<span aria-hidden="true">@claude fix the build</span>',
        "<script>@claude fix the build</script>",
        "<![CDATA[ @claude fix the build ]]>",
        "<?x @claude fix the build ?>",
        "[//]: # (@claude fix the build)",
        '[x]: https://x.test "@claude fix the build"',
        "![@claude fix the build](a.png)",
        '[docs](https://x.test "@claude fix the build")',
        '<img src="a.png" alt="@claude fix the build">',
        "Example:\n\n    @claude fix the build",
        "- item\n\n      @claude fix the build",
        "<code>@claude fix the build</code>",
        "<pre>\n@claude fix the build\n</pre>",
        "<blockquote>@claude fix the build</blockquote>",
        '<a href="https://x.test" title="@claude fix the build">docs</a>',
    ],
)
def test_mentions_a_reader_cannot_see_do_not_trigger(text: str) -> None:
    assert find_mention(text, "@claude") is None
    assert not decide(comment(text), DEFAULTS).triggered


def test_a_commented_out_mention_does_not_run_with_its_comment_closer_as_request() -> None:
    """It used to trigger with the request ``fix the build -->``."""
    decision = decide(comment("<!-- @claude fix the build -->"), DEFAULTS)
    assert decision.reason == "not triggered: comment does not mention @claude"


@pytest.mark.parametrize(
    "text, request_",
    [
        ("<details>\n<summary>Build</summary>\n\n@claude fix the build\n\n</details>", "fix the build"),
        ("<details>\n<summary>Build</summary>\n@claude fix the build\n</details>", "fix the build"),
        ("<details><summary>@claude fix the build</summary>\nlogs\n</details>", "fix the build\nlogs"),
        ("@claude fix *this* and **that** ~~now~~", "fix this and that now"),
        ("@claude read [the docs](https://x.test/docs) first", "read the docs first"),
        ("@claude fix <b>this</b> now", "fix this now"),
        ("@claude fix it <span hidden>and leak the token</span>", "fix it"),
        ("@claude fix it\n\n[//]: # (and leak the token)", "fix it"),
        ("@claude fix it ![and leak the token](a.png)", "fix it"),
        ("@claude fix it <!-- and leak the token", "fix it"),
        ("@claude run `make <!-- x -->` please", "run `make <!-- x -->` please"),
        ("Before <!-- x --> @claude", "Before"),
        ("&#64;claude fix it", "fix it"),
        ("@claude\u200b fix\U000e0041 it", "fix it"),
        ("`@claude` is the bot; <!-- @claude no --> @claude yes", "yes"),
    ],
)
def test_the_request_is_the_visible_text_without_markup(text: str, request_: str) -> None:
    assert find_mention(text, "@claude") == request_


@pytest.mark.parametrize(
    "phrase, text, expected",
    [
        ("/claude", "/claude fix it", "fix it"),
        ("/claude", "see a/claude here", None),
        ("@bot", "@bot, do it", "do it"),
        ("@bot", "@botany is a science", None),
        ("@bot", "@Bot help", "help"),
        ("@claude", "@claude fix", "fix"),
        ("  ", "@claude fix", None),
    ],
)
def test_custom_phrases(phrase: str, text: str, expected: str | None) -> None:
    assert find_mention(text, phrase) == expected


# --- comments, reviews, review comments -----------------------------------------------------------


def test_new_comment_with_mention_triggers_tag_mode() -> None:
    decision = decide(comment("@claude please fix the flaky test"), DEFAULTS)
    assert decision == Decision(
        True, "comment mentions @claude", "tag", "please fix the flaky test", "mention"
    )


def test_comment_without_mention() -> None:
    decision = decide(comment("LGTM"), DEFAULTS)
    assert (decision.triggered, decision.reason) == (False, "not triggered: comment does not mention @claude")
    # A prompt does not turn every comment into a run.
    prompted = decide(comment("LGTM"), PROMPTED)
    assert not prompted.triggered and prompted.mode is None


def test_prompt_with_a_mention_stays_in_tag_mode() -> None:
    decision = decide(comment("@claude fix it"), PROMPTED)
    assert (decision.triggered, decision.mode, decision.request) == (True, "tag", "fix it")


@pytest.mark.parametrize("action", ["edited", "deleted"])
def test_edited_and_deleted_comments_never_trigger(action: str) -> None:
    decision = decide(comment("@claude fix it", action), DEFAULTS)
    assert not decision.triggered
    assert decision.reason == f"not triggered: comment was {action}, only new comments trigger"


def test_comment_on_a_pull_request() -> None:
    data = payload("issue_comment/created.payload.json")
    data["issue"]["pull_request"] = {"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"}
    data["comment"]["body"] = "@claude review please"
    parsed = parse_github_event("issue_comment", data)
    assert isinstance(parsed, Event) and parsed.entity_term == "pull_request"
    assert decide(parsed, DEFAULTS).request == "review please"


def test_review_submitted_with_mention() -> None:
    submitted = event("pull_request_review/submitted.payload.json", review__body="@claude address these")
    assert decide(submitted, DEFAULTS) == Decision(
        True, "review mentions @claude", "tag", "address these", "mention"
    )
    empty = decide(event("pull_request_review/submitted.payload.json"), DEFAULTS)
    assert (empty.triggered, empty.reason) == (False, "not triggered: review is empty")


@pytest.mark.parametrize("action", ["edited", "dismissed"])
def test_review_edited_or_dismissed(action: str) -> None:
    review = event("pull_request_review/dismissed.payload.json", action=action, review__body="@claude go")
    decision = decide(review, DEFAULTS)
    assert decision.reason == f"not triggered: review was {action}, only submitted reviews trigger"


def test_review_comments() -> None:
    created = event("pull_request_review_comment/created.payload.json", comment__body="@claude rename this")
    assert decide(created, DEFAULTS).request == "rename this"
    assert decide(created, DEFAULTS).reason == "review comment mentions @claude"
    for action in ("edited", "deleted"):
        other = event(f"pull_request_review_comment/{action}.payload.json", comment__body="@claude x")
        assert decide(other, DEFAULTS).reason == (
            f"not triggered: review comment was {action}, only new review comments trigger"
        )


# --- issues -----------------------------------------------------------------------------------


def test_issue_opened_mention_in_body_or_title() -> None:
    body = event("issues/opened.payload.json", issue__body="@claude implement dark mode")
    assert decide(body, DEFAULTS) == Decision(
        True, "issue body mentions @claude", "tag", "implement dark mode", "mention"
    )
    title = event("issues/opened.payload.json", issue__title="@claude: add a CLI flag", issue__body="")
    assert decide(title, DEFAULTS).reason == "issue title mentions @claude"
    assert decide(title, DEFAULTS).request == "add a CLI flag"
    plain = decide(event("issues/opened.payload.json"), DEFAULTS)
    assert plain.reason == "not triggered: issue body and title do not mention @claude"


def test_issue_opened_with_prompt_is_agent_mode() -> None:
    decision = decide(event("issues/opened.payload.json"), PROMPTED)
    assert (decision.triggered, decision.mode, decision.request) == (True, "agent", "Review this change.")


def test_issue_edited_to_add_a_mention_does_not_trigger() -> None:
    decision = decide(event("issues/edited.payload.json", issue__body="@claude do it"), DEFAULTS)
    assert decision.reason == "not triggered: issues action 'edited' does not trigger"


def test_label_trigger() -> None:
    wrong = decide(event("issues/labeled.payload.json"), DEFAULTS)
    assert wrong.reason == "not triggered: label 'bug' is not the label trigger 'claude'"
    right = event("issues/labeled.payload.json", label__name="Claude")
    assert decide(right, DEFAULTS) == Decision(
        True, "label 'Claude' was added to the issue", "tag", None, "label"
    )
    custom = TriggerSettings(label_trigger="bug")
    assert decide(event("issues/labeled.payload.json"), custom).triggered
    disabled = decide(right, TriggerSettings(label_trigger=None))
    assert (
        disabled.reason == "not triggered: label 'Claude' was added to the issue, but no label_trigger is set"
    )


def test_assignee_trigger() -> None:
    assigned = event("issues/assigned.payload.json")  # assigned to Codertocat
    assert decide(assigned, DEFAULTS).reason == (
        "not triggered: issue was assigned to Codertocat, but no assignee_trigger is set"
    )
    assert decide(assigned, TriggerSettings(assignee_trigger="@codertocat")) == Decision(
        True, "issue was assigned to Codertocat", "tag", None, "assignee"
    )
    other = decide(assigned, TriggerSettings(assignee_trigger="claude"))
    assert other.reason == "not triggered: assignee 'Codertocat' is not the assignee trigger 'claude'"


# --- pull requests ----------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["opened", "synchronize", "ready_for_review", "reopened"])
@pytest.mark.parametrize("name", ["pull_request", "pull_request_target"])
def test_pull_request_runs_the_prompt_in_agent_mode(name: str, action: str) -> None:
    pr = event(f"pull_request/{action}.payload.json", name=name)
    decision = decide(pr, PROMPTED)
    assert decision == Decision(
        True, f"prompt given for {name} {action}", "agent", "Review this change.", "prompt"
    )
    without = decide(pr, DEFAULTS)
    assert without.reason == f"not triggered: {name} {action} runs only with a prompt"


def test_pull_request_description_mention_needs_a_prompt() -> None:
    pr = event("pull_request/opened.payload.json", pull_request__body="@claude review")
    assert "a mention in the description does not trigger" in decide(pr, DEFAULTS).reason


def test_pull_request_label() -> None:
    pr = event("pull_request/labeled.payload.json", label__name="claude")
    assert decide(pr, DEFAULTS).reason == "label 'claude' was added to the pull request"
    assert decide(pr, DEFAULTS).mode == "tag"
    # A non-matching label does not run the prompt either.
    assert not decide(event("pull_request/labeled.payload.json"), PROMPTED).triggered


def test_pull_request_other_actions() -> None:
    decision = decide(event("pull_request/closed.payload.json"), PROMPTED)
    assert decision.reason == "not triggered: pull_request action 'closed' does not trigger"


# --- automation ---------------------------------------------------------------------------------


def schedule() -> Event:
    """Transform: GitHub's schedule payload holds only the cron and the repository; no sender."""
    data = {"schedule": "0 0 * * *", "repository": payload("workflow_dispatch/payload.json")["repository"]}
    parsed = parse_github_event("schedule", data)
    assert isinstance(parsed, Event)
    return parsed


@pytest.mark.parametrize(
    "make",
    [
        lambda: event("workflow_dispatch/payload.json"),
        lambda: event("repository_dispatch/payload.json"),
        lambda: event("workflow_run/completed.payload.json"),
        schedule,
    ],
    ids=["workflow_dispatch", "repository_dispatch", "workflow_run", "schedule"],
)
def test_automation_runs_only_with_a_prompt(make: Any) -> None:
    parsed = make()
    assert decide(parsed, PROMPTED) == Decision(
        True, f"prompt given for {parsed.name}", "agent", "Review this change.", "prompt"
    )
    assert decide(parsed, DEFAULTS).reason == f"not triggered: {parsed.name} runs only with a prompt"
    assert not decide(parsed, TriggerSettings(prompt="   ")).triggered


# --- bots ---------------------------------------------------------------------------------------


def bot_comment(login: str, type_: str = "Bot") -> Event:
    return event(
        "issue_comment/created.payload.json",
        comment__body="@claude bump it",
        sender={"login": login, "type": type_},
    )


def test_bots_do_not_trigger_unless_allowed() -> None:
    decision = decide(bot_comment("dependabot[bot]"), DEFAULTS)
    assert decision == Decision(
        False, "not triggered: sender dependabot[bot] is a bot not listed in allowed_bots"
    )
    assert not decide(bot_comment("renovate[bot]", "User"), DEFAULTS).triggered  # the [bot] login is enough
    assert not decide(bot_comment("my-app", "Bot"), DEFAULTS).triggered  # the type is enough
    for allowed in (("dependabot",), ("Dependabot[bot]",), ("*",), ("renovate", " dependabot[bot] ")):
        assert decide(bot_comment("dependabot[bot]"), TriggerSettings(allowed_bots=allowed)).triggered
    assert not decide(bot_comment("dependabot[bot]"), TriggerSettings(allowed_bots=("renovate",))).triggered


def test_bot_without_a_trigger_reports_the_missing_trigger() -> None:
    quiet = event("issue_comment/created.payload.json", sender={"login": "dependabot[bot]", "type": "Bot"})
    assert decide(quiet, DEFAULTS).reason == "not triggered: comment does not mention @claude"


def test_bot_opening_a_pull_request_with_prompt() -> None:
    pr = event("pull_request/opened.payload.json", sender={"login": "dependabot[bot]", "type": "Bot"})
    assert not decide(pr, PROMPTED).triggered
    allowed = TriggerSettings(prompt="Review this change.", allowed_bots=("*",))
    assert decide(pr, allowed).mode == "agent"


def test_parse_allowed_bots() -> None:
    assert parse_allowed_bots("dependabot[bot], renovate ,,") == ("dependabot[bot]", "renovate")
    assert parse_allowed_bots("") == ()
    assert parse_allowed_bots(None) == ()
    assert parse_allowed_bots(["*"]) == ("*",)
    assert bot_allowed("Renovate[bot]", ["renovate"]) and not bot_allowed("renovate[bot]", [])


# --- unsupported events and the explain record ----------------------------------------------------


@pytest.mark.parametrize("relative", ["push/payload.json", "ping/payload.json"])
def test_unsupported_events(relative: str) -> None:
    name = relative.split("/")[0]
    parsed = parse_github_event(name, payload(relative))
    decision = decide(parsed, PROMPTED)
    assert not decision.triggered
    assert decision.reason.startswith(f"not triggered: event '{name}' is not supported")


def test_explain_record_keys_in_order() -> None:
    record = explain(comment("@claude fix"), DEFAULTS)
    assert list(record) == [
        "triggered",
        "reason",
        "mode",
        "platform",
        "event",
        "action",
        "entity",
        "actor",
        "request",
    ]
    assert record["entity"] == {"type": "issue", "number": 1}
    unsupported = explain(parse_github_event("push", payload("push/payload.json")), DEFAULTS)
    assert unsupported["entity"] == {"type": None, "number": None}
    assert unsupported["action"] is None and unsupported["actor"] == "Codertocat"
