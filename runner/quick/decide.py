"""Whether the quick acknowledgement may post the tracking comment for an Actions event, decided
from the raw payload with pure functions: the same answer as ``events/github.py``, ``triggers.py``,
``review/trigger.py``, ``flow/admit.py`` and ``flow/ack.new_tracker`` give, or None when this
module is not sure (tests check both over the corpus and generated payloads).

It handles the events that post a new conversation comment in tag mode: a new comment
(``issue_comment``), a submitted review, an issue opened with a mention, a label or an assignee
added to an issue or pull request. A mention counts only in plain prose (``prose.py``); a review
request, a review comment (answered in its thread), a prompt-only run, an event without a sender
or a number: None, and the full run decides.
"""

from __future__ import annotations

from runner.quick.prose import prose_view

# The permission levels from least to most (platforms/refs.PERMISSION_ORDER).
PERMISSION_ORDER = ("none", "read", "triage", "write", "maintain", "admin")
# Characters that glue the phrase to a word around it: foo@claude.com, x/@claude, @claude-bot.
_GLUE_BEFORE = frozenset("@.-/\\+=#&%~$")
_GLUE_AFTER = frozenset("-@/\\")
_LEADING = " \t\n\r\f\v,:;.!?*"  # triggers._LEADING_PUNCT, on the ASCII text of prose
_UNSURE = object()  # a mention this module cannot read without the parsers


class QuickPlan:
    """What to do: post on ``number``; ``requester`` asked; ``ask`` is the login whose
    permission decides (None: allowed without asking, an allowed bot or a listed user)."""

    __slots__ = ("ask", "number", "requester")

    def __init__(self, number: int, requester: str, ask: str | None) -> None:
        self.number, self.requester, self.ask = number, requester, ask


def permission_at_least(level: str, required: str) -> bool:
    """True when ``level`` grants at least ``required`` (unknown levels grant nothing)."""
    if level not in PERMISSION_ORDER or required not in PERMISSION_ORDER:
        return False
    return PERMISSION_ORDER.index(level) >= PERMISSION_ORDER.index(required)


def plan_ack(
    event_name: str,
    payload: dict[str, object],
    *,
    trigger_phrase: str,
    label_trigger: str,
    assignee_trigger: str | None,
    allowed_bots: tuple[str, ...],
    allowed_non_write_users: tuple[str, ...],
) -> QuickPlan | None:
    """The plan for ``payload`` (a ``GITHUB_EVENT_NAME`` event), or None: no tracking comment
    from here (not triggered, or not sure)."""
    sender = _dict(payload.get("sender"))
    login, kind = sender.get("login"), sender.get("type")
    if not isinstance(login, str) or not login:
        return None  # no actor: the workflow asked (the full run decides)
    action = payload.get("action")
    number = _triggered_number(event_name, action, payload, trigger_phrase, label_trigger, assignee_trigger)
    if number is None:
        return None
    is_bot = (kind if isinstance(kind, str) else "").lower() == "bot" or login.lower().endswith("[bot]")
    if is_bot:
        if not bot_allowed(login, allowed_bots):
            return None  # not triggered: a bot not listed
        return QuickPlan(number, login, None)
    if "*" in allowed_non_write_users or login in allowed_non_write_users:
        return QuickPlan(number, login, None)
    return QuickPlan(number, login, login)


def _triggered_number(
    event_name: str,
    action: object,
    payload: dict[str, object],
    phrase: str,
    label_trigger: str,
    assignee_trigger: str | None,
) -> int | None:
    """The number of the issue or pull request when the event asks for a tag-mode run with a new
    conversation comment; None otherwise or when unsure."""
    if event_name == "issue_comment":
        issue = _dict(payload.get("issue"))
        if action != "created" or not _dict(payload.get("comment")):
            return None
        request = mention(_str(_dict(payload.get("comment")).get("body")) or "", phrase)
        if not isinstance(request, str) or (bool(issue.get("pull_request")) and asks_review(request)):
            return None
        return _int(issue.get("number"))
    if event_name == "pull_request_review":
        review = _dict(payload.get("review"))
        if action != "submitted" or not review:
            return None
        request = mention(_str(review.get("body")) or "", phrase)
        number = _pull_number(payload)
        return None if not isinstance(request, str) or asks_review(request) else number
    if event_name == "issues":
        entity = _dict(payload.get("issue"))
        if action == "opened":
            found = mention(_str(entity.get("body")), phrase)
            if found is None:
                found = mention(_str(entity.get("title")), phrase)
            return _int(entity.get("number")) if isinstance(found, str) else None
        number = _int(entity.get("number"))
    elif event_name in ("pull_request", "pull_request_target"):
        number = _pull_number(payload)
    else:
        return None
    if action == "labeled":
        added = _str(_dict(payload.get("label")).get("name"))
        hit = added is not None and added.strip().lower() == label_trigger.strip().lower()
        return number if hit and label_trigger else None
    if action == "assigned":
        added = _str(_dict(payload.get("assignee")).get("login"))
        wanted = (assignee_trigger or "").strip().removeprefix("@")
        return number if wanted and added is not None and added.lower() == wanted.lower() else None
    return None


def mention(text: str | None, phrase: str) -> object:
    """``triggers.find_mention(text, phrase)`` when ``text`` is plain prose: the request (a
    string), or None for no mention; ``_UNSURE`` when the parsers would be needed."""
    text = text or ""
    if not phrase.strip() or not phrase.isascii():
        return _UNSURE
    view = prose_view(text)
    if view is None:
        return _UNSURE
    wanted = phrase.lower()
    if wanted not in text.lower():  # prose has no "&" and nothing invisible: triggers._may_mention
        return None
    plain, counted = view
    lowered, at = plain.lower(), 0
    while (start := lowered.find(wanted, at)) >= 0:
        end = start + len(wanted)
        at = end
        inside = [hi for lo, hi in counted if lo <= start]
        if inside and end <= inside[-1] and whole_word(plain, start, end):
            after = plain[end:].lstrip(_LEADING).strip()
            return after or plain[:start].strip()
    return None


def asks_review(request: str) -> bool:
    """``review/trigger.review_request``'s test on a mention's text: it starts with "review"."""
    rest = request.lstrip()
    if rest[:6].lower() != "review":
        return False
    return len(rest) == 6 or not (rest[6].isalnum() or rest[6] == "_")


def bot_allowed(login: str, allowed_bots: tuple[str, ...]) -> bool:
    """Whether a bot login is allow-listed; ``[bot]`` suffix and case are ignored on both sides
    (``triggers.bot_allowed`` is this)."""
    name = login.strip().lower().removesuffix("[bot]")
    return any(e.strip() == "*" or e.strip().lower().removesuffix("[bot]") == name for e in allowed_bots)


def whole_word(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` stands as a word of its own (shared with ``triggers.py``)."""
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


def _pull_number(payload: dict[str, object]) -> int | None:
    number = _int(_dict(payload.get("pull_request")).get("number"))
    return number if number is not None else _int(payload.get("number"))


def _dict(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


__all__ = ["PERMISSION_ORDER", "QuickPlan", "asks_review", "mention", "permission_at_least", "plan_ack"]
