"""GitLab hook payloads ⇒ the shared ``Event`` model (AI flow variables: ``events/gitlab_flow.py``).

Pure: no API calls, no environment reads. Payloads are untrusted and vary with the GitLab
version, so every key is optional: a missing or oddly typed value becomes ``None`` (or empty),
never an exception. Whether an event *triggers* is ``triggers.py``'s business; this module says
what happened, in the neutral words it reads.

``Event.name`` is the payload's ``object_kind`` (what ``claude-runner explain`` prints as
``event``); ``Event.action`` is the payload's own ``object_attributes.action``:

- ``note`` (Note Hook, Confidential Note Hook) on a ``MergeRequest`` or an ``Issue``: kind
  ``comment`` (``review_comment`` for a diff note), activity ``created`` for ``action: create`` and
  ``edited`` for ``update``. System notes ("added label ~bug") and notes on commits, snippets or
  anything else are ``NotSupported``.
- ``merge_request`` and ``issue``: the activity comes from the action and, for ``update``, from what
  changed (``oldrev`` ⇒ ``updated``, a label or assignee added ⇒ ``labeled`` / ``assigned``, ...).
- any other kind (``pipeline``, ``push``, ``build``, ...): ``NotSupported``.

Confidential issues and internal (confidential) notes set ``Event.confidential``; the decision is
the same, the flow keeps their text out of public places.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from runner.errors import UsageError
from runner.events import Activity, CIRun, Comment, Event, NotSupported, Repository
from runner.events.gitlab_fields import (
    NOTEABLES,
    as_dict,
    as_int,
    as_str,
    entity_fields,
    label_titles,
    merge_request_fields,
    noteable_reason,
    user_actor,
    usernames,
    utc_timestamp,
)
from runner.events.payload import read_payload_file

PLATFORM = "gitlab"
SUPPORTED_KINDS = ("note", "merge_request", "issue")

_NOTE_ACTIVITY: dict[str, Activity] = {"create": "created", "update": "edited"}
_OPEN_ACTIVITY: dict[str, Activity] = {"open": "opened", "reopen": "reopened"}


def load_gitlab_event(
    path: Path | str,
    *,
    ci_run: CIRun | None = None,
    event_name: str | None = None,
    label_trigger: str | None = None,
    assignee_trigger: str | None = None,
) -> Event | NotSupported:
    """Read a hook payload file and parse it (see ``parse_gitlab_event``).

    ``event_name``, if given, is the ``X-Gitlab-Event`` header (``"Note Hook"``) or an object kind
    (``"note"``) and must agree with the payload. Raises ``UsageError`` (one line) when the file is
    missing, unreadable, not JSON, not a JSON object, or of another kind than ``event_name``.
    """
    payload = read_payload_file(Path(path))
    check_hook_kind(payload, event_name, path)
    return parse_gitlab_event(
        payload,
        hook=event_name,
        ci_run=ci_run,
        label_trigger=label_trigger,
        assignee_trigger=assignee_trigger,
    )


def check_hook_kind(payload: Mapping[str, Any], event_name: str | None, path: Path | str) -> None:
    """A ``UsageError`` when ``event_name`` (a header or object kind) disagrees with the payload."""
    kind = as_str(payload.get("object_kind"))
    if event_name and kind and hook_kind(event_name) != kind:
        raise UsageError(
            f"event file {path} holds a '{kind}' hook, not '{event_name}'",
            "drop --event-name for GitLab: the payload's object_kind says what it is",
        )


def parse_gitlab_event(
    payload: Mapping[str, Any],
    *,
    hook: str | None = None,
    ci_run: CIRun | None = None,
    label_trigger: str | None = None,
    assignee_trigger: str | None = None,
) -> Event | NotSupported:
    """Normalise one GitLab hook payload (see the module doc for what becomes what).

    ``hook`` is the ``X-Gitlab-Event`` header when known: ``Confidential ... Hook`` marks the event
    confidential, and it names hooks whose payload has no ``object_kind``. ``ci_run``, if given, is
    the CI job we run in (``events.gitlab_flow.gitlab_ci_run``), for the link to it.

    GitLab reports several changes in one ``update`` hook (GitHub sends one ``labeled`` event per
    label), so ``label_trigger`` and ``assignee_trigger`` say which added label or assignee to
    report when several were added, and make that one win over the action (an MR opened with the
    trigger label is ``labeled``). Without them the first added one is reported.
    """
    attrs = as_dict(payload.get("object_attributes"))
    action = as_str(attrs.get("action"))
    kind = as_str(payload.get("object_kind")) or as_str(payload.get("event_name")) or hook_kind(hook or "")
    confidential = (
        as_str(payload.get("event_type")) in ("confidential_note", "confidential_issue")
        or (hook or "").lower().startswith("confidential")
        or any(attrs.get(key) is True for key in ("confidential", "internal"))  # internal = confidential note
        or as_dict(payload.get("issue")).get("confidential") is True  # a note on a confidential issue
    )
    if kind == "note":
        event = _note(payload, attrs, action)
    elif kind in ("merge_request", "issue"):
        event = _entity_hook(kind, payload, attrs, action, label_trigger, assignee_trigger)
    else:
        reason = f"not triggered: event '{kind}' is not supported (supported: {', '.join(SUPPORTED_KINDS)})"
        event = NotSupported(PLATFORM, kind or "unknown", action, reason, user_actor(payload.get("user")))
    if isinstance(event, NotSupported):
        return event
    return replace(event, confidential=confidential, ci_run=ci_run)


def hook_kind(hook: str) -> str:
    """The ``X-Gitlab-Event`` header as an object kind: ``"Confidential Note Hook"`` ⇒ ``"note"``.

    An object kind passes through unchanged (``"note"`` ⇒ ``"note"``).
    """
    kind = hook.strip().removesuffix(" Hook").removeprefix("Confidential ").lower().replace(" ", "_")
    return {"job": "build", "resource_access_token": "access_token"}.get(kind, kind)


# --- per hook kind --------------------------------------------------------------------------------


def _note(payload: Mapping[str, Any], attrs: Mapping[str, Any], action: str | None) -> Event | NotSupported:
    actor = user_actor(payload.get("user"))
    if attrs.get("system") is True:
        reason = "not triggered: system note (GitLab's record of an action, e.g. 'added label')"
        return NotSupported(PLATFORM, "note", action, reason, actor)
    noteable = as_str(attrs.get("noteable_type"))
    entity_type = NOTEABLES.get(noteable or "")
    if entity_type is None:
        return NotSupported(PLATFORM, "note", action, noteable_reason(noteable), actor)
    if entity_type == "change_request":
        fields = merge_request_fields(as_dict(payload.get("merge_request")), payload)
    else:
        fields = entity_fields(as_dict(payload.get("issue")), "issue", payload)
    position = as_dict(attrs.get("position"))
    comment = Comment(
        id=as_int(attrs.get("id")),
        kind="review_comment" if attrs.get("type") == "DiffNote" or position else "comment",
        body=as_str(attrs.get("note")) or "",
        author=actor.login if actor else None,
        created_at=utc_timestamp(attrs.get("created_at")),
        updated_at=utc_timestamp(attrs.get("updated_at")),
        html_url=as_str(attrs.get("url")),
        path=as_str(position.get("new_path")) or as_str(position.get("old_path")),
        line=as_int(position.get("new_line")),
        # Only a note in a thread (or on a diff line) is answered in its thread; a top-level
        # note's own "discussion" is just itself.
        thread_id=as_str(attrs.get("discussion_id"))
        if attrs.get("type") in ("DiscussionNote", "DiffNote")
        else None,
    )
    return Event(
        **_common("note", action, payload),
        kind=comment.kind,
        # Hooks from GitLab versions without note-update events carry no action: they were creates.
        activity=_NOTE_ACTIVITY.get(action or "create", "other"),
        **fields,
        trigger_text=comment.body,
        comment=comment,
    )


def _entity_hook(
    kind: str,
    payload: Mapping[str, Any],
    attrs: Mapping[str, Any],
    action: str | None,
    label_trigger: str | None,
    assignee_trigger: str | None,
) -> Event:
    is_mr = kind == "merge_request"
    fields = merge_request_fields(attrs, payload) if is_mr else entity_fields(attrs, "issue", payload)
    changes = as_dict(payload.get("changes"))
    label_change, assignee_change = as_dict(changes.get("labels")), as_dict(changes.get("assignees"))
    label, label_wanted = _pick(
        _new(label_titles(label_change.get("previous")), label_titles(label_change.get("current"))),
        label_trigger,
    )
    assignee, assignee_wanted = _pick(
        _new(usernames(assignee_change.get("previous")), usernames(assignee_change.get("current"))),
        (assignee_trigger or "").strip().removeprefix("@"),
    )
    activity: Activity
    if label_wanted:  # the trigger label or assignee is an explicit request: it wins over the action
        activity = "labeled"
    elif assignee_wanted:
        activity = "assigned"
    elif action in _OPEN_ACTIVITY:
        activity = _OPEN_ACTIVITY[action]
    elif action != "update":
        activity = "other"  # close, merge, approved, ...
    elif is_mr and as_str(attrs.get("oldrev")):  # new commits pushed
        activity = "updated"
    elif is_mr and any(
        as_dict(changes.get(key)).get("current") is False for key in ("draft", "work_in_progress")
    ):
        activity = "ready_for_review"
    elif label or assignee:
        activity = "labeled" if label else "assigned"
    else:
        activity = "edited" if changes.keys() & {"title", "description"} else "other"
    return Event(
        **_common(kind, action, payload),
        kind="change_request" if is_mr else "issue",
        activity=activity,
        **fields,
        trigger_text=fields["body"] if activity == "opened" else None,
        added_label=label,
        added_assignee=assignee,
    )


# --- pieces ---------------------------------------------------------------------------------------


def _common(name: str, action: str | None, payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "platform": PLATFORM,
        "name": name,
        "action": action,
        "repository": _repository(payload.get("project")),
        "actor": user_actor(payload.get("user")),
    }


def _new(previous: tuple[str, ...], current: tuple[str, ...]) -> list[str]:
    """Names in ``current`` but not in ``previous`` (GitLab names are case-insensitive)."""
    seen = {name.lower() for name in previous}
    return [name for name in current if name.lower() not in seen]


def _pick(added: list[str], wanted: str | None) -> tuple[str | None, bool]:
    """The added name to report (``wanted`` if it was added, else the first) and whether it is ``wanted``."""
    target = (wanted or "").strip().lower()
    match = next((name for name in added if target and name.strip().lower() == target), None)
    return (match, True) if match else (added[0] if added else None, False)


def _repository(raw: object) -> Repository | None:
    project = as_dict(raw)
    full_name = as_str(project.get("path_with_namespace"))
    if not full_name:
        return None
    owner, _, name = full_name.rpartition("/")  # owner: the full namespace, subgroups included
    level, visibility = as_int(project.get("visibility_level")), as_str(project.get("visibility"))
    # Internal (10) is not world-readable either: only public (20) counts as not private.
    private = level != 20 if level is not None else (visibility != "public" if visibility else None)
    return Repository(
        owner=owner,
        name=name,
        full_name=full_name,
        default_branch=as_str(project.get("default_branch")),
        clone_url=as_str(project.get("git_http_url")) or as_str(project.get("http_url")),
        html_url=as_str(project.get("web_url")),
        private=private,
    )
