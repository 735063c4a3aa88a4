"""GitLab AI flow variables (``AI_FLOW_*``) and the job's ``CI_*`` links ⇒ the shared ``Event`` model.

Pure: the variables come in as a ``GitLabCiVariables`` value (``runner/settings/gitlab.py`` reads
them); no API calls. The context is untrusted JSON, read as liberally as a hook payload.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from runner.errors import UsageError
from runner.events import Activity, CIRun, Comment, Event, NotSupported, Repository
from runner.events.gitlab import PLATFORM, SUPPORTED_KINDS
from runner.events.gitlab_fields import (
    NOTEABLES,
    as_dict,
    as_int,
    as_str,
    entity_fields,
    merge_request_fields,
    noteable_reason,
    user_actor,
    utc_timestamp,
)
from runner.settings.gitlab import GitLabCiVariables

# AI_FLOW_CONTEXT "trigger" (set by our listener) ⇒ the activity of the event it stands for.
_FLOW_TRIGGERS: dict[str, Activity] = {"mention": "created", "label": "labeled", "assignee": "assigned"}


def gitlab_event_from_ci(variables: GitLabCiVariables) -> Event | NotSupported:
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
    raw, text = variables.ai_flow_context, variables.ai_flow_input
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
    actor = user_actor(author if isinstance(author, Mapping) else {"username": author})
    flow_event = variables.ai_flow_event
    trigger = as_str(context.get("trigger")) or "mention"
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
    entity_type = NOTEABLES.get(noteable or "")
    if entity_type is None:
        return NotSupported(PLATFORM, "note", "create", noteable_reason(noteable), actor)
    fields = (
        merge_request_fields(parent, {})
        if entity_type == "change_request"
        else entity_fields(parent, "issue", {})
    )
    iids = (context.get(key) for key in ("noteable_iid", "merge_request_iid", "issue_iid", "iid"))
    fields["number"] = next(
        (n for n in (as_int(v, digits=True) for v in (*iids, parent.get("iid"))) if n), None
    )
    common: dict[str, Any] = {
        "platform": PLATFORM,
        "name": flow_event if flow_event in SUPPORTED_KINDS else "note",
        "repository": _flow_repository(context.get("project") or context.get("project_path"), variables),
        "actor": actor,
        **fields,
        "confidential": parent.get("confidential") is True or context.get("confidential") is True,
        "ci_run": gitlab_ci_run(variables),
    }
    if trigger != "mention":
        return Event(
            **common,
            action=as_str(context.get("action")),
            kind=entity_type,
            activity=_FLOW_TRIGGERS[trigger],
            added_label=as_str(context.get("label")),
            added_assignee=as_str(context.get("assignee")),
        )
    body = text if text is not None else as_str(context.get("note")) or ""
    comment = Comment(
        id=as_int(context.get("note_id"), digits=True),
        kind="comment",
        body=body,
        author=actor.login if actor else None,
        created_at=utc_timestamp(context.get("created_at")),
        thread_id=as_str(context.get("discussion_id")),
    )
    return Event(
        **common, action="create", kind="comment", activity="created", trigger_text=body, comment=comment
    )


def gitlab_ci_run(variables: GitLabCiVariables) -> CIRun | None:
    """The CI job we run in (``CI_JOB_ID``/``CI_JOB_URL``, else the pipeline's), for "view the run" links."""
    run_id = variables.job_id or variables.pipeline_id or None
    url = variables.job_url or variables.pipeline_url or None
    return CIRun(run_id, url) if run_id or url else None


def _flow_noteable(context: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    """The noteable type (``MergeRequest`` / ``Issue``) and the parent object of an AI flow context."""
    given = as_str(context.get("noteable_type")) or as_str(context.get("resource_type"))
    spellings = {"mergerequest": "MergeRequest", "issue": "Issue"}
    noteable = spellings.get((given or "").replace("_", "").replace(" ", "").lower(), given)
    if noteable is None:  # no type given: infer it from what the context holds
        if {"merge_request", "merge_request_iid", "source_branch"} & context.keys():
            noteable = "MergeRequest"
        elif {"issue", "issue_iid"} & context.keys():
            noteable = "Issue"
    parent = context.get({"MergeRequest": "merge_request", "Issue": "issue"}.get(noteable or "", ""))
    return noteable, parent if isinstance(parent, Mapping) else context


def _flow_repository(project: object, variables: GitLabCiVariables) -> Repository | None:
    path = as_str(project) or as_str(as_dict(project).get("path_with_namespace")) or variables.project_path
    if not path or path.isdigit():  # only a numeric id: no path to name the repository by
        return None
    owner, _, name = path.rpartition("/")
    visibility = variables.project_visibility
    return Repository(
        owner=owner,
        name=name,
        full_name=path,
        default_branch=variables.default_branch or None,
        html_url=variables.project_url or None,
        private=visibility != "public" if visibility else None,
    )
