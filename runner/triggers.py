"""Was Claude asked for something? Phrase, label, assignee and prompt detection, and mode choice.

Pure and platform-neutral: it reads the shared ``Event`` model (kinds and activities, never
GitHub event names) and returns a ``Decision``. The rules, in the order they apply:

1. Only new things trigger: a comment or review comment that was *created*, a review that was
   *submitted* (activity ``created``). Edits, deletions and dismissals never do, so editing an old
   comment to add ``@claude`` cannot replay a request.
2. **Tag mode** (the interactive flow) for a direct request: the trigger phrase in a comment, review
   or review comment, or in the body or title of a newly opened issue; ``label_trigger`` added to an
   issue or change request; ``assignee_trigger`` assigned to one. A ``prompt``, if also set, is
   extra instructions for the tag-mode run.
3. **Agent mode** (the automation flow) when ``prompt`` is set and nothing above matched, for
   automation events (dispatch, schedule, workflow run), change requests opened / updated / ready
   for review / reopened, and issues opened. Comments, labels and assignments never run the prompt
   on their own: with ``prompt`` set, every comment on every PR would otherwise start the agent.
   (claude-code-action v1 switches comment and issue events to agent mode whenever ``prompt`` is
   set; we keep mentions in tag mode and require one on comments.)
4. Bots (``Actor.is_bot``) never trigger unless listed in ``allowed_bots`` (``*`` means all): this
   stops the runner answering its own comments and unattended apps driving the agent.

Defaults follow claude-code-action: ``trigger_phrase="@claude"``, ``label_trigger="claude"``, no
``assignee_trigger``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from runner.events import Event, NotSupported
from runner.quick.decide import bot_allowed as quick_bot_allowed
from runner.quick.decide import whole_word

Mode = Literal["tag", "agent"]
TriggerSource = Literal["mention", "label", "assignee", "prompt"]

_NOT = "not triggered: "
_NOUNS = {"comment": "comment", "review": "review", "review_comment": "review comment"}


@dataclass(frozen=True)
class TriggerSettings:
    """The trigger inputs, named as in claude-code-action."""

    trigger_phrase: str = "@claude"
    label_trigger: str | None = "claude"  # None or "" disables
    assignee_trigger: str | None = None  # None or "" disables; a leading "@" is ignored
    prompt: str | None = None  # None or blank: no automation flow
    allowed_bots: tuple[str, ...] = ()  # bot logins (with or without "[bot]"), or "*"


@dataclass(frozen=True)
class Decision:
    """Whether to run, in which mode, and why (one human-readable line)."""

    triggered: bool
    reason: str
    mode: Mode | None = None
    request: str | None = None  # tag mode: the text after the phrase; agent mode: the prompt
    source: TriggerSource | None = None


def parse_allowed_bots(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"dependabot[bot], renovate"`` (or a list) ⇒ ``("dependabot[bot]", "renovate")``."""
    items = value.split(",") if isinstance(value, str) else (value or ())
    return tuple(item.strip() for item in items if item.strip())


def bot_allowed(login: str, allowed_bots: Iterable[str]) -> bool:
    """Whether a bot login is allow-listed; ``[bot]`` suffix and case are ignored on both sides
    (the quick acknowledgement's check, which has no dependencies)."""
    return quick_bot_allowed(login, tuple(allowed_bots))


# --- mentions ---------------------------------------------------------------------------------

_LEADING_PUNCT = re.compile(r"^[\s,:;.!?*]+")  # "@claude, fix" asks to "fix"


def find_mention(text: str | None, phrase: str) -> str | None:
    """The request after the first real mention of ``phrase`` in ``text``; None if there is none.

    ``text`` is read as the rendered page shows it (``runner.text.mention_view``: CommonMark and
    HTML5 parsers). A mention is case-insensitive and a whole word: ``@claude,`` ``@claude:``
    ``@claude.`` count; ``@claudette``, ``foo@claude.com``, ``@claude-bot`` and ``@claude's`` do
    not. A mention a reader cannot see never counts (in an HTML comment, a hidden element, a link
    reference definition, image alt text), nor one that talks *about* the bot: in a code span, a
    fenced or indented code block, or a quote (``> ...``; a line its author wrote without ``>``
    is theirs, even where CommonMark continues the quote). The request is the visible text after
    the mention without markup (HTML tags, emphasis markers, link targets and images dropped; code
    kept), stripped of leading punctuation; when nothing follows (``Fix the typo @claude``) it is
    the text before it. Returns ``""`` for a bare mention.
    """
    text = text or ""
    if not phrase.strip() or not _may_mention(text, phrase):
        return None
    from runner.text import mention_view

    plain, counted = mention_view(text)
    span = _first_mention(plain, counted, phrase)
    if span is None:
        return None
    start, end = span
    after = _LEADING_PUNCT.sub("", plain[end:]).strip()
    return after or plain[:start].strip()


def _may_mention(text: str, phrase: str) -> bool:
    """Cheap: can ``text`` show ``phrase`` at all? (Saves parsing the comments that cannot.)"""
    from runner.text import strip_invisible

    return "&" in text or phrase.lower() in strip_invisible(text).lower()  # "&": &#64;claude


def _first_mention(plain: str, counted: list[tuple[int, int]], phrase: str) -> tuple[int, int] | None:
    starts = [lo for lo, _ in counted]
    for match in re.finditer(re.escape(phrase), plain, re.IGNORECASE):
        start, end = match.span()
        i = bisect.bisect_right(starts, start) - 1
        if i >= 0 and end <= counted[i][1] and whole_word(plain, start, end):
            return start, end
    return None


# --- the decision -----------------------------------------------------------------------------


# How a non-triggering activity reads in a reason ("comment was edited").
_PAST = {"edited": "edited", "deleted": "deleted"}


def decide(event: Event | NotSupported, settings: TriggerSettings) -> Decision:
    """Decide whether ``event`` asks for a run, in which mode, with which request (see module doc)."""
    if isinstance(event, NotSupported):
        return Decision(False, event.reason)
    decision = _detect(event, settings)
    actor = event.actor
    if decision.triggered and actor and actor.is_bot and not bot_allowed(actor.login, settings.allowed_bots):
        return Decision(False, f"{_NOT}sender {actor.login} is a bot not listed in allowed_bots")
    return decision


def _detect(event: Event, settings: TriggerSettings) -> Decision:
    prompt = settings.prompt if settings.prompt and settings.prompt.strip() else None
    phrase = settings.trigger_phrase
    if event.kind in _NOUNS:
        noun = _NOUNS[event.kind]
        if event.activity != "created":
            verb = "submitted" if event.kind == "review" else "new"
            what = "reviews" if event.kind == "review" else f"{noun}s"
            return Decision(
                False,
                f"{_NOT}{noun} was {_PAST.get(event.activity, event.action or event.activity)}, "
                f"only {verb} {what} trigger",
            )
        return _mention(event.trigger_text, phrase, noun, prompt)
    if event.kind == "automation":
        if prompt:
            return Decision(True, f"prompt given for {event.name}", "agent", prompt, "prompt")
        return Decision(False, f"{_NOT}{event.name} runs only with a prompt")
    entity = (event.entity_term or "change request").replace("_", " ")
    if event.activity == "labeled":
        return _label(event.added_label, settings.label_trigger, entity)
    if event.activity == "assigned":
        return _assignee(event.added_assignee, settings.assignee_trigger, entity)
    if event.kind == "issue" and event.activity == "opened":
        found = _mention(event.trigger_text, phrase, "issue body", None)
        if not found.triggered:
            found = _mention(event.title, phrase, "issue title", None)
        if found.triggered:
            return found
        if prompt:
            return Decision(True, f"prompt given for {event.name} {event.action}", "agent", prompt, "prompt")
        return Decision(False, f"{_NOT}issue body and title do not mention {phrase}")
    if event.kind == "change_request" and event.activity in (
        "opened",
        "updated",
        "ready_for_review",
        "reopened",
    ):
        if prompt:
            return Decision(True, f"prompt given for {event.name} {event.action}", "agent", prompt, "prompt")
        note = ""
        if find_mention(event.trigger_text, phrase) is not None:
            note = f" (a mention in the description does not trigger; mention {phrase} in a comment)"
        return Decision(False, f"{_NOT}{event.name} {event.action} runs only with a prompt{note}")
    return Decision(False, f"{_NOT}{event.name} action '{event.action}' does not trigger")


def _mention(text: str | None, phrase: str, noun: str, prompt: str | None) -> Decision:
    request = find_mention(text, phrase)
    if request is not None:
        return Decision(True, f"{noun} mentions {phrase}", "tag", request, "mention")
    if not (text or "").strip():
        return Decision(False, f"{_NOT}{noun} is empty")
    hint = " (a prompt alone does not make comments trigger)" if prompt else ""
    return Decision(False, f"{_NOT}{noun} does not mention {phrase}{hint}")


def _label(added: str | None, trigger: str | None, entity: str) -> Decision:
    if not trigger:
        return Decision(
            False, f"{_NOT}label '{added}' was added to the {entity}, but no label_trigger is set"
        )
    if added is not None and added.strip().lower() == trigger.strip().lower():
        return Decision(True, f"label '{added}' was added to the {entity}", "tag", None, "label")
    return Decision(False, f"{_NOT}label '{added}' is not the label trigger '{trigger}'")


def _assignee(added: str | None, trigger: str | None, entity: str) -> Decision:
    wanted = (trigger or "").strip().removeprefix("@")
    if not wanted:
        return Decision(False, f"{_NOT}{entity} was assigned to {added}, but no assignee_trigger is set")
    if added is not None and added.lower() == wanted.lower():
        return Decision(True, f"{entity} was assigned to {added}", "tag", None, "assignee")
    return Decision(False, f"{_NOT}assignee '{added}' is not the assignee trigger '{wanted}'")


def explain(
    event: Event | NotSupported, settings: TriggerSettings, decision: Decision | None = None
) -> dict[str, Any]:
    """The decision for ``event`` (``decision``, when already made) as the JSON object ``claude-runner
    explain`` prints (keys in order)."""
    decision = decision or decide(event, settings)
    return {
        "triggered": decision.triggered,
        "reason": decision.reason,
        "mode": decision.mode,
        "platform": event.platform,
        "event": event.name,
        "action": event.action,
        "entity": {
            "type": event.entity_term if isinstance(event, Event) else None,
            "number": event.number if isinstance(event, Event) else None,
        },
        "actor": event.actor.login if event.actor else None,
        "request": decision.request,
    }
