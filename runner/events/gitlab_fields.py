"""GitLab's objects in hook payloads and AI flow contexts (users, issues, merge requests) ⇒ ``Event`` fields.

Shared by ``events/gitlab.py`` (hooks) and ``events/gitlab_flow.py`` (AI flow variables), which read
the same objects. Payloads are untrusted and vary with the GitLab version: every accessor reads a
missing or oddly typed value as absent, never raises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from runner.events import Actor, ChangeRequest, EntityType

NOTEABLES: dict[str, EntityType] = {"MergeRequest": "change_request", "Issue": "issue"}
# Project/group access-token users are "project_<id>_bot_<hash>" (older: "project_<id>_bot");
# other service users end in "_bot"; GitLab's own internal bots in "-bot" (support-bot, alert-bot).
_BOT_USERNAME = re.compile(r"^(?:project|group)_\d+_bot|[_-]bot$", re.IGNORECASE)


def entity_fields(entity: Mapping[str, Any], entity_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Fields shared by issues and merge requests; hooks also list labels/assignees at the top level."""
    labels = entity.get("labels") if isinstance(entity.get("labels"), list) else payload.get("labels")
    # Note hooks' merge_request/issue objects carry no url: build GitLab's page address instead.
    web_url, iid = as_str(as_dict(payload.get("project")).get("web_url")), as_int(entity.get("iid"))
    path = "merge_requests" if entity_type == "change_request" else "issues"
    page = f"{web_url.rstrip('/')}/-/{path}/{iid}" if web_url and iid is not None else None
    assignees = entity.get("assignees") or payload.get("assignees") or [entity.get("assignee")]
    return {
        "entity_type": entity_type,
        "number": iid,
        "title": as_str(entity.get("title")),
        "body": as_str(entity.get("description")),
        "labels": label_titles(labels),
        "assignees": usernames(assignees),
        "html_url": as_str(entity.get("url")) or as_str(entity.get("web_url")) or page,
    }


def merge_request_fields(mr: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    """``entity_fields`` plus the ``ChangeRequest``: branches, fork or not, draft, state."""
    fields = entity_fields(mr, "change_request", payload)
    head_repo = as_str(as_dict(mr.get("source")).get("path_with_namespace"))
    base_repo = as_str(as_dict(mr.get("target")).get("path_with_namespace")) or as_str(
        as_dict(payload.get("project")).get("path_with_namespace")
    )
    source_id, target_id = as_int(mr.get("source_project_id")), as_int(mr.get("target_project_id"))
    if source_id is not None and target_id is not None:
        is_fork = source_id != target_id
    elif head_repo and base_repo:
        is_fork = head_repo.lower() != base_repo.lower()
    else:
        is_fork = bool(mr)  # cannot tell where the code lives: treat it as untrusted
    state = as_str(mr.get("state"))
    fields["change_request"] = ChangeRequest(
        head_ref=as_str(mr.get("source_branch")),
        head_sha=as_str(as_dict(mr.get("last_commit")).get("id")),
        head_repo=head_repo or (base_repo if not is_fork else None),
        base_ref=as_str(mr.get("target_branch")),
        is_fork=is_fork,
        draft=mr.get("draft") is True or mr.get("work_in_progress") is True,
        state="open" if state == "opened" else state,  # GitHub's word, so both platforms compare equal
    )
    return fields


def label_titles(value: object) -> tuple[str, ...]:
    """Label titles from a list of label objects (or of plain names, as some versions send)."""
    items = (x if isinstance(x, str) else as_str(as_dict(x).get("title")) for x in as_list(value))
    return tuple(name for name in items if name)


def usernames(value: object) -> tuple[str, ...]:
    """The usernames in a list of user objects."""
    return tuple(name for name in (as_str(as_dict(x).get("username")) for x in as_list(value)) if name)


def user_actor(raw: object) -> Actor | None:
    """The ``Actor`` of a GitLab user object (``None`` without a username); bots by flag or name."""
    user = as_dict(raw)
    username = as_str(user.get("username"))
    if not username:
        return None
    is_bot = user.get("bot") is True or bool(_BOT_USERNAME.search(username))
    return Actor(username, "Bot" if is_bot else "User", as_int(user.get("id")))


def noteable_reason(noteable: str | None) -> str:
    """Why a note on ``noteable`` (a type other than merge request or issue) is not acted on."""
    return (
        f"not triggered: notes on noteable type '{noteable or 'unknown'}' are not supported "
        "(only MergeRequest and Issue)"
    )


def utc_timestamp(value: object) -> str | None:
    """ISO 8601 in UTC with a ``Z``: ``"2015-05-17 18:21:36 UTC"`` ⇒ ``"2015-05-17T18:21:36Z"``."""
    text = as_str(value)
    if not text:
        return None
    cleaned = re.sub(r"\s*(?:UTC|Z)$", "+00:00", text.strip())
    cleaned = re.sub(r"\s+([+-]\d\d:?\d\d)$", r"\1", cleaned)
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        return None  # unreadable times would break the edited-after-trigger comparison later
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def as_dict(value: object) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else empty."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: object) -> list[Any]:
    """``value`` if it is a list, else empty."""
    return value if isinstance(value, list) else []


def as_str(value: object) -> str | None:
    """``value`` if it is a string, else ``None``."""
    return value if isinstance(value, str) else None


def as_int(value: object, *, digits: bool = False) -> int | None:
    """An int (never a bool); with ``digits``, also a string of digits (CI variables are strings)."""
    if digits and isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
