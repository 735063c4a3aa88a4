"""The pure half of ``claude-runner webhook``: a GitLab hook in, "start this pipeline" or "ignore: why" out.

GitLab CI starts no pipeline when someone comments, so a project webhook ("Comments", "Merge request
events", "Issues events") points at our listener, which starts a pipeline that runs
``claude-runner gitlab`` with the request in ``AI_FLOW_*`` variables. This module holds every decision
the listener makes, as functions of plain data, so tests call them without a server:

- ``token_ok``: the ``X-Gitlab-Token`` shared secret, compared in constant time.
- ``decide_hook``: the hook name and payload ⇒ a ``WebhookDecision`` (ignored with a reason, or
  accepted with the ``PipelineRequest`` to make). It runs the shared trigger rules
  (``runner.triggers.decide``) on the shared event model (``runner.events.gitlab``).

Its settings (``WebhookSettings``) are read from the environment by ``runner/settings/webhook.py``.
The HTTP server lives in ``runner/webhook/server.py``; the durable store of accepted hooks and
seen event ids (so a replayed hook starts nothing twice, across restarts) in ``store.py``; the
worker pool (the access-level check and the pipeline, both *after* the hook is answered) in
``workers.py``, and its GitLab calls in ``gitlab_api.py``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.events import Event, NotSupported
from runner.events.gitlab import parse_gitlab_event
from runner.flow.refusal import event_key
from runner.settings.webhook import MrRef, WebhookSettings
from runner.triggers import decide

# The hooks we act on, by their ``X-Gitlab-Event`` header, with the ``object_kind`` each carries.
HOOKS = {"Note Hook": "note", "Merge Request Hook": "merge_request", "Issue Hook": "issue"}
# Confidential issues and notes are not acted on: their text would land in pipeline variables,
# which every project member who can see pipelines can read.
CONFIDENTIAL_HOOKS = frozenset({"Confidential Note Hook", "Confidential Issue Hook"})
_CONFIDENTIAL = (
    "confidential issues and internal notes are not handled (their text would be in pipeline variables)"
)

# A comment can be 1 MB; a pipeline variable should not be. The job can re-read the note by its id
# (``note_id`` in AI_FLOW_CONTEXT) when it needs the whole text.
MAX_INPUT_CHARS = 10_000


@dataclass(frozen=True)
class PipelineRequest:
    """One pipeline to start: where, on which ref, with which variables, and who must be allowed."""

    project_id: int
    project: str  # path_with_namespace
    ref: str
    variables: Mapping[str, str]
    author: str  # the GitLab username whose access level is checked before starting
    event: str  # object_kind: "note", "merge_request", "issue"
    iid: int | None
    # A bot that got this far is listed in ALLOWED_BOTS (the trigger refuses the others): the listing
    # is the grant, as in the job itself (GitLab reports bots as having no access of their own).
    author_is_bot: bool = False
    # Where a refused author is answered: "merge_request" or "issue", and the event's key for the
    # reply's marker (one reply per event, whichever worker or replica posts it).
    noteable: str | None = None
    event_key: str | None = None


@dataclass(frozen=True)
class WebhookDecision:
    """Accept (with the pipeline to start) or ignore (with why), plus what the log line needs."""

    accepted: bool
    reason: str
    event: str | None = None
    project: str | None = None
    iid: int | None = None
    author: str | None = None
    pipeline: PipelineRequest | None = None

    def log_fields(self) -> dict[str, Any]:
        """The decision's part of the one log line the listener writes per hook."""
        return {"event": self.event, "project": self.project, "iid": self.iid, "author": self.author}


# --- authentication --------------------------------------------------------------


def token_ok(expected: str, given: str | None) -> bool:
    """Whether ``X-Gitlab-Token`` matches the secret, in time independent of where they differ.

    GitLab sends the secret as is (no HMAC of the body), so the comparison is the whole check.
    An empty secret never matches: the listener refuses to start without one.
    """
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogateescape"))


# --- the decision ---------------------------------------------------------------------------


def decide_hook(hook: str | None, payload: Mapping[str, Any], settings: WebhookSettings) -> WebhookDecision:
    """Decide what one authenticated, new GitLab hook asks for. Pure: no network, no clock."""
    kind = payload.get("object_kind")
    base = _identity(payload)
    if hook in CONFIDENTIAL_HOOKS:
        return WebhookDecision(False, f"not triggered: {hook}: {_CONFIDENTIAL}", **base)
    if hook not in HOOKS:
        return WebhookDecision(
            False, f"not triggered: {hook or 'a hook without X-Gitlab-Event'} is not handled", **base
        )
    if kind != HOOKS[hook]:
        return WebhookDecision(False, f"not triggered: object_kind {kind!r} does not match {hook}", **base)
    triggers = settings.triggers
    event = parse_gitlab_event(
        payload, hook=hook, label_trigger=triggers.label_trigger, assignee_trigger=triggers.assignee_trigger
    )
    decision = decide(event, triggers)
    if not decision.triggered:
        return WebhookDecision(False, decision.reason, **base)
    if isinstance(event, Event) and event.confidential:
        return WebhookDecision(False, f"not triggered: {_CONFIDENTIAL}", **base)
    if not base["author"]:
        return WebhookDecision(False, "not triggered: the hook names no user", **base)
    ref, ref_reason = pipeline_ref(payload, settings.mr_ref)
    if ref is None:
        return WebhookDecision(False, f"not triggered: {ref_reason}", **base)
    project = _mapping(payload.get("project"))
    project_id = project.get("id", payload.get("project_id"))
    if not isinstance(project_id, int):
        return WebhookDecision(False, "not triggered: the hook names no project id", **base)
    variables = pipeline_variables(
        payload,
        decision.request,
        decision.source,
        ref_reason,
        label=event.added_label if isinstance(event, Event) else None,
        assignee=event.added_assignee if isinstance(event, Event) else None,
    )
    request = PipelineRequest(
        project_id=project_id,
        project=base["project"] or str(project_id),
        ref=ref,
        variables=variables,
        author=base["author"],
        event=str(kind),
        iid=base["iid"],
        author_is_bot=bool(isinstance(event, Event) and event.actor is not None and event.actor.is_bot),
        noteable=_noteable(event),
        event_key=event_key(event) if isinstance(event, Event) else None,
    )
    return WebhookDecision(True, decision.reason, pipeline=request, **base)


def pipeline_ref(payload: Mapping[str, Any], mr_ref: MrRef = "source") -> tuple[str | None, str]:
    """The ref to run the pipeline on, and why (or ``None`` and why not).

    - An issue (or a note on one): the project's default branch.
    - A merge request from a branch of this project: its source branch, so the job sees the MR's code
      (with ``mr_ref="default"``, the default branch instead: the pipeline then runs the protected
      branch's ``.gitlab-ci.yml``, and the MR author's branch cannot change what the job does).
    - A merge request from a fork: the default branch, with the MR iid in ``AI_FLOW_CONTEXT``. The fork's
      branch is not in this project, so the pipeline API cannot run it, and running a stranger's CI
      config with this project's variables would hand them its secrets; the job fetches the MR as data.
    """
    project = _mapping(payload.get("project"))
    default = project.get("default_branch")
    default = default if isinstance(default, str) and default else None
    mr = _merge_request(payload)
    if mr is None:
        return (
            (default, "issue: the default branch") if default else (None, "the project has no default branch")
        )
    source_branch = mr.get("source_branch")
    if _is_fork(mr, project):
        if default:
            return (
                default,
                "fork merge request: the default branch (the fork's branch is not in this project)",
            )
        return None, "the project has no default branch"
    if mr_ref == "default":
        return (
            (default, "merge request: the default branch (mr_ref=default)")
            if default
            else (
                None,
                "the project has no default branch",
            )
        )
    if isinstance(source_branch, str) and source_branch:
        return source_branch, "merge request: its source branch"
    return None, "the merge request has no source branch"


def pipeline_variables(
    payload: Mapping[str, Any],
    request: str | None,
    source: str | None,
    ref_reason: str = "",
    *,
    label: str | None = None,
    assignee: str | None = None,
) -> dict[str, str]:
    """The ``AI_FLOW_*`` variables ``claude-runner gitlab`` reads.

    Every ``$`` is doubled: GitLab expands ``$NAME`` in pipeline variables, so a comment reading
    ``$GITLAB_ACCESS_TOKEN`` would otherwise hand the job (and the model) that secret; ``$$`` is GitLab's
    escape for a literal ``$``.
    """
    kind = str(payload.get("object_kind") or "")
    attrs = _mapping(payload.get("object_attributes"))
    project = _mapping(payload.get("project"))
    user = _mapping(payload.get("user"))
    mr = _merge_request(payload)
    if kind == "note":
        noteable_type = attrs.get("noteable_type")
        entity = _mapping(payload.get("merge_request") if mr is not None else payload.get("issue"))
        iid, note_id = entity.get("iid"), attrs.get("id")
        # Answer in the thread only when the note was in one (a top-level note is its own "discussion").
        threaded = attrs.get("type") in ("DiscussionNote", "DiffNote")
        discussion = attrs.get("discussion_id") if threaded else None
    else:
        noteable_type = "MergeRequest" if kind == "merge_request" else "Issue"
        iid, note_id, discussion = attrs.get("iid"), None, None
    context = {
        "project": project.get("path_with_namespace"),
        "project_id": project.get("id", payload.get("project_id")),
        "noteable_type": noteable_type,
        "noteable_iid": iid,
        "note_id": note_id,
        "discussion_id": discussion if isinstance(discussion, str) else None,
        "author": user.get("username"),
        "trigger": source,  # "mention", "label" or "assignee"
        # The job decides again with its own settings (defence in depth): it needs what matched.
        "label": label,
        "assignee": assignee,
        "is_fork": bool(mr is not None and _is_fork(mr, project)),
        "ref_reason": ref_reason,
    }
    # For a mention, the whole note: the job runs the same trigger rules (phrase, code, quotes) and
    # extracts the request itself, exactly as from a hook payload.
    text = str(attrs.get("note") or "") if kind == "note" else (request or "")
    if len(text) > MAX_INPUT_CHARS:
        text = text[:MAX_INPUT_CHARS] + f"\n[truncated: read note {note_id} for the full text]"
    values = {
        "AI_FLOW_INPUT": text,
        "AI_FLOW_CONTEXT": json.dumps(context, separators=(",", ":")),
        "AI_FLOW_EVENT": kind,
    }
    return {key: value.replace("$", "$$") for key, value in values.items()}


def _merge_request(payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The MR a hook is about: the noted MR of a Note Hook, the MR of a Merge Request Hook, else None."""
    kind = payload.get("object_kind")
    if kind == "merge_request":
        return _mapping(payload.get("object_attributes"))
    if kind == "note" and _mapping(payload.get("object_attributes")).get("noteable_type") == "MergeRequest":
        return _mapping(payload.get("merge_request"))
    return None


def _is_fork(mr: Mapping[str, Any], project: Mapping[str, Any]) -> bool:
    source, target = mr.get("source_project_id"), mr.get("target_project_id", project.get("id"))
    # A missing source project (the fork was deleted) is treated as a fork: its code is not ours.
    return source is None or source != target


def _identity(payload: Mapping[str, Any]) -> dict[str, Any]:
    """project, iid and author for the log line, whatever the hook turns out to be."""
    project = _mapping(payload.get("project")).get("path_with_namespace")
    user = _mapping(payload.get("user")).get("username")
    mr = _merge_request(payload)
    if mr is not None:
        iid = mr.get("iid")
    elif payload.get("object_kind") == "note":
        iid = _mapping(payload.get("issue")).get("iid")
    else:
        iid = _mapping(payload.get("object_attributes")).get("iid")
    return {
        "event": payload.get("object_kind") if isinstance(payload.get("object_kind"), str) else None,
        "project": project if isinstance(project, str) else None,
        "iid": iid if isinstance(iid, int) else None,
        "author": user if isinstance(user, str) else None,
    }


def _noteable(event: Event | NotSupported) -> str | None:
    if not isinstance(event, Event) or event.entity_type is None:
        return None
    return "merge_request" if event.entity_type == "change_request" else "issue"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
