"""What a requester the runner refuses hears: one short reply where they asked, and a line in the
step summary (GitHub) or the job log (GitLab).

The reply says why in the platform's words and nothing more (no levels, no internals). It is
never sent to a bot, never in answer to the runner's own reply (a personal token's replies are a
user's comments: they could start a loop), never when it would itself mention the trigger phrase,
and at most once per event: a re-run of the job finds its marker and stays silent.
"""

from __future__ import annotations

from runner.errors import RunnerError
from runner.events import Event
from runner.flow.job import Job
from runner.platforms.base import Platform
from runner.sanitize import Redactor
from runner.settings.flow import FlowSettings
from runner.triggers import find_mention

MARKER = "<!-- claude-runner:refused"  # the reply's hidden marker; the event's key follows it
_GITHUB_ACCESS = {"write": "write access", "maintain": "maintain access", "admin": "admin access"}
_GITLAB_ROLES = {
    "none": "no role",
    "read": "the Guest role",
    "triage": "the Reporter role",
    "write": "the Developer role",
    "maintain": "the Maintainer role",
    "admin": "the Owner role",
}


def access_words(platform: str, level: str) -> str:
    """A permission level as the platform names it: ``write access``, ``the Developer role``."""
    if platform == "gitlab":
        return _GITLAB_ROLES.get(level, f"the {level} role")
    return _GITHUB_ACCESS.get(level, f"{level} permission")


def access_reason(platform: str, login: str, level: str, required: str, allowed: bool) -> str:
    """Why ``login`` may or may not ask, for the job log: ``alice has the Reporter role; at least
    the Developer role is required``."""
    has = f"{login} has {access_words(platform, level)}"
    return has if allowed else f"{has}; at least {access_words(platform, required)} is required"


def reply_text(login: str, platform: str, required: str, phrase: str) -> str | None:
    """The short reply to ``login`` (None when every wording would mention ``phrase`` again)."""
    if platform == "gitlab":
        who = f"members with {access_words(platform, required)} or higher"
    else:
        who = f"people with {access_words(platform, required)}"
    reason = f"only {who} can ask Claude here."
    for text in (f"@{login}, {reason}", reason[0].upper() + reason[1:]):
        if find_mention(text, phrase) is None:  # the reply must never trigger a run itself
            return text
    return None


def reply_marker(key: str) -> str:
    """The hidden marker of the reply to the event ``key`` (``event_key``)."""
    return f"{MARKER} {key} -->"


def event_key(event: Event) -> str:
    """What makes one event's reply unique in its thread: the comment, or the event and action."""
    if event.comment is not None and event.comment.id is not None:
        return f"{event.comment.kind}-{event.comment.id}"
    return f"{event.name}-{event.action or event.activity}"


def why_not_reply(event: Event, enabled: bool, asked: bool = True) -> str | None:
    """Why no reply is posted for this refused event (None: reply); ``asked``: a mention, label or
    assignee asked for the run (an automatic review or prompt run asked nobody)."""
    if not asked:
        return "nobody asked: the run was automatic"
    if not enabled:
        return f"{'REPLY_TO_REFUSED' if event.platform == 'gitlab' else 'reply_to_refused'} is false"
    if event.number is None:
        return "the event has no issue or change request to reply on"
    if event.actor is None or event.actor.is_bot:
        return "bots get no reply"
    if event.comment is not None and MARKER in event.comment.body:
        return "the comment is the runner's own reply"
    return None


def reply_to_refused(
    platform: Platform,
    event: Event,
    *,
    enabled: bool,
    asked: bool = True,
    required: str,
    phrase: str,
    job: Job,
    redactor: Redactor,
) -> str:
    """Post the refusal reply unless ``why_not_reply`` says not to; returns what happened, one line
    for the summary. A failure to post is a warning: the run was refused either way."""
    skip = why_not_reply(event, enabled, asked)
    text = None
    if skip is None and event.actor is not None:
        text = reply_text(event.actor.login, event.platform, required, phrase)
        if text is None:
            skip = "every wording of the reply would mention the trigger phrase"
    if text is None or event.number is None:
        return f"No reply was posted: {skip}."
    marker = reply_marker(event_key(event))
    where = _entity_noun(event)
    try:
        earlier = platform.find_comment(event.number, marker)
        if earlier is not None:
            return f"The reply was already posted on the {where}: {earlier.url}"
        posted = platform.create_comment(event.number, f"{text}\n\n{marker}")
    except RunnerError as exc:
        job.warning(f"could not reply to the refused requester: {redactor.text(exc.one_line())}")
        return f"No reply was posted: {redactor.text(exc.one_line())}."
    job.log(f"replied on the {where}: {posted.url}")
    return f"Replied on the {where}: {posted.url}"


def refuse(
    platform: Platform,
    event: Event,
    why: str,
    settings: FlowSettings,
    job: Job,
    redactor: Redactor,
    *,
    asked: bool = True,
) -> None:
    """A refused requester: the reply (unless ``reply_to_refused`` is off), and the step summary
    (GitHub) or job log (GitLab) saying why Claude did not run and whether they were told."""
    replied = reply_to_refused(
        platform,
        event,
        enabled=settings.reply_to_refused,
        asked=asked,
        required=settings.required_permission,
        phrase=settings.trigger.trigger_phrase,
        job=job,
        redactor=redactor,
    )
    job.write_summary(f"Claude did not run: {redactor.text(why)}.\n\n{replied}")


def _entity_noun(event: Event) -> str:
    if event.entity_type != "change_request":
        return "issue"
    return "merge request" if event.platform == "gitlab" else "pull request"


__all__ = [
    "access_reason",
    "access_words",
    "event_key",
    "refuse",
    "reply_marker",
    "reply_text",
    "reply_to_refused",
    "why_not_reply",
]
