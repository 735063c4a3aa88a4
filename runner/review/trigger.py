"""Whether an event gets a review, and why: a mention that asks for one, or (with the ``review``
setting) a change request opened, updated, marked ready or reopened. Pure: ``claude-runner
explain`` says the same as the CI commands decide."""

from __future__ import annotations

import re
from dataclasses import dataclass

from runner.events import Event, NotSupported
from runner.settings.flow import FlowSettings
from runner.triggers import Decision, bot_allowed

_REVIEW_REQUEST = re.compile(r"^\s*review\b[\s,:.-]*", re.IGNORECASE)


def review_request(event: Event, request: str | None) -> str | None:
    """A mention's text when it asks for a review (``@claude review the error handling`` gives
    ``"the error handling"``, a bare ``@claude review`` gives ``""``); None otherwise."""
    if request is None or event.entity_type != "change_request" or event.number is None:
        return None
    match = _REVIEW_REQUEST.match(request)
    return request[match.end() :].strip() if match else None


@dataclass(frozen=True)
class ReviewTrigger:
    """Why this event gets a review; ``request`` is the mention's text (None: an automatic review)."""

    request: str | None
    reason: str


AUTO_ACTIVITIES = ("opened", "updated", "ready_for_review", "reopened")


def review_trigger(
    event: Event | NotSupported, decision: Decision, settings: FlowSettings
) -> ReviewTrigger | None:
    """A review, or None for the usual flow: ``@claude review ...`` on a change request, or (with
    the ``review`` setting) a change request opened, updated, marked ready or reopened."""
    if isinstance(event, NotSupported):
        return None
    if decision.triggered and decision.mode == "tag":
        asked = review_request(event, decision.request)
        return ReviewTrigger(asked, "a mention asks for a review") if asked is not None else None
    if not (settings.review and event.kind == "change_request" and event.number is not None):
        return None
    if event.activity not in AUTO_ACTIVITIES:
        return None
    actor = event.actor
    if actor is not None and actor.is_bot and not bot_allowed(actor.login, settings.trigger.allowed_bots):
        return None  # as for mentions: an unlisted bot's change request drives nothing
    return ReviewTrigger(None, f"review: {event.name} {event.action or event.activity} with review enabled")


__all__ = ["AUTO_ACTIVITIES", "ReviewTrigger", "review_request", "review_trigger"]
