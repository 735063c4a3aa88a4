"""The merge request pipeline event of ``claude-runner gitlab``, from the job's typed variables."""

from __future__ import annotations

from runner.ci.gitlab import is_merge_request_pipeline, merge_request_pipeline_event
from runner.events import Actor, ChangeRequest
from runner.settings.gitlab import read_gitlab_run_env

MR_PIPELINE = {
    "CI_PROJECT_ID": "5",
    "CI_PROJECT_PATH": "group/sub/proj",
    "CI_SERVER_URL": "https://gitlab.example",
    "CI_PIPELINE_SOURCE": "merge_request_event",
    "CI_MERGE_REQUEST_IID": "3",
    "CI_DEFAULT_BRANCH": "main",
    "CI_MERGE_REQUEST_TITLE": "Speed up the parser",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "fast",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
    "CI_COMMIT_SHA": "0123abc",
    "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "5",
    "CI_MERGE_REQUEST_DRAFT": "false",
    "GITLAB_USER_LOGIN": "alice",
}


def test_a_merge_request_pipeline_without_a_mention() -> None:
    assert is_merge_request_pipeline(read_gitlab_run_env(MR_PIPELINE))
    assert not is_merge_request_pipeline(read_gitlab_run_env(MR_PIPELINE | {"AI_FLOW_INPUT": ""}))
    assert not is_merge_request_pipeline(read_gitlab_run_env(MR_PIPELINE | {"CI_PIPELINE_SOURCE": "push"}))
    assert not is_merge_request_pipeline(read_gitlab_run_env(MR_PIPELINE | {"CI_MERGE_REQUEST_IID": ""}))


def test_merge_request_pipeline_event() -> None:
    event = merge_request_pipeline_event(read_gitlab_run_env(MR_PIPELINE))
    assert (event.name, event.action, event.kind, event.activity) == (
        "merge_request",
        "pipeline",
        "change_request",
        "updated",
    )
    assert event.repository is not None
    assert (event.repository.owner, event.repository.name, event.repository.default_branch) == (
        "group/sub",
        "proj",
        "main",
    )
    assert (event.actor, event.number, event.title) == (Actor("alice", "User"), 3, "Speed up the parser")
    assert event.change_request == ChangeRequest(head_ref="fast", head_sha="0123abc", base_ref="main")


def test_merge_request_pipeline_event_from_a_fork() -> None:
    fork = read_gitlab_run_env(
        MR_PIPELINE | {"CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "9", "GITLAB_USER_LOGIN": ""}
    )
    event = merge_request_pipeline_event(fork)
    assert event.change_request is not None and event.change_request.is_fork
    assert event.actor is None
    same = MR_PIPELINE | {"CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "9", "CI_MERGE_REQUEST_PROJECT_ID": "9"}
    assert merge_request_pipeline_event(read_gitlab_run_env(same)).change_request == ChangeRequest(
        head_ref="fast", head_sha="0123abc", base_ref="main", is_fork=False
    )
    draft = read_gitlab_run_env(MR_PIPELINE | {"CI_MERGE_REQUEST_DRAFT": "true"})
    assert merge_request_pipeline_event(draft).change_request == ChangeRequest(
        head_ref="fast", head_sha="0123abc", base_ref="main", draft=True
    )
