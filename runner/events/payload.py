"""Reading a webhook payload file, the same way for every platform."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.errors import UsageError


def read_payload_file(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; a one-line ``UsageError`` when it is missing, unreadable, not
    JSON, or not a JSON object."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"event file {path} does not exist", "pass the webhook payload file") from None
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"event file {path} is not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})",
            "save the payload as UTF-8 JSON, as GitHub and GitLab send it",
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot read event file {path}: {exc.strerror or exc}") from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"event file {path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(payload, dict):
        raise UsageError(f"event file {path} does not hold a JSON object")
    return payload


# Keys only one platform's payloads have at their top level.
_GITLAB_KEYS = ("object_kind", "object_attributes", "event_name", "event_type")
# A GitHub payload's top-level key ⇒ the event it belongs to (the first match wins).
_GITHUB_EVENTS = (
    (("comment", "issue"), "issue_comment"),
    (("comment", "pull_request"), "pull_request_review_comment"),
    (("review", "pull_request"), "pull_request_review"),
    (("pull_request",), "pull_request"),
    (("issue",), "issues"),
    (("workflow_run",), "workflow_run"),
    (("client_payload",), "repository_dispatch"),
    (("inputs",), "workflow_dispatch"),
)


def payload_platform(payload: Mapping[str, Any]) -> str | None:
    """Whose payload this looks like: ``gitlab`` (an ``object_kind``), ``github`` (a ``sender``
    with a ``login``, or a repository with a ``full_name``), or None when it says neither."""
    if any(key in payload for key in _GITLAB_KEYS):
        return "gitlab"
    sender, repository = payload.get("sender"), payload.get("repository")
    if (isinstance(sender, Mapping) and "login" in sender) or (
        isinstance(repository, Mapping) and "full_name" in repository
    ):
        return "github"
    return None


def github_event_name(payload: Mapping[str, Any]) -> str | None:
    """The GitHub event a payload most likely came with (``issue_comment``, ...), if it says."""
    for keys, name in _GITHUB_EVENTS:
        if all(key in payload for key in keys):
            return name
    return None
