"""GitHub webhook payloads (``GITHUB_EVENT_PATH``) ⇒ the shared ``Event`` model.

Pure: no API calls, no environment reads (the CI run comes in as a value). Payloads are
untrusted and vary by event and age, so every key is optional here: a missing or oddly typed
value becomes ``None`` (or empty), never an exception. Which events and actions *trigger* is
``triggers.py``'s business; this module only says what happened.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from runner.events import (
    Activity,
    Actor,
    ChangeRequest,
    CIRun,
    Comment,
    Event,
    NotSupported,
    Repository,
    WorkflowRun,
)
from runner.events.payload import read_payload_file

PLATFORM = "github"
GHOST = "ghost"  # how GitHub names a deleted account

AUTOMATION_EVENTS = ("workflow_dispatch", "repository_dispatch", "schedule", "workflow_run")
SUPPORTED_EVENTS = (
    "issue_comment",
    "pull_request_review_comment",
    "pull_request_review",
    "issues",
    "pull_request",
    "pull_request_target",
    *AUTOMATION_EVENTS,
)

# GitHub action ⇒ neutral activity, per event family; unknown actions become "other".
_COMMENT_ACTIVITY: dict[str, Activity] = {"created": "created", "edited": "edited", "deleted": "deleted"}
_REVIEW_ACTIVITY: dict[str, Activity] = {"submitted": "created", "edited": "edited"}
_ENTITY_ACTIVITY: dict[str, Activity] = {
    "opened": "opened",
    "reopened": "reopened",
    "edited": "edited",
    "deleted": "deleted",
    "labeled": "labeled",
    "assigned": "assigned",
    "synchronize": "updated",
    "ready_for_review": "ready_for_review",
}


def load_github_event(event_name: str, path: Path | str, ci_run: CIRun | None = None) -> Event | NotSupported:
    """Read a webhook payload file (``GITHUB_EVENT_PATH``) and parse it.

    Raises ``UsageError`` (one line) when the file is missing, unreadable, not JSON, or not a JSON
    object.
    """
    payload = read_payload_file(Path(path))
    return parse_github_event(event_name, payload, ci_run=ci_run)


def parse_github_event(
    event_name: str, payload: Mapping[str, Any], *, ci_run: CIRun | None = None
) -> Event | NotSupported:
    """Normalise one GitHub webhook payload.

    ``event_name`` is ``GITHUB_EVENT_NAME`` (the webhook's ``X-GitHub-Event``). Events the runner
    never acts on (``push``, ``ping``, ...) come back as ``NotSupported`` with the reason; supported
    events come back as an ``Event`` whatever their action (an edited comment is still parsed, so
    that ``explain`` can say who edited what). ``ci_run``, if given, is the CI run this job is, for
    the "view the run" link.
    """
    action = _str(payload.get("action"))
    actor = _actor(payload.get("sender"))
    parser = _PARSERS.get(event_name)
    if parser is None:
        reason = (
            f"not triggered: event '{event_name}' is not supported (supported: {', '.join(SUPPORTED_EVENTS)})"
        )
        return NotSupported(PLATFORM, event_name, action, reason, actor)
    event = parser(event_name, action, payload)
    return replace(event, ci_run=ci_run) if ci_run is not None else event


# --- per event family -------------------------------------------------------------------------


def _issue_comment(name: str, action: str | None, payload: Mapping[str, Any]) -> Event:
    issue = _dict(payload.get("issue"))
    comment = _comment(payload.get("comment"), "comment")
    # A comment on a PR's conversation arrives as issue_comment; only `issue.pull_request` says so.
    is_pr = bool(issue.get("pull_request"))
    return Event(
        **_common(name, action, payload),
        kind="comment",
        activity=_COMMENT_ACTIVITY.get(action or "", "other"),
        **_entity(issue, "change_request" if is_pr else "issue"),
        trigger_text=comment.body if comment else None,
        comment=comment,
    )


def _review_comment(name: str, action: str | None, payload: Mapping[str, Any]) -> Event:
    comment = _comment(payload.get("comment"), "review_comment")
    return Event(
        **_common(name, action, payload),
        kind="review_comment",
        activity=_COMMENT_ACTIVITY.get(action or "", "other"),
        **_pull_request(payload),
        trigger_text=comment.body if comment else None,
        comment=comment,
    )


def _review(name: str, action: str | None, payload: Mapping[str, Any]) -> Event:
    review = _comment(payload.get("review"), "review")
    return Event(
        **_common(name, action, payload),
        kind="review",
        activity=_REVIEW_ACTIVITY.get(action or "", "other"),
        **_pull_request(payload),
        trigger_text=review.body if review else None,
        comment=review,
    )


def _issues(name: str, action: str | None, payload: Mapping[str, Any]) -> Event:
    issue = _dict(payload.get("issue"))
    activity = _ENTITY_ACTIVITY.get(action or "", "other")
    return Event(
        **_common(name, action, payload),
        kind="issue",
        activity=activity,
        **_entity(issue, "issue"),
        trigger_text=_str(issue.get("body")) if activity == "opened" else None,
        added_label=_str(_dict(payload.get("label")).get("name")),
        added_assignee=_str(_dict(payload.get("assignee")).get("login")),
    )


def _pull_request_event(name: str, action: str | None, payload: Mapping[str, Any]) -> Event:
    activity = _ENTITY_ACTIVITY.get(action or "", "other")
    entity = _pull_request(payload)
    return Event(
        **_common(name, action, payload),
        kind="change_request",
        activity=activity,
        **entity,
        trigger_text=entity["body"] if activity == "opened" else None,
        added_label=_str(_dict(payload.get("label")).get("name")),
        added_assignee=_str(_dict(payload.get("assignee")).get("login")),
    )


def _automation(name: str, action: str | None, payload: Mapping[str, Any]) -> Event:
    run = _dict(payload.get("workflow_run"))
    return Event(
        **_common(name, action, payload),
        kind="automation",
        activity="run",
        workflow_run=_workflow_run(run) if run else None,
        # workflow_dispatch: "ref"; repository_dispatch: "branch"; workflow_run: the upstream head.
        ref=_str(payload.get("ref")) or _str(payload.get("branch")) or _str(run.get("head_branch")),
    )


_PARSERS: dict[str, Callable[[str, str | None, Mapping[str, Any]], Event]] = {
    "issue_comment": _issue_comment,
    "pull_request_review_comment": _review_comment,
    "pull_request_review": _review,
    "issues": _issues,
    "pull_request": _pull_request_event,
    "pull_request_target": _pull_request_event,
    **dict.fromkeys(AUTOMATION_EVENTS, _automation),
}


# --- pieces ---------------------------------------------------------------------------------------


def _common(name: str, action: str | None, payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "platform": PLATFORM,
        "name": name,
        "action": action,
        "repository": _repository(payload.get("repository")),
        "actor": _actor(payload.get("sender")),
    }


def _entity(entity: Mapping[str, Any], entity_type: str) -> dict[str, Any]:
    """Fields shared by issues and pull requests (and the issue half of an issue_comment)."""
    return {
        "entity_type": entity_type,
        "number": _int(entity.get("number")),
        "title": _str(entity.get("title")),
        "body": _str(entity.get("body")),
        "labels": tuple(n for n in (_label(x) for x in _list(entity.get("labels"))) if n),
        "assignees": tuple(
            n for n in (_str(_dict(x).get("login")) for x in _list(entity.get("assignees"))) if n
        ),
        "html_url": _str(entity.get("html_url")),
    }


def _pull_request(payload: Mapping[str, Any]) -> dict[str, Any]:
    pr = _dict(payload.get("pull_request"))
    head, base = _dict(pr.get("head")), _dict(pr.get("base"))
    head_repo = _str(_dict(head.get("repo")).get("full_name"))
    base_repo = _str(_dict(base.get("repo")).get("full_name")) or _str(
        _dict(payload.get("repository")).get("full_name")
    )
    fields = _entity(pr, "change_request")
    if fields["number"] is None:
        fields["number"] = _int(payload.get("number"))
    fields["change_request"] = ChangeRequest(
        head_ref=_str(head.get("ref")),
        head_sha=_str(head.get("sha")),
        head_repo=head_repo,
        base_ref=_str(base.get("ref")),
        base_sha=_str(base.get("sha")),
        # A deleted fork leaves head.repo null: still someone else's code.
        is_fork=bool(pr) and (head_repo is None or head_repo.lower() != (base_repo or "").lower()),
        draft=pr.get("draft") is True,
        state=_str(pr.get("state")),
    )
    return fields


def _comment(raw: object, kind: Literal["comment", "review", "review_comment"]) -> Comment | None:
    data = _dict(raw)
    if not data:
        return None
    return Comment(
        id=_int(data.get("id")),
        kind=kind,
        body=_str(data.get("body")) or "",
        # A deleted account is `user: null` (GitHub shows it as "ghost").
        author=_str(_dict(data.get("user")).get("login")) or (GHOST if "user" in data else None),
        created_at=_str(data.get("created_at")) or _str(data.get("submitted_at")),
        updated_at=_str(data.get("updated_at")),
        html_url=_str(data.get("html_url")),
        review_id=_int(data.get("pull_request_review_id")),
        in_reply_to=_int(data.get("in_reply_to_id")),
        path=_str(data.get("path")),
        line=_int(data.get("line")),
    )


def _repository(raw: object) -> Repository | None:
    repo = _dict(raw)
    full_name = _str(repo.get("full_name"))
    if not full_name:
        return None
    owner, _, name = full_name.partition("/")
    return Repository(
        owner=_str(_dict(repo.get("owner")).get("login")) or owner,
        name=_str(repo.get("name")) or name,
        full_name=full_name,
        default_branch=_str(repo.get("default_branch")),
        clone_url=_str(repo.get("clone_url")),
        html_url=_str(repo.get("html_url")),
        private=repo["private"] if isinstance(repo.get("private"), bool) else None,
    )


def _label(raw: object) -> str | None:
    """A label's name: a label object's ``name``, or the label itself when it is a plain string."""
    return raw if isinstance(raw, str) and raw else _str(_dict(raw).get("name"))


def _actor(raw: object) -> Actor | None:
    user = _dict(raw)
    login = _str(user.get("login"))
    user_id = user.get("id")
    return (
        Actor(login, _str(user.get("type")) or "", user_id if isinstance(user_id, int) else None)
        if login
        else None
    )


def _workflow_run(run: Mapping[str, Any]) -> WorkflowRun:
    numbers = (_int(_dict(pr).get("number")) for pr in _list(run.get("pull_requests")))
    return WorkflowRun(
        id=_int(run.get("id")),
        name=_str(run.get("name")),
        html_url=_str(run.get("html_url")),
        event=_str(run.get("event")),
        status=_str(run.get("status")),
        conclusion=_str(run.get("conclusion")),
        head_branch=_str(run.get("head_branch")),
        head_sha=_str(run.get("head_sha")),
        head_repo=_str(_dict(run.get("head_repository")).get("full_name")),
        actor=_str(_dict(run.get("actor")).get("login")),
        change_request_numbers=tuple(n for n in numbers if n is not None),
    )


# --- tolerant accessors: wrong types read as absent -----------------------------------------------


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    # bool is an int subclass; a `true` where a number belongs is not a number.
    return value if isinstance(value, int) and not isinstance(value, bool) else None
