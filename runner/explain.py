"""``claude-runner explain``: what the CI commands would decide for a payload, offline.

The mention decision (``triggers.explain``), the review decision (``review/trigger.py``, plus the
draft rule the review applies once it has fetched the change request), and what only the run
itself can know. A payload of the other platform is a one-line ``UsageError`` naming the right
command. What it prints is bounded: every string is cut to ``ECHO_LIMIT`` characters, and the
texts searched for a mention to ``TEXT_LIMIT`` (neither host accepts a longer comment), so a huge
body costs one JSON parse, not a markdown parse, and is never echoed in full.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path
from typing import Any

from runner.errors import UsageError
from runner.events import Event, NotSupported
from runner.events.payload import github_event_name, payload_platform, read_payload_file
from runner.review.trigger import AUTO_ACTIVITIES, review_trigger
from runner.settings.flow import FlowSettings
from runner.triggers import Decision, TriggerSettings, bot_allowed, decide, explain

ECHO_LIMIT = 2000  # characters of any one string explain prints
# Characters of a text searched for a mention: GitLab's limit for a note (GitHub's is 65,536).
TEXT_LIMIT = 1_000_000
_NAMES = {"github": "GitHub", "gitlab": "GitLab"}
_CHANGE_REQUEST = {"github": "pull request", "gitlab": "merge request"}
_REVIEW_INPUT = {"github": "the review input", "gitlab": "the REVIEW variable"}
_DRAFTS_INPUT = {"github": "review_drafts: true", "gitlab": "REVIEW_DRAFTS=true"}


def bounded(text: str, limit: int = ECHO_LIMIT, unread: int = 0) -> str:
    """``text``, or its first ``limit`` characters and ``… (N more characters)``; ``unread``
    characters that followed ``text`` but were never read count in N."""
    if len(text) <= limit and not unread:
        return text
    return f"{text[:limit]}… ({max(len(text) - limit, 0) + unread} more characters)"


def load_event(
    platform: str, event_name: str | None, path: Path, trigger: TriggerSettings
) -> tuple[Event | NotSupported, int]:
    """The payload in ``path`` as an event of ``platform``, its texts cut to ``TEXT_LIMIT``, and how
    many characters of the searched text were cut; a ``UsageError`` naming the right command when
    it is the other platform's payload."""
    payload = read_payload_file(path)
    found = payload_platform(payload)
    if found is not None and found != platform:
        raise UsageError(
            f"event file {path} is a {_NAMES[found]} payload, not a {_NAMES[platform]} one",
            f"run {_command(found, payload, path)}",
        )
    if platform == "gitlab":
        from runner.events.gitlab import check_hook_kind, parse_gitlab_event

        check_hook_kind(payload, event_name, path)
        # GitLab reports several label/assignee changes in one hook: the triggers say which to report.
        event = parse_gitlab_event(
            payload,
            hook=event_name,
            label_trigger=trigger.label_trigger,
            assignee_trigger=trigger.assignee_trigger,
        )
    else:
        from runner.events.github import parse_github_event

        if not event_name:
            guess = github_event_name(payload) or "issue_comment"
            raise UsageError(
                "--event-name is required for --platform github", f"pass e.g. --event-name {guess}"
            )
        event = parse_github_event(event_name, payload)
    if not isinstance(event, Event):
        return event, 0
    return _cut_texts(event), max(len(event.trigger_text or "") - TEXT_LIMIT, 0)


def explain_event(event: Event | NotSupported, settings: FlowSettings, unread: int = 0) -> dict[str, Any]:
    """The JSON object ``explain`` prints: the mention decision and ``review``, strings bounded
    (``unread``: characters cut from the end of the searched text, counted in the request's cut)."""
    decision = decide(event, settings.trigger)
    record = explain(event, settings.trigger, decision)
    record["review"] = explain_review(event, decision, settings)
    bounded_record: dict[str, Any] = _bounded_strings(record)
    request = record["request"]
    text = event.trigger_text if isinstance(event, Event) else None
    if unread and request and text and text.endswith(request):  # the request ran to the cut
        bounded_record["request"] = bounded(request, unread=unread)
    return bounded_record


def explain_review(event: Event | NotSupported, decision: Decision, settings: FlowSettings) -> dict[str, Any]:
    """Would a review run, why, and what only the run can tell."""
    platform = event.platform if event.platform in _NAMES else "github"
    noun = _CHANGE_REQUEST[platform]
    later = [
        f"whether the requester has the access the run requires (checked with the {_NAMES[platform]} API)",
        ".claude/review.json on the default branch (files, budget, rules)",
        "whether there are commits the last review did not see (its sticky summary)",
    ]
    trigger = review_trigger(event, decision, settings)
    if trigger is None:
        return {"runs": False, "reason": _no_review(event, decision, settings, noun), "request": None}
    result: dict[str, Any] = {"runs": True, "reason": trigger.reason, "request": trigger.request}
    if trigger.request is None and isinstance(event, Event):
        draft = event.change_request.draft if event.change_request is not None else None
        if draft and not settings.review_drafts:
            why = f"the {noun} is a draft: automatic reviews skip drafts ({_DRAFTS_INPUT[platform]})"
            return {"runs": False, "reason": why, "request": None}
        if draft is None:
            later.append(f"whether the {noun} is a draft")
    elif trigger.request is not None:
        result["reason"] += " (drafts included)"
    result["decided_at_run_time"] = later
    return result


def _no_review(event: Event | NotSupported, decision: Decision, settings: FlowSettings, noun: str) -> str:
    phrase = settings.trigger.trigger_phrase
    if isinstance(event, NotSupported) or event.entity_type != "change_request":
        return f"no review: reviews are of a {noun}, asked with a mention or automatic"
    if decision.triggered and decision.mode == "tag" and decision.source == "mention":
        return f'no review: the mention does not ask for one ("{phrase} review" does); it runs as a mention'
    if decision.triggered and decision.mode == "tag":
        return f"no review: the {decision.source} trigger runs the usual flow (a mention asks for a review)"
    if event.kind != "change_request":
        return f'no review: from a comment, only a mention ("{phrase} review") asks for one'
    if event.activity not in AUTO_ACTIVITIES:
        done = event.action or event.activity
        return f"no review: a {noun} {done} gets no automatic review (opened, updated, ready, reopened do)"
    if not settings.review:
        return f"no review: automatic reviews are off (--review; {_REVIEW_INPUT[event.platform]})"
    actor = event.actor
    if actor is not None and actor.is_bot and not bot_allowed(actor.login, settings.trigger.allowed_bots):
        return f"no review: {actor.login} is a bot not listed in allowed_bots"
    return "no review"


def render(record: dict[str, Any]) -> bytes:
    """One line of UTF-8 JSON (non-ASCII as is, not ``\\u`` escapes)."""
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def _command(platform: str, payload: dict[str, Any], path: Path) -> str:
    """The command line that reads ``payload`` as the platform it belongs to (ready to paste)."""
    where = shlex.quote(str(path))
    if platform == "gitlab":
        return f"claude-runner explain --platform gitlab --event-path {where}"
    name = github_event_name(payload) or "<event name>"
    return f"claude-runner explain --platform github --event-name {name} --event-path {where}"


def _cut_texts(event: Event) -> Event:
    """The event with each text a reader could have written cut to ``TEXT_LIMIT``."""
    comment = event.comment
    if comment is not None and len(comment.body) > TEXT_LIMIT:
        comment = dataclasses.replace(comment, body=comment.body[:TEXT_LIMIT])
    return dataclasses.replace(
        event,
        title=event.title and event.title[:TEXT_LIMIT],
        body=event.body and event.body[:TEXT_LIMIT],
        trigger_text=event.trigger_text and event.trigger_text[:TEXT_LIMIT],
        comment=comment,
    )


def _bounded_strings(value: Any) -> Any:
    if isinstance(value, str):
        return bounded(value)
    if isinstance(value, dict):
        return {key: _bounded_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_bounded_strings(item) for item in value]
    return value


__all__ = ["ECHO_LIMIT", "TEXT_LIMIT", "bounded", "explain_event", "explain_review", "load_event", "render"]
