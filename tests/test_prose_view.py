"""A comment that is plain prose is read without the markdown and HTML parsers (``runner/text/prose.py``):
the view it gives, and so every trigger decision, must be the parsers' own, on the corpus payloads, on
crafted comments at the edge of markdown syntax, and on generated ones."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

import runner.text.prose
from runner.events import Event
from runner.events.github import parse_github_event
from runner.text import mention_view, parsed_mention_view
from runner.text.prose import prose_view
from runner.triggers import TriggerSettings, decide
from tests.paths import FIXTURES_DIR


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _corpus_texts() -> list[str]:
    """Every string of the recorded GitHub and GitLab payloads, as written and as a mention."""
    found: set[str] = set()
    paths = [path for host in ("github", "gitlab") for path in sorted((FIXTURES_DIR / host).rglob("*.json"))]
    for path in paths:
        for text in _strings(json.loads(path.read_text(encoding="utf-8"))):
            found.update((text, f"@claude {text}", f"{text}\n\n@claude please"))
    return sorted(found)


def test_the_prose_view_is_the_parsers_view_on_every_corpus_string():
    texts = _corpus_texts()
    fast = [text for text in texts if prose_view(text) is not None]
    assert len(fast) > 100  # the corpus has prose (titles, bodies, names): the fast path is exercised
    assert len(fast) < len(texts)  # and markdown, URLs with "_" or "#", code: the parsers' cases
    assert [(t, prose_view(t)) for t in fast] == [(t, parsed_mention_view(t)) for t in fast]


@pytest.mark.parametrize(
    "text",
    [
        "@claude explain this change",
        "@claude fix\nthe bug  \nnow\n\n\nplease  ",
        "  @claude hi\n   there",
        "x\n   y",
        "",
        "  \n ",
        "\n\n@claude\n\n",
        "Hi @claude, what? (x) 1) y: 50% of $5 = 2+3 - 1",
        '@claude www.example.com foo@claude.com (c) ... "q" it\'s',
        "Fix the typo @claude",
        "@claudette and @claude-bot are not me",
    ],
)
def test_prose_is_read_without_the_parsers_and_as_they_read_it(text):
    assert prose_view(text) is not None
    assert prose_view(text) == parsed_mention_view(text)


@pytest.mark.parametrize(
    "text",
    [
        "`@claude` fix",  # a code span
        "```\n@claude\n```",  # a fenced block
        "~~~\n@claude\n~~~",
        "a\n\n    @claude in an indented block",
        "> @claude quoted",
        "<!-- @claude --> hidden",
        "<div hidden>@claude</div>",
        "&#64;claude fix",  # an entity
        "\\@claude",
        "*@claude* fix",
        "_@claude_ fix",
        "[@claude](https://x.y)",
        "- @claude in a list",
        "+ @claude",
        "1. @claude",
        "2) @claude",
        "@claude\n---",  # a heading underline
        "@claude\n===",
        "# @claude",
        "| @claude |\n| --- |",
        "~~@claude~~",
        "@claude\tfix",
        "@claude\r\nfix",
        "@claude caf\u00e9",  # not ASCII
        "@clau\u200bde",  # invisible
        "    @claude",
    ],
)
def test_markdown_goes_to_the_parsers(text):
    assert prose_view(text) is None
    assert mention_view(text) == parsed_mention_view(text)


def test_generated_comments_agree():
    rng = random.Random(17)
    pieces = ["@claude", "a", "Z", "9", "1.", "2)", " ", "  ", "    ", "\n", "\n\n", ",", ".", "?", "!", ":"]
    pieces += [";", "'", '"', "(", ")", "@", "/", "%", "$", "=", "+", "-", "---", "===", "fix it", "(c)"]
    checked = 0
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        view = prose_view(text)
        if view is not None:
            assert view == parsed_mention_view(text), repr(text)
            checked += 1
    assert checked > 500


def _comment_events() -> list[Event]:
    """The corpus's comment payloads with each corpus text as the comment."""
    data = json.loads((FIXTURES_DIR / "github/webhooks/issue_comment/created.payload.json").read_text())
    events = []
    for text in _corpus_texts()[::7]:
        data["comment"]["body"] = text
        parsed = parse_github_event("issue_comment", data)
        assert isinstance(parsed, Event)
        events.append(parsed)
    return events


def test_trigger_decisions_are_the_same_with_and_without_the_prose_reading(monkeypatch):
    events = _comment_events()
    settings = [TriggerSettings(trigger_phrase=phrase) for phrase in ("@claude", "please", "the")]
    fast = [decide(event, s) for event in events for s in settings]
    monkeypatch.setattr(runner.text.prose, "prose_view", lambda text: None)
    assert fast == [decide(event, s) for event in events for s in settings]
    assert sum(d.triggered for d in fast) > 50
