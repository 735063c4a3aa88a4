"""GitLab hooks and AI flow variables ⇒ the shared Event model, checked against go-gitlab's payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.errors import UsageError
from runner.events import Comment, Event, NotSupported
from runner.events.gitlab import SUPPORTED_KINDS, hook_kind, load_gitlab_event, parse_gitlab_event
from runner.events.gitlab_flow import gitlab_ci_run
from runner.events.gitlab_flow import gitlab_event_from_ci as event_from_variables
from runner.settings.gitlab import read_gitlab_ci_variables
from runner.triggers import TriggerSettings, decide
from tests.paths import FIXTURES_DIR

WEBHOOKS = FIXTURES_DIR / "gitlab" / "webhooks"
ALL_PAYLOADS = sorted(WEBHOOKS.glob("*.json"))


def payload(name: str) -> dict[str, Any]:
    """A fresh copy of one corpus payload, e.g. ``"note_issue"``."""
    data: dict[str, Any] = json.loads((WEBHOOKS / f"{name}.json").read_text())
    return data


def parse(data: dict[str, Any], **kwargs: Any) -> Event:
    event = parse_gitlab_event(data, **kwargs)
    assert isinstance(event, Event)
    return event


def confidential_note() -> dict[str, Any]:
    """A note on a confidential issue; the corpus has none.

    Transform: ``note_issue`` with ``event_type: confidential_note`` (GitLab's value for a Confidential
    Note Hook) and ``issue.confidential: true``.
    """
    data = payload("note_issue")
    data["event_type"] = "confidential_note"
    data["issue"]["confidential"] = True
    return data


def confidential_issue() -> dict[str, Any]:
    """Transform: ``issue`` with ``event_type: confidential_issue`` and ``confidential: true``."""
    data = payload("issue")
    data["event_type"] = "confidential_issue"
    data["object_attributes"]["confidential"] = True
    return data


def test_the_corpus_is_all_there() -> None:
    names = {p.stem for p in ALL_PAYLOADS}
    assert {"note_merge_request", "note_issue", "note_commit", "note_snippet", "pipeline"} <= names
    assert (WEBHOOKS.parent / "LICENSE.go-gitlab").is_file()


@pytest.mark.parametrize("path", ALL_PAYLOADS, ids=lambda p: p.stem)
def test_every_corpus_payload_parses(path: Path) -> None:
    data = json.loads(path.read_text())
    event = parse_gitlab_event(data, ci_run=gitlab_ci_run(read_gitlab_ci_variables({})))
    assert event.platform == "gitlab"
    supported = data.get("object_kind") in SUPPORTED_KINDS and path.stem not in (
        "note_commit",
        "note_snippet",
    )
    assert isinstance(event, Event) is supported
    if isinstance(event, Event):
        assert event.repository is not None and event.entity_type is not None
    else:
        assert event.reason.startswith("not triggered: ")


def test_note_on_merge_request() -> None:
    event = parse(payload("note_merge_request"))
    assert (event.name, event.action, event.kind, event.activity) == ("note", "create", "comment", "created")
    assert (event.entity_type, event.entity_term, event.number) == ("change_request", "merge_request", 1)
    assert event.title == "Tempora et eos debitis quae laborum et."
    assert event.trigger_text == "This MR needs work."
    assert event.labels == ("Afterpod", "Element")
    assert event.assignees == ("user1",)
    assert event.html_url == "http://example.com/gitlab-org/gitlab-test/-/merge_requests/1"
    assert event.actor is not None and (event.actor.login, event.actor.id, event.actor.is_bot) == (
        "root",
        1,
        False,
    )
    assert event.comment == Comment(
        id=1244,
        kind="comment",
        body="This MR needs work.",
        author="root",
        created_at="2015-05-17T18:21:36Z",
        updated_at="2015-05-17T18:21:36Z",
        html_url="http://example.com/gitlab-org/gitlab-test/merge_requests/1#note_1244",
    )
    cr = event.change_request
    assert cr is not None
    assert (cr.head_ref, cr.base_ref, cr.head_sha) == (
        "master",
        "markdown",
        "562e173be03b8ff2efb05345d12df18815438a4b",
    )
    assert (cr.head_repo, cr.is_fork, cr.draft, cr.state) == ("gitlab-org/gitlab-test", False, False, "open")
    repo = event.repository
    assert repo is not None
    assert (repo.owner, repo.name, repo.full_name, repo.default_branch) == (
        "gitlab-org",
        "gitlab-test",
        "gitlab-org/gitlab-test",
        "master",
    )
    assert (repo.clone_url, repo.private) == ("http://example.com/gitlab-org/gitlab-test.git", True)
    assert event.confidential is False


def test_note_on_issue() -> None:
    event = parse(payload("note_issue"))
    assert (event.entity_type, event.entity_term, event.number, event.title) == (
        "issue",
        "issue",
        17,
        "test_issue",
    )
    assert event.body == "test issue"
    assert event.change_request is None
    assert event.comment is not None and event.comment.created_at == "2015-05-17T17:06:40Z"
    assert event.html_url == "http://example.com/gitlab-org/gitlab-test/-/issues/17"


@pytest.mark.parametrize("name, noteable", [("note_commit", "Commit"), ("note_snippet", "Snippet")])
def test_notes_on_commits_and_snippets_are_not_supported(name: str, noteable: str) -> None:
    data = payload(name)
    data["object_attributes"]["note"] = "@claude explain"
    event = parse_gitlab_event(data)
    assert isinstance(event, NotSupported)
    assert (event.name, event.action) == ("note", "create")
    assert f"noteable type '{noteable}'" in event.reason
    assert event.actor is not None and event.actor.login == "user1"


def test_system_note_never_triggers() -> None:
    data = payload("note_merge_request")
    data["object_attributes"].update(note="added ~claude label @claude", system=True)
    event = parse_gitlab_event(data)
    assert isinstance(event, NotSupported)
    assert event.reason.startswith("not triggered: system note")


def test_edited_note_is_parsed_but_does_not_trigger() -> None:
    data = payload("note_issue")
    data["object_attributes"].update(note="@claude fix it", action="update")
    event = parse(data)
    assert (event.action, event.activity) == ("update", "edited")
    assert not decide(event, TriggerSettings()).triggered


def test_note_without_action_is_a_create() -> None:
    """Hooks from GitLab versions without note-update events have no ``action``."""
    data = payload("note_issue")
    del data["object_attributes"]["action"]
    assert parse(data).activity == "created"


def test_diff_note_is_a_review_comment() -> None:
    """Transform: the corpus has no diff note; GitLab adds ``type: DiffNote`` and a ``position``."""
    data = payload("note_merge_request")
    data["object_attributes"].update(
        type="DiffNote",
        discussion_id="6a9c1750b37d513a43987b574953fceb50b03ce7",
        position={"new_path": "src/app.py", "old_path": "src/app.py", "new_line": 12, "old_line": None},
    )
    comment = parse(data).comment
    assert comment is not None
    assert (comment.kind, comment.path, comment.line) == ("review_comment", "src/app.py", 12)


def test_confidential_note_and_issue() -> None:
    note = parse(confidential_note())
    assert note.confidential and note.name == "note" and note.entity_type == "issue"
    issue = parse(confidential_issue())
    assert issue.confidential and issue.name == "issue"
    # The header alone says so too (a Confidential Note Hook delivered with an older payload).
    assert parse(payload("note_issue"), hook="Confidential Note Hook").confidential
    internal = payload("note_merge_request")
    internal["object_attributes"]["internal"] = True
    assert parse(internal).confidential


def test_merge_request_hook() -> None:
    event = parse(payload("merge_request"))
    assert (event.name, event.action, event.kind, event.activity) == (
        "merge_request",
        "open",
        "change_request",
        "opened",
    )
    assert (event.number, event.title, event.trigger_text) == (1, "MS-Viewport", "")
    assert event.labels == ("API",)
    assert event.assignees == ("user1",)
    assert event.added_label == "Platform"  # changes.labels: API ⇒ Platform
    assert event.html_url == "http://example.com/diaspora/merge_requests/1"
    assert event.change_request is not None
    assert (event.change_request.head_ref, event.change_request.head_repo) == (
        "ms-viewport",
        "awesome_space/awesome_project",
    )
    assert event.repository is not None and event.repository.private is False  # visibility_level 20


def test_label_trigger_wins_over_the_action() -> None:
    """GitLab reports an MR opened with labels in one hook; the trigger label makes it ``labeled``."""
    event = parse(payload("merge_request"), label_trigger="platform")
    assert (event.activity, event.added_label) == ("labeled", "Platform")
    decision = decide(event, TriggerSettings(label_trigger="platform"))
    assert (decision.triggered, decision.mode, decision.source) == (True, "tag", "label")


def test_several_labels_added_at_once() -> None:
    data = payload("issue")
    data["object_attributes"]["action"] = "update"
    current = data["changes"]["labels"]["current"]
    current.append({**current[0], "id": 207, "title": "claude"})
    assert parse(data).added_label == "Platform"
    assert parse(data, label_trigger="Claude").added_label == "claude"


def test_merge_request_update_kinds() -> None:
    pushed = parse(payload("service_merge_request"))  # oldrev: new commits
    assert (pushed.action, pushed.activity) == ("update", "updated")
    assert decide(pushed, TriggerSettings(prompt="Review")).mode == "agent"

    ready = payload("service_merge_request")
    del ready["object_attributes"]["oldrev"]
    ready["changes"]["draft"] = {"previous": True, "current": False}
    assert parse(ready).activity == "ready_for_review"

    assigned = payload("service_merge_request")
    del assigned["object_attributes"]["oldrev"]
    assigned["changes"]["assignees"] = {"previous": [], "current": [{"id": 9, "username": "claude-bot"}]}
    event = parse(assigned)
    assert (event.activity, event.added_assignee) == ("assigned", "claude-bot")
    assert decide(event, TriggerSettings(assignee_trigger="@claude-bot")).triggered

    merged = parse(payload("group_merge_request"))  # keys with trailing spaces: fields read as absent
    assert (merged.activity, merged.number) == ("other", None)
    assert merged.change_request is not None and not merged.change_request.is_fork  # same source/target path

    unknown = payload("note_merge_request")
    for key in ("source", "target", "source_project_id", "target_project_id"):
        del unknown["merge_request"][key]
    unknown.pop("project")
    cr = parse(unknown).change_request
    assert cr is not None and (cr.is_fork, cr.head_repo) == (True, None)  # cannot tell ⇒ untrusted
    fork = payload("note_merge_request")
    fork["merge_request"]["source_project_id"] = 99
    cr = parse(fork).change_request
    assert cr is not None and cr.is_fork


def test_issue_hook() -> None:
    event = parse(payload("issue"))
    assert (event.kind, event.activity, event.number) == ("issue", "opened", 23)
    assert event.trigger_text == "Create new API for manipulations with repository"
    assert (event.labels, event.assignees, event.confidential) == (("API",), ("user1",), False)
    closed = payload("issue")
    closed["object_attributes"]["action"] = "close"
    assert parse(closed).activity == "other"
    edited = payload("issue")
    edited["object_attributes"]["action"] = "update"
    del edited["changes"]["labels"]
    assert parse(edited).activity == "edited"  # title and description changed


@pytest.mark.parametrize(
    "user, is_bot",
    [
        ({"username": "project_123_bot_3f2a9c"}, True),
        ({"username": "project_5_bot"}, True),
        ({"username": "group_42_bot_77aa"}, True),
        ({"username": "renovate_bot"}, True),
        ({"username": "support-bot"}, True),
        ({"username": "alice", "bot": True}, True),
        ({"username": "alice"}, False),
        ({"username": "robotics"}, False),
        ({"username": "bot_fan"}, False),
    ],
)
def test_bots(user: dict[str, Any], is_bot: bool) -> None:
    data = payload("note_merge_request")
    data["user"] = user
    data["object_attributes"]["note"] = "@claude rebase"
    event = parse(data)
    assert event.actor is not None and event.actor.is_bot is is_bot
    decision = decide(event, TriggerSettings())
    assert decision.triggered is not is_bot
    if is_bot:
        assert decide(event, TriggerSettings(allowed_bots=(user["username"],))).triggered


@pytest.mark.parametrize(
    "sent, normalised",
    [
        ("2015-05-17 18:21:36 UTC", "2015-05-17T18:21:36Z"),
        ("2016-01-04T15:31:46.176Z", "2016-01-04T15:31:46.176Z"),
        ("2015-04-08T21:00:25-07:00", "2015-04-09T04:00:25Z"),
        ("2015-05-17 18:21:36 +0200", "2015-05-17T16:21:36Z"),
        ("yesterday", None),
    ],
)
def test_timestamps_are_iso_utc(sent: str, normalised: str | None) -> None:
    data = payload("note_issue")
    data["object_attributes"]["created_at"] = sent
    comment = parse(data).comment
    assert comment is not None and comment.created_at == normalised


def test_pipeline_and_unknown_hooks_are_not_supported() -> None:
    event = parse_gitlab_event(payload("pipeline"))
    assert isinstance(event, NotSupported)
    assert (
        event.reason
        == "not triggered: event 'pipeline' is not supported (supported: note, merge_request, issue)"
    )
    assert isinstance(parse_gitlab_event({}), NotSupported)
    assert parse_gitlab_event({"object_kind": "note", "object_attributes": []}).name == "note"


def test_ci_run_link_from_env() -> None:
    env = {"CI_JOB_ID": "77", "CI_JOB_URL": "https://gitlab.example.com/g/p/-/jobs/77"}
    event = parse(payload("note_issue"), ci_run=gitlab_ci_run(read_gitlab_ci_variables(env)))
    assert event.ci_run is not None and (event.ci_run.run_id, event.ci_run.url) == ("77", env["CI_JOB_URL"])


@pytest.mark.parametrize(
    "header, kind",
    [("Note Hook", "note"), ("Confidential Issue Hook", "issue"), ("Job Hook", "build"), ("note", "note")],
)
def test_hook_kind(header: str, kind: str) -> None:
    assert hook_kind(header) == kind


def test_load_checks_the_event_name(tmp_path: Path) -> None:
    path = tmp_path / "hook.json"
    path.write_text(json.dumps(payload("note_issue")))
    assert isinstance(load_gitlab_event(path, event_name="Note Hook"), Event)
    assert load_gitlab_event(path, event_name="Confidential Note Hook").confidential  # type: ignore[union-attr]
    with pytest.raises(UsageError, match="holds a 'note' hook, not 'Issue Hook'"):
        load_gitlab_event(path, event_name="Issue Hook")


@pytest.mark.parametrize("content", [None, "{oops", "[1]"])
def test_load_errors_are_usage_errors(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "hook.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match="event file"):
        load_gitlab_event(path)


# --- AI_FLOW_* variables ------------------------------------------------------------------------


def gitlab_event_from_ci(env: dict[str, str]) -> Event | NotSupported:
    """The event of a job with these variables, read as ``claude-runner gitlab`` reads them."""
    return event_from_variables(read_gitlab_ci_variables(env))


def flow_env(
    context: object, text: str = "@claude please fix the flaky test", **extra: str
) -> dict[str, str]:
    return {
        "AI_FLOW_INPUT": text,
        "AI_FLOW_CONTEXT": context if isinstance(context, str) else json.dumps(context),
        "AI_FLOW_EVENT": "mention",
        **extra,
    }


def test_flow_variables_flat_context() -> None:
    context = {
        "project": "group/proj",
        "noteable_type": "MergeRequest",
        "noteable_iid": 5,
        "note_id": 1,
        "discussion_id": "abc",
        "author": "alice",
    }
    event = gitlab_event_from_ci(flow_env(context, CI_JOB_ID="9", CI_PROJECT_VISIBILITY="public"))
    assert isinstance(event, Event)
    assert (event.platform, event.name, event.action, event.kind, event.activity) == (
        "gitlab",
        "note",
        "create",
        "comment",
        "created",
    )
    assert (event.entity_term, event.number) == ("merge_request", 5)
    assert event.repository is not None and (event.repository.full_name, event.repository.private) == (
        "group/proj",
        False,
    )
    assert event.comment is not None and (event.comment.id, event.comment.author) == (1, "alice")
    assert event.ci_run is not None and event.ci_run.run_id == "9"
    decision = decide(event, TriggerSettings())
    assert (decision.triggered, decision.request) == (True, "please fix the flaky test")


def test_flow_variables_parent_object_context() -> None:
    """GitLab's own form: AI_FLOW_CONTEXT is the serialised issue or merge request."""
    issue = {"iid": "12", "title": "Crash on start", "description": "Stack trace", "confidential": True}
    event = gitlab_event_from_ci(flow_env({"issue": issue, "author": {"username": "bob", "id": 3}}))
    assert isinstance(event, Event)
    assert (event.entity_type, event.number, event.title, event.confidential) == (
        "issue",
        12,
        "Crash on start",
        True,
    )
    assert event.repository is None  # no project given, no CI_PROJECT_PATH
    mr = gitlab_event_from_ci(flow_env({"iid": 3, "source_branch": "fix", "target_branch": "main"}))
    assert isinstance(mr, Event) and (mr.entity_type, mr.number) == ("change_request", 3)
    assert mr.change_request is not None and mr.change_request.head_ref == "fix"
    spelled = gitlab_event_from_ci(
        flow_env({"noteable_type": "merge_request", "iid": 8, "project": 42}, CI_PROJECT_PATH="g/p")
    )
    assert isinstance(spelled, Event) and spelled.number == 8
    assert spelled.repository is not None and spelled.repository.full_name == "g/p"


def test_flow_variables_not_supported() -> None:
    commit = gitlab_event_from_ci(flow_env({"noteable_type": "Commit", "author": "alice"}))
    assert isinstance(commit, NotSupported) and "noteable type 'Commit'" in commit.reason
    assign = gitlab_event_from_ci({**flow_env({"issue_iid": 1}), "AI_FLOW_EVENT": "assign"})
    assert isinstance(assign, NotSupported)
    assert assign.reason == (
        "not triggered: AI_FLOW_EVENT 'assign' is not supported "
        "(supported: mention, note, merge_request, issue)"
    )
    prompt = gitlab_event_from_ci(
        {**flow_env({"issue_iid": 1, "trigger": "prompt"}), "AI_FLOW_EVENT": "issue"}
    )
    assert isinstance(prompt, NotSupported) and "trigger 'prompt' is not supported" in prompt.reason
    bot = gitlab_event_from_ci(flow_env({"issue_iid": 1, "author": "project_7_bot_x"}))
    assert not decide(bot, TriggerSettings()).triggered


def test_flow_variables_from_our_listener() -> None:
    """The form the listener (``runner/webhook/decision.py``) writes: AI_FLOW_EVENT is the object kind."""
    context = {"project": "g/p", "noteable_type": "MergeRequest", "noteable_iid": 4, "author": "alice"}
    labeled = gitlab_event_from_ci(
        {
            **flow_env({**context, "trigger": "label", "label": "claude"}, text=""),
            "AI_FLOW_EVENT": "merge_request",
        }
    )
    assert isinstance(labeled, Event)
    assert (labeled.name, labeled.kind, labeled.activity, labeled.added_label) == (
        "merge_request",
        "change_request",
        "labeled",
        "claude",
    )
    assert decide(labeled, TriggerSettings()).source == "label"
    note = gitlab_event_from_ci({**flow_env({**context, "trigger": "mention"}), "AI_FLOW_EVENT": "note"})
    assert isinstance(note, Event) and (note.name, note.activity, note.number) == ("note", "created", 4)


@pytest.mark.parametrize(
    "env, message",
    [
        ({}, "no GitLab AI flow event"),
        ({"AI_FLOW_CONTEXT": "{nope"}, "AI_FLOW_CONTEXT is not valid JSON"),
        ({"AI_FLOW_CONTEXT": "[1]"}, "AI_FLOW_CONTEXT does not hold a JSON object"),
    ],
)
def test_flow_variables_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        gitlab_event_from_ci(env)
