"""GitLab hook payloads, and GitLab AI flow variables (``AI_FLOW_*``) ⇒ the shared ``Event`` model.

Pure: no API calls, no environment reads unless an ``env`` mapping is passed in. Payloads are
untrusted and vary with the GitLab version, so every key is optional: a missing or oddly typed
value becomes ``None`` (or empty), never an exception. Whether an event *triggers* is
``triggers.py``'s business; this module says what happened, in the neutral words it reads.

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

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.errors import UsageError
from runner.events import (
    Activity,
    Actor,
    ChangeRequest,
    CIRun,
    Comment,
    EntityType,
    Event,
    NotSupported,
    Repository,
)
from runner.events.payload import read_payload_file

PLATFORM = "gitlab"
SUPPORTED_KINDS = ("note", "merge_request", "issue")

_NOTEABLES: dict[str, EntityType] = {"MergeRequest": "change_request", "Issue": "issue"}
_NOTE_ACTIVITY: dict[str, Activity] = {"create": "created", "update": "edited"}
_OPEN_ACTIVITY: dict[str, Activity] = {"open": "opened", "reopen": "reopened"}
# Project/group access-token users are "project_<id>_bot_<hash>" (older: "project_<id>_bot");
# other service users end in "_bot"; GitLab's own internal bots in "-bot" (support-bot, alert-bot).
_BOT_USERNAME = re.compile(r"^(?:project|group)_\d+_bot|[_-]bot$", re.IGNORECASE)
# AI_FLOW_CONTEXT "trigger" (set by our listener) ⇒ the activity of the event it stands for.
_FLOW_TRIGGERS: dict[str, Activity] = {"mention": "created", "label": "labeled", "assignee": "assigned"}


def load_gitlab_event(
    path: Path | str,
    env: Mapping[str, str] | None = None,
    *,
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
    kind = _str(payload.get("object_kind"))
    if event_name and kind and hook_kind(event_name) != kind:
        raise UsageError(
            f"event file {path} holds a '{kind}' hook, not '{event_name}'",
            "drop --event-name for GitLab: the payload's object_kind says what it is",
        )
    return parse_gitlab_event(
        payload, hook=event_name, env=env, label_trigger=label_trigger, assignee_trigger=assignee_trigger
    )


def parse_gitlab_event(
    payload: Mapping[str, Any],
    *,
    hook: str | None = None,
    env: Mapping[str, str] | None = None,
    label_trigger: str | None = None,
    assignee_trigger: str | None = None,
) -> Event | NotSupported:
    """Normalise one GitLab hook payload (see the module doc for what becomes what).

    ``hook`` is the ``X-Gitlab-Event`` header when known: ``Confidential ... Hook`` marks the event
    confidential, and it names hooks whose payload has no ``object_kind``. ``env``, if given,
    supplies ``CI_JOB_ID``/``CI_JOB_URL`` (or the pipeline's) for the link to this CI run.

    GitLab reports several changes in one ``update`` hook (GitHub sends one ``labeled`` event per
    label), so ``label_trigger`` and ``assignee_trigger`` say which added label or assignee to
    report when several were added, and make that one win over the action (an MR opened with the
    trigger label is ``labeled``). Without them the first added one is reported.
    """
    attrs = _dict(payload.get("object_attributes"))
    action = _str(attrs.get("action"))
    kind = _str(payload.get("object_kind")) or _str(payload.get("event_name")) or hook_kind(hook or "")
    confidential = (
        _str(payload.get("event_type")) in ("confidential_note", "confidential_issue")
        or (hook or "").lower().startswith("confidential")
        or any(attrs.get(key) is True for key in ("confidential", "internal"))  # internal = confidential note
        or _dict(payload.get("issue")).get("confidential") is True  # a note on a confidential issue
    )
    if kind == "note":
        event = _note(payload, attrs, action)
    elif kind in ("merge_request", "issue"):
        event = _entity_hook(kind, payload, attrs, action, label_trigger, assignee_trigger)
    else:
        reason = f"not triggered: event '{kind}' is not supported (supported: {', '.join(SUPPORTED_KINDS)})"
        event = NotSupported(PLATFORM, kind or "unknown", action, reason, _actor(payload.get("user")))
    if isinstance(event, NotSupported):
        return event
    return replace(event, confidential=confidential, ci_run=_ci_run(env) if env is not None else None)


def hook_kind(hook: str) -> str:
    """The ``X-Gitlab-Event`` header as an object kind: ``"Confidential Note Hook"`` ⇒ ``"note"``.

    An object kind passes through unchanged (``"note"`` ⇒ ``"note"``).
    """
    kind = hook.strip().removesuffix(" Hook").removeprefix("Confidential ").lower().replace(" ", "_")
    return {"job": "build", "resource_access_token": "access_token"}.get(kind, kind)


def gitlab_event_from_ci(env: Mapping[str, str]) -> Event | NotSupported:
    """The event a GitLab AI flow job was started for, from its ``AI_FLOW_*`` variables.

    Two writers set these: GitLab's own flows (``AI_FLOW_EVENT=mention``, ``AI_FLOW_INPUT`` the
    comment text) and our listener, ``runner/webhook/decision.py`` (``AI_FLOW_EVENT`` the hook's object kind,
    ``trigger`` in the context). ``AI_FLOW_EVENT`` ``mention``, ``note`` or empty, or a context
    ``trigger`` of ``mention``, builds a note event (``name`` the object kind or ``note``, action
    ``create``) whose text is ``AI_FLOW_INPUT``; ``trigger`` ``label`` / ``assignee`` builds a
    ``labeled`` / ``assigned`` event on the entity. ``AI_FLOW_CONTEXT`` is a JSON object, read liberally:

    - ``project``: ``"group/proj"``, a numeric id, or ``{"path_with_namespace": ...}``; falls back to
      ``CI_PROJECT_PATH``;
    - ``noteable_type``: ``MergeRequest`` / ``merge_request`` / ``Issue`` / ``issue``;
    - ``noteable_iid`` (or ``iid``, ``merge_request_iid``, ``issue_iid``, which also give the type);
    - ``note_id``, ``discussion_id`` (the thread to answer in: ``Comment.thread_id``), ``author``
      (a username or ``{"username": ..., "id": ..., "bot": ...}``), ``created_at``, ``confidential``;
    - ``trigger`` (``mention`` | ``label`` | ``assignee``), ``label``, ``assignee``;
    - the parent object itself, as GitLab serialises it (``iid``, ``title``, ``description``,
      ``source_branch`` ...), top level or under ``merge_request`` / ``issue``: its fields fill
      the entity like a Note Hook's.

    Raises ``UsageError`` when neither ``AI_FLOW_INPUT`` nor ``AI_FLOW_CONTEXT`` is set, or the
    context is not a JSON object.
    """
    raw, text = env.get("AI_FLOW_CONTEXT", ""), env.get("AI_FLOW_INPUT")
    if not raw.strip() and text is None:
        raise UsageError(
            "no GitLab AI flow event: AI_FLOW_INPUT and AI_FLOW_CONTEXT are not set",
            "run in a GitLab AI flow job, or pass a hook payload file",
        )
    try:
        context = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        raise UsageError(f"AI_FLOW_CONTEXT is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(context, dict):
        raise UsageError("AI_FLOW_CONTEXT does not hold a JSON object")
    author = context.get("author") or context.get("author_username") or context.get("user")
    actor = _actor(author if isinstance(author, Mapping) else {"username": author})
    flow_event = (env.get("AI_FLOW_EVENT") or "").strip()
    trigger = _str(context.get("trigger")) or "mention"
    reason = None
    if flow_event.lower() not in ("", "mention", *SUPPORTED_KINDS):
        supported = ", ".join(("mention", *SUPPORTED_KINDS))
        reason = f"AI_FLOW_EVENT '{flow_event}' is not supported (supported: {supported})"
    elif trigger not in _FLOW_TRIGGERS:
        reason = (
            f"AI_FLOW_CONTEXT trigger '{trigger}' is not supported (supported: {', '.join(_FLOW_TRIGGERS)})"
        )
    if reason:
        return NotSupported(PLATFORM, flow_event, None, f"not triggered: {reason}", actor)
    noteable, parent = _flow_noteable(context)
    entity_type = _NOTEABLES.get(noteable or "")
    if entity_type is None:
        return NotSupported(PLATFORM, "note", "create", _noteable_reason(noteable), actor)
    fields = _merge_request(parent, {}) if entity_type == "change_request" else _entity(parent, "issue", {})
    iids = (context.get(key) for key in ("noteable_iid", "merge_request_iid", "issue_iid", "iid"))
    fields["number"] = next(
        (n for n in (_int(v, digits=True) for v in (*iids, parent.get("iid"))) if n), None
    )
    common: dict[str, Any] = {
        "platform": PLATFORM,
        "name": flow_event if flow_event in SUPPORTED_KINDS else "note",
        "repository": _flow_repository(context.get("project") or context.get("project_path"), env),
        "actor": actor,
        **fields,
        "confidential": parent.get("confidential") is True or context.get("confidential") is True,
        "ci_run": _ci_run(env),
    }
    if trigger != "mention":
        return Event(
            **common,
            action=_str(context.get("action")),
            kind=entity_type,
            activity=_FLOW_TRIGGERS[trigger],
            added_label=_str(context.get("label")),
            added_assignee=_str(context.get("assignee")),
        )
    body = text if text is not None else _str(context.get("note")) or ""
    comment = Comment(
        id=_int(context.get("note_id"), digits=True),
        kind="comment",
        body=body,
        author=actor.login if actor else None,
        created_at=_timestamp(context.get("created_at")),
        thread_id=_str(context.get("discussion_id")),
    )
    return Event(
        **common, action="create", kind="comment", activity="created", trigger_text=body, comment=comment
    )


# --- per hook kind --------------------------------------------------------------------------------


def _note(payload: Mapping[str, Any], attrs: Mapping[str, Any], action: str | None) -> Event | NotSupported:
    actor = _actor(payload.get("user"))
    if attrs.get("system") is True:
        reason = "not triggered: system note (GitLab's record of an action, e.g. 'added label')"
        return NotSupported(PLATFORM, "note", action, reason, actor)
    noteable = _str(attrs.get("noteable_type"))
    entity_type = _NOTEABLES.get(noteable or "")
    if entity_type is None:
        return NotSupported(PLATFORM, "note", action, _noteable_reason(noteable), actor)
    if entity_type == "change_request":
        fields = _merge_request(_dict(payload.get("merge_request")), payload)
    else:
        fields = _entity(_dict(payload.get("issue")), "issue", payload)
    position = _dict(attrs.get("position"))
    comment = Comment(
        id=_int(attrs.get("id")),
        kind="review_comment" if attrs.get("type") == "DiffNote" or position else "comment",
        body=_str(attrs.get("note")) or "",
        author=actor.login if actor else None,
        created_at=_timestamp(attrs.get("created_at")),
        updated_at=_timestamp(attrs.get("updated_at")),
        html_url=_str(attrs.get("url")),
        path=_str(position.get("new_path")) or _str(position.get("old_path")),
        line=_int(position.get("new_line")),
        # Only a note in a thread (or on a diff line) is answered in its thread; a top-level
        # note's own "discussion" is just itself.
        thread_id=_str(attrs.get("discussion_id"))
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
    fields = _merge_request(attrs, payload) if is_mr else _entity(attrs, "issue", payload)
    changes = _dict(payload.get("changes"))
    label_change, assignee_change = _dict(changes.get("labels")), _dict(changes.get("assignees"))
    label, label_wanted = _pick(
        _new(_labels(label_change.get("previous")), _labels(label_change.get("current"))), label_trigger
    )
    assignee, assignee_wanted = _pick(
        _new(_users(assignee_change.get("previous")), _users(assignee_change.get("current"))),
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
    elif is_mr and _str(attrs.get("oldrev")):  # new commits pushed
        activity = "updated"
    elif is_mr and any(_dict(changes.get(k)).get("current") is False for k in ("draft", "work_in_progress")):
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
        "actor": _actor(payload.get("user")),
    }


def _entity(entity: Mapping[str, Any], entity_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Fields shared by issues and merge requests; hooks also list labels/assignees at the top level."""
    labels = entity.get("labels") if isinstance(entity.get("labels"), list) else payload.get("labels")
    # Note hooks' merge_request/issue objects carry no url: build GitLab's page address instead.
    web_url, iid = _str(_dict(payload.get("project")).get("web_url")), _int(entity.get("iid"))
    path = "merge_requests" if entity_type == "change_request" else "issues"
    page = f"{web_url.rstrip('/')}/-/{path}/{iid}" if web_url and iid is not None else None
    assignees = entity.get("assignees") or payload.get("assignees") or [entity.get("assignee")]
    return {
        "entity_type": entity_type,
        "number": iid,
        "title": _str(entity.get("title")),
        "body": _str(entity.get("description")),
        "labels": _labels(labels),
        "assignees": _users(assignees),
        "html_url": _str(entity.get("url")) or _str(entity.get("web_url")) or page,
    }


def _merge_request(mr: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    fields = _entity(mr, "change_request", payload)
    head_repo = _str(_dict(mr.get("source")).get("path_with_namespace"))
    base_repo = _str(_dict(mr.get("target")).get("path_with_namespace")) or _str(
        _dict(payload.get("project")).get("path_with_namespace")
    )
    source_id, target_id = _int(mr.get("source_project_id")), _int(mr.get("target_project_id"))
    if source_id is not None and target_id is not None:
        is_fork = source_id != target_id
    elif head_repo and base_repo:
        is_fork = head_repo.lower() != base_repo.lower()
    else:
        is_fork = bool(mr)  # cannot tell where the code lives: treat it as untrusted
    state = _str(mr.get("state"))
    fields["change_request"] = ChangeRequest(
        head_ref=_str(mr.get("source_branch")),
        head_sha=_str(_dict(mr.get("last_commit")).get("id")),
        head_repo=head_repo or (base_repo if not is_fork else None),
        base_ref=_str(mr.get("target_branch")),
        is_fork=is_fork,
        draft=mr.get("draft") is True or mr.get("work_in_progress") is True,
        state="open" if state == "opened" else state,  # GitHub's word, so both platforms compare equal
    )
    return fields


def _new(previous: tuple[str, ...], current: tuple[str, ...]) -> list[str]:
    """Names in ``current`` but not in ``previous`` (GitLab names are case-insensitive)."""
    seen = {name.lower() for name in previous}
    return [name for name in current if name.lower() not in seen]


def _pick(added: list[str], wanted: str | None) -> tuple[str | None, bool]:
    """The added name to report (``wanted`` if it was added, else the first) and whether it is ``wanted``."""
    target = (wanted or "").strip().lower()
    match = next((name for name in added if target and name.strip().lower() == target), None)
    return (match, True) if match else (added[0] if added else None, False)


def _labels(value: object) -> tuple[str, ...]:
    """Label titles from a list of label objects (or of plain names, as some versions send)."""
    items = (x if isinstance(x, str) else _str(_dict(x).get("title")) for x in _list(value))
    return tuple(name for name in items if name)


def _users(value: object) -> tuple[str, ...]:
    return tuple(name for name in (_str(_dict(x).get("username")) for x in _list(value)) if name)


def _repository(raw: object) -> Repository | None:
    project = _dict(raw)
    full_name = _str(project.get("path_with_namespace"))
    if not full_name:
        return None
    owner, _, name = full_name.rpartition("/")  # owner: the full namespace, subgroups included
    level, visibility = _int(project.get("visibility_level")), _str(project.get("visibility"))
    # Internal (10) is not world-readable either: only public (20) counts as not private.
    private = level != 20 if level is not None else (visibility != "public" if visibility else None)
    return Repository(
        owner=owner,
        name=name,
        full_name=full_name,
        default_branch=_str(project.get("default_branch")),
        clone_url=_str(project.get("git_http_url")) or _str(project.get("http_url")),
        html_url=_str(project.get("web_url")),
        private=private,
    )


def _actor(raw: object) -> Actor | None:
    user = _dict(raw)
    username = _str(user.get("username"))
    if not username:
        return None
    is_bot = user.get("bot") is True or bool(_BOT_USERNAME.search(username))
    return Actor(username, "Bot" if is_bot else "User", _int(user.get("id")))


def _noteable_reason(noteable: str | None) -> str:
    return (
        f"not triggered: notes on noteable type '{noteable or 'unknown'}' are not supported "
        "(only MergeRequest and Issue)"
    )


def _flow_noteable(context: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    """The noteable type (``MergeRequest`` / ``Issue``) and the parent object of an AI flow context."""
    given = _str(context.get("noteable_type")) or _str(context.get("resource_type"))
    spellings = {"mergerequest": "MergeRequest", "issue": "Issue"}
    noteable = spellings.get((given or "").replace("_", "").replace(" ", "").lower(), given)
    if noteable is None:  # no type given: infer it from what the context holds
        if {"merge_request", "merge_request_iid", "source_branch"} & context.keys():
            noteable = "MergeRequest"
        elif {"issue", "issue_iid"} & context.keys():
            noteable = "Issue"
    parent = context.get({"MergeRequest": "merge_request", "Issue": "issue"}.get(noteable or "", ""))
    return noteable, parent if isinstance(parent, Mapping) else context


def _flow_repository(project: object, env: Mapping[str, str]) -> Repository | None:
    path = _str(project) or _str(_dict(project).get("path_with_namespace")) or env.get("CI_PROJECT_PATH")
    if not path or path.isdigit():  # only a numeric id: no path to name the repository by
        return None
    owner, _, name = path.rpartition("/")
    visibility = env.get("CI_PROJECT_VISIBILITY")
    return Repository(
        owner=owner,
        name=name,
        full_name=path,
        default_branch=env.get("CI_DEFAULT_BRANCH") or None,
        html_url=env.get("CI_PROJECT_URL") or None,
        private=visibility != "public" if visibility else None,
    )


def _ci_run(env: Mapping[str, str]) -> CIRun | None:
    run_id = env.get("CI_JOB_ID") or env.get("CI_PIPELINE_ID") or None
    url = env.get("CI_JOB_URL") or env.get("CI_PIPELINE_URL") or None
    return CIRun(run_id, url) if run_id or url else None


def _timestamp(value: object) -> str | None:
    """ISO 8601 in UTC with a ``Z``: ``"2015-05-17 18:21:36 UTC"`` ⇒ ``"2015-05-17T18:21:36Z"``."""
    text = _str(value)
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


# --- tolerant accessors: wrong types read as absent -----------------------------------------------


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object, *, digits: bool = False) -> int | None:
    """An int (never a bool); with ``digits``, also a string of digits (CI variables are strings)."""
    if digits and isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
