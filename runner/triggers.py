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
    """Whether a bot login is allow-listed; ``[bot]`` suffix and case are ignored on both sides."""
    name = _bot_name(login)
    return any(entry.strip() == "*" or _bot_name(entry) == name for entry in allowed_bots)


def _bot_name(login: str) -> str:
    login = login.strip().lower()
    return login.removesuffix("[bot]")


# --- mentions ---------------------------------------------------------------------------------

_FENCE = re.compile(r"[ ]{0,3}(`{3,}|~{3,})")
# A code span: a run of N backticks, content, the next run of exactly N backticks (CommonMark).
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)")
# Characters that glue the phrase to a preceding word: foo@claude.com, x/@claude, a-@claude.
_GLUE_BEFORE = frozenset("@.-/\\+=#&%~$")
_GLUE_AFTER = frozenset("-@/\\")
_LEADING_PUNCT = re.compile(r"^[\s,:;.!?*]+")  # "@claude, fix" and "**@claude** fix" ask to "fix"


def find_mention(text: str | None, phrase: str) -> str | None:
    """The request after the first real mention of ``phrase`` in ``text``; None if there is none.

    A mention is case-insensitive and a whole word: ``@claude,`` ``@claude:`` ``@claude.`` count;
    ``@claudette``, ``foo@claude.com``, ``@claude-bot`` and ``@claude's`` do not. Mentions inside
    inline code, fenced code blocks (```` ``` ```` or ``~~~``) and quoted lines (``> ...``) are
    ignored: they talk *about* the bot. The request is the text after the mention, stripped of
    leading punctuation; when nothing follows (``Fix the typo @claude``) it is the text before it.
    Returns ``""`` for a bare mention.
    """
    text = text or ""
    span = _first_mention(text, phrase)
    if span is None:
        return None
    start, end = span
    after = _LEADING_PUNCT.sub("", text[end:]).strip()
    return after or text[:start].strip()


def _first_mention(text: str, phrase: str) -> tuple[int, int] | None:
    if not phrase.strip() or not text:
        return None
    hidden = _hidden_ranges(text)  # sorted and disjoint, so a binary search finds the enclosing one
    starts = [lo for lo, _ in hidden]
    for match in re.finditer(re.escape(phrase), text, re.IGNORECASE):
        start, end = match.span()
        i = bisect.bisect_right(starts, start) - 1
        if i >= 0 and start < hidden[i][1]:
            continue
        if _whole_word(text, start, end):
            return start, end
    return None


def _whole_word(text: str, start: int, end: int) -> bool:
    if start > 0:
        before = text[start - 1]
        if before.isalnum() or before == "_" or before in _GLUE_BEFORE:
            return False
    if end < len(text):
        after = text[end]
        if after.isalnum() or after == "_" or after in _GLUE_AFTER:
            return False
        # "@claude." ends a sentence; "@claude.com" and "@claude's" continue a word.
        following = text[end + 1 : end + 2]
        if after in ".'’" and following and (following.isalnum() or following == "_"):
            return False
    return True


def _hidden_ranges(text: str) -> list[tuple[int, int]]:
    """[start, end) ranges of fenced blocks, quoted lines and code spans, where mentions don't count."""
    ranges: list[tuple[int, int]] = []
    fence: str | None = None
    fence_start = pos = 0
    for line in text.splitlines(keepends=True):
        start, pos = pos, pos + len(line)
        opener = _FENCE.match(line)
        if fence is not None:
            if opener and _closes(opener.group(1), fence) and not line[opener.end() :].strip():
                ranges.append((fence_start, pos))
                fence = None
            continue
        # A backtick fence's info string cannot hold a backtick (else it is inline code).
        if opener and not (opener.group(1)[0] == "`" and "`" in line[opener.end() :]):
            fence, fence_start = opener.group(1), start
        elif line.lstrip().startswith(">"):
            ranges.append((start, pos))
        else:
            ranges.extend((start + m.start(), start + m.end()) for m in _CODE_SPAN.finditer(line))
    if fence is not None:  # an unclosed fence runs to the end of the text
        ranges.append((fence_start, pos))
    return ranges


def _closes(run: str, fence: str) -> bool:
    """A closing fence uses the opener's character, at least as many times."""
    return run[0] == fence[0] and len(run) >= len(fence)


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
        if _first_mention(event.trigger_text or "", phrase):
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


def explain(event: Event | NotSupported, settings: TriggerSettings) -> dict[str, Any]:
    """The decision for ``event`` as the JSON object ``claude-runner explain`` prints (keys in order)."""
    decision = decide(event, settings)
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
