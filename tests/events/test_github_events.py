"""GitHub webhook payloads ⇒ the shared Event model, checked against real octokit/webhooks examples."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from runner.errors import UsageError
from runner.events import Event, NotSupported
from runner.events.github import SUPPORTED_EVENTS, load_github_event, parse_github_event
from runner.settings.github import github_run_env
from tests.paths import FIXTURES_DIR

WEBHOOKS = FIXTURES_DIR / "github" / "webhooks"
ALL_PAYLOADS = sorted(WEBHOOKS.glob("*/*.json"))


def payload(relative: str) -> dict[str, Any]:
    """A fresh copy of one corpus payload, e.g. ``"issues/opened.payload.json"``."""
    data: dict[str, Any] = json.loads((WEBHOOKS / relative).read_text())
    return data


def parse(relative: str, data: dict[str, Any] | None = None) -> Event:
    """Parse a corpus payload (or a transform of it) under its directory's event name."""
    event = parse_github_event(relative.split("/")[0], data if data is not None else payload(relative))
    assert isinstance(event, Event)
    return event


def pr_issue_comment() -> dict[str, Any]:
    """An issue_comment on a pull request; the corpus has none.

    Transform: the issue_comment ``created`` payload plus ``issue.pull_request``, which is how GitHub
    marks a comment on a PR's conversation tab (the object holds the PR's API and web URLs).
    """
    data = payload("issue_comment/created.payload.json")
    data["issue"]["pull_request"] = {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1",
        "html_url": "https://github.com/Codertocat/Hello-World/pull/1",
    }
    return data


def test_the_corpus_is_all_there() -> None:
    assert len(ALL_PAYLOADS) >= 80
    assert {p.parent.name for p in ALL_PAYLOADS} >= {"issue_comment", "push", "ping", "workflow_run"}


@pytest.mark.parametrize("path", ALL_PAYLOADS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_payload_parses(path: Path) -> None:
    name = path.parent.name
    event = parse_github_event(name, json.loads(path.read_text()))
    assert event.platform == "github"
    assert event.name == name
    if name in SUPPORTED_EVENTS:
        assert isinstance(event, Event)
        assert event.repository is not None
        assert event.actor is not None and event.actor.login == "Codertocat"
    else:
        assert isinstance(event, NotSupported)
        assert event.reason.startswith("not triggered: ") and name in event.reason


def test_issue_comment_on_an_issue() -> None:
    event = parse("issue_comment/created.payload.json")
    assert (event.kind, event.activity, event.action) == ("comment", "created", "created")
    assert (event.entity_type, event.entity_term, event.number) == ("issue", "issue", 1)
    assert event.trigger_text == "You are totally right! I'll get this fixed right away."
    assert event.comment is not None
    assert event.comment.id == 492700400
    assert event.comment.created_at == "2019-05-15T15:20:21Z"
    assert event.comment.updated_at == "2019-05-15T15:20:21Z"
    assert event.change_request is None
    assert event.repository is not None
    assert event.repository.full_name == "Codertocat/Hello-World"
    assert event.repository.owner == "Codertocat"
    assert event.repository.default_branch == "master"
    assert event.repository.clone_url == "https://github.com/Codertocat/Hello-World.git"
    assert event.repository.private is False


def test_issue_comment_on_a_pull_request() -> None:
    event = parse("issue_comment/created.payload.json", pr_issue_comment())
    assert (event.entity_type, event.entity_term, event.number) == ("change_request", "pull_request", 1)
    # The payload has no head/base: the platform adapter fetches them later.
    assert event.change_request is None


def test_edited_and_deleted_comments_parse_with_their_activity() -> None:
    assert parse("issue_comment/edited.payload.json").activity == "edited"
    assert parse("issue_comment/deleted.payload.json").activity == "deleted"
    assert parse("pull_request_review_comment/edited.payload.json").activity == "edited"


def test_pull_request_opened() -> None:
    event = parse("pull_request/opened.payload.json")
    assert (event.kind, event.activity, event.entity_type, event.number) == (
        "change_request",
        "opened",
        "change_request",
        2,
    )
    assert event.title == "Update the README with new information."
    assert (
        event.trigger_text == event.body == "This is a pretty simple change that we need to pull into master."
    )
    assert event.labels == ("bug",)
    assert event.assignees == ("Codertocat",)
    cr = event.change_request
    assert cr is not None
    assert (cr.head_ref, cr.base_ref, cr.head_repo) == ("changes", "master", "Codertocat/Hello-World")
    assert cr.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert cr.base_sha is not None and len(cr.base_sha) == 40
    assert (cr.is_fork, cr.draft, cr.state) == (False, False, "open")


def test_pull_request_target_is_a_change_request_too() -> None:
    event = parse_github_event("pull_request_target", payload("pull_request/synchronize.payload.json"))
    assert isinstance(event, Event)
    assert (event.name, event.kind, event.activity, event.number) == (
        "pull_request_target",
        "change_request",
        "updated",
        2,
    )


def test_fork_detection() -> None:
    """Transform: a PR whose head lives in a fork, and one whose fork was deleted (head.repo null)."""
    fork = payload("pull_request/opened.payload.json")
    fork["pull_request"]["head"]["repo"]["full_name"] = "mallory/Hello-World"
    cr = parse("pull_request/opened.payload.json", fork).change_request
    assert cr is not None and cr.is_fork and cr.head_repo == "mallory/Hello-World"

    deleted = payload("pull_request/opened.payload.json")
    deleted["pull_request"]["head"]["repo"] = None
    cr = parse("pull_request/opened.payload.json", deleted).change_request
    assert cr is not None and cr.is_fork and cr.head_repo is None


def test_null_and_empty_bodies() -> None:
    assert parse("pull_request/opened.with-null-body.json").body is None
    assert parse("issues/opened.with-empty-body.payload.json").trigger_text is None


def test_draft_pull_request() -> None:
    event = parse("pull_request/converted_to_draft.payload.json")
    assert event.change_request is not None and event.change_request.draft is True
    assert event.activity == "other"
    assert parse("pull_request/ready_for_review.payload.json").activity == "ready_for_review"


def test_review_and_review_comment() -> None:
    review = parse("pull_request_review/submitted.payload.json")
    assert (review.kind, review.activity, review.number) == ("review", "created", 2)
    assert review.comment is not None
    assert review.comment.id == 237895671
    assert review.comment.body == ""  # the review was submitted without a body
    assert review.comment.created_at == "2019-05-15T15:20:38Z"
    assert review.change_request is not None and review.change_request.head_ref == "changes"
    assert parse("pull_request_review/dismissed.payload.json").activity == "other"

    rc = parse("pull_request_review_comment/created.payload.json")
    assert (rc.kind, rc.activity, rc.number) == ("review_comment", "created", 2)
    assert rc.comment is not None
    assert (rc.comment.id, rc.comment.review_id, rc.comment.in_reply_to) == (284312630, 237895671, None)
    assert rc.comment.path == "README.md"
    assert rc.trigger_text == "Maybe you should use more emoji on this line."


def test_review_comment_reply() -> None:
    data = payload("pull_request_review_comment/created.payload.json")
    data["comment"]["in_reply_to_id"] = 111
    comment = parse("pull_request_review_comment/created.payload.json", data).comment
    assert comment is not None and comment.in_reply_to == 111


def test_a_deleted_account_reads_as_ghost() -> None:
    """GitHub's description allows `user: null` on comments, review comments and reviews."""
    for relative, key in [
        ("issue_comment/created.payload.json", "comment"),
        ("pull_request_review_comment/created.payload.json", "comment"),
        ("pull_request_review/submitted.payload.json", "review"),
    ]:
        data = payload(relative)
        data[key]["user"] = None
        comment = parse(relative, data).comment
        assert comment is not None and comment.author == "ghost", relative


def test_labels_given_as_plain_strings_are_read() -> None:
    """An `issue`'s labels may be strings as well as label objects."""
    data = payload("issues/labeled.payload.json")
    data["issue"]["labels"] = ["bug", {"name": "help wanted"}, {"color": "fff"}, 7]
    assert parse("issues/labeled.payload.json", data).labels == ("bug", "help wanted")


def test_issue_label_and_assignee() -> None:
    labeled = parse("issues/labeled.payload.json")
    assert (labeled.activity, labeled.added_label, labeled.number) == ("labeled", "bug", 1)
    assigned = parse("issues/assigned.payload.json")
    assert (assigned.activity, assigned.added_assignee) == ("assigned", "Codertocat")
    assert parse("pull_request/labeled.payload.json").added_label == "bug"
    assert parse("issues/locked.payload.json").activity == "other"


def test_automation_events() -> None:
    dispatch = parse("workflow_dispatch/payload.json")
    assert (dispatch.kind, dispatch.activity, dispatch.action, dispatch.entity_type) == (
        "automation",
        "run",
        None,
        None,
    )
    assert dispatch.ref == "refs/heads/master"
    assert dispatch.repository is not None and dispatch.repository.private is True

    repo_dispatch = parse("repository_dispatch/payload.json")
    assert (repo_dispatch.action, repo_dispatch.ref) == ("on-demand-test", "master")

    run = parse("workflow_run/completed.with-pull-requests.payload.json")
    assert run.workflow_run is not None
    assert run.workflow_run.change_request_numbers == (2,)
    assert run.workflow_run.actor == "Codertocat"
    assert run.workflow_run.html_url is not None and "/actions/runs/" in run.workflow_run.html_url


def test_schedule_event_without_sender() -> None:
    """Transform: GitHub's schedule payload is only ``schedule`` (the cron) and ``repository``."""
    data = {"schedule": "0 0 * * *", "repository": payload("workflow_dispatch/payload.json")["repository"]}
    event = parse_github_event("schedule", data)
    assert isinstance(event, Event)
    assert (event.kind, event.actor, event.number) == ("automation", None, None)
    assert event.repository is not None and event.repository.full_name == "octo-org/octo-repo"


def test_bot_sender() -> None:
    data = payload("issue_comment/created.payload.json")
    data["sender"] = {"login": "dependabot[bot]", "type": "Bot"}
    actor = parse("issue_comment/created.payload.json", data).actor
    assert actor is not None and actor.is_bot
    data["sender"] = {"login": "renovate[bot]"}  # no type: the [bot] suffix still says so
    actor = parse("issue_comment/created.payload.json", data).actor
    assert actor is not None and actor.is_bot


@pytest.mark.parametrize("name", ["push", "ping", "discussion", "release"])
def test_unsupported_events(name: str) -> None:
    event = parse_github_event(name, {"sender": {"login": "octocat", "type": "User"}})
    assert isinstance(event, NotSupported)
    assert event.reason.startswith(f"not triggered: event '{name}' is not supported")
    assert event.actor is not None and event.actor.login == "octocat"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d.clear(),
        lambda d: d.update(issue=None, comment=[], sender="x", repository=3),
        lambda d: d["issue"].update(number="1", labels=None, assignees=[None, 5]),
        lambda d: d["comment"].update(body=None, id=True),
    ],
)
def test_missing_and_oddly_typed_keys_do_not_raise(mangle: Any) -> None:
    data = copy.deepcopy(payload("issue_comment/created.payload.json"))
    mangle(data)
    event = parse("issue_comment/created.payload.json", data)
    assert event.kind == "comment"


def test_ci_run_link_from_the_step_variables() -> None:
    env = {
        "GITHUB_EVENT_NAME": "issues",
        "GITHUB_EVENT_PATH": "event.json",
        "GITHUB_REPOSITORY": "Codertocat/Hello-World",
        "GITHUB_RUN_ID": "42",
        "GITHUB_SERVER_URL": "https://github.example.com/",
    }
    ci_run = github_run_env(env).ci_run
    event = parse_github_event("issues", payload("issues/opened.payload.json"), ci_run=ci_run)
    assert isinstance(event, Event) and event.ci_run is not None
    assert event.ci_run.url == "https://github.example.com/Codertocat/Hello-World/actions/runs/42"
    assert parse("issues/opened.payload.json").ci_run is None


def test_load_github_event(tmp_path: Path) -> None:
    good = tmp_path / "event.json"
    good.write_text(json.dumps(payload("issues/opened.payload.json")))
    event = load_github_event("issues", good)
    assert isinstance(event, Event) and event.number == 1

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    array = tmp_path / "array.json"
    array.write_text("[]")
    for path, needle in [
        (tmp_path / "missing.json", "does not exist"),
        (bad, "not valid JSON"),
        (array, "JSON object"),
        (tmp_path, "cannot read"),
    ]:
        with pytest.raises(UsageError) as info:
            load_github_event("issues", path)
        assert needle in info.value.one_line() and "\n" not in info.value.one_line()
