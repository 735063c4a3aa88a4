"""GitLab CI's variables ⇒ the frozen settings of ``claude-runner gitlab``; bad values: one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import UsageError
from runner.settings.gitlab import (
    GitLabCiVariables,
    read_gitlab_ci_variables,
    read_gitlab_job_variables,
    read_gitlab_run_env,
)
from runner.settings.run import RunSettings

JOB = {"CI_PROJECT_ID": "5", "CI_SERVER_URL": "https://gitlab.example/"}


@pytest.mark.parametrize(
    "env, missing",
    [
        ({}, "CI_PROJECT_ID, CI_SERVER_URL not set"),
        ({"CI_PROJECT_ID": "5"}, "CI_SERVER_URL not set"),
        ({"CI_SERVER_URL": "https://gitlab.example", "CI_PROJECT_ID": ""}, "CI_PROJECT_ID not set"),
    ],
)
def test_run_env_outside_a_job_is_a_one_line_usage_error(env: dict[str, str], missing: str) -> None:
    with pytest.raises(UsageError) as err:
        read_gitlab_run_env(env)
    assert err.value.exit_code == 2
    assert err.value.one_line() == (
        f"{missing}: `claude-runner gitlab` runs inside a GitLab CI job — use `claude-runner run` "
        "elsewhere, or `claude-runner explain --platform gitlab` to test a hook"
    )


def test_run_env_defaults_from_the_server_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run_env = read_gitlab_run_env(JOB)
    assert (run_env.project, run_env.project_path, run_env.server_url) == ("5", "5", "https://gitlab.example")
    assert run_env.api_url == "https://gitlab.example/api/v4"
    assert run_env.project_url == "https://gitlab.example/5"
    assert run_env.workspace == tmp_path
    assert (run_env.job_url, run_env.pipeline_source, run_env.merge_request_iid) == (None, None, None)
    assert (run_env.access_token, run_env.job_token) == (None, None)
    assert run_env.merge_request.project_id == "5"  # CI_MERGE_REQUEST_PROJECT_ID unset: this project
    assert run_env.ci_variables == GitLabCiVariables()


def test_run_env_reads_every_variable() -> None:
    env = JOB | {
        "CI_PROJECT_PATH": "g/p",
        "CI_API_V4_URL": "https://api.gitlab.example/api/v4/",
        "CI_PROJECT_URL": "https://gitlab.example/g/p/",
        "CI_JOB_URL": "https://gitlab.example/g/p/-/jobs/9",
        "CI_PROJECT_DIR": "/builds/g/p",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "12",
        "CI_DEFAULT_BRANCH": "main",
        "GITLAB_ACCESS_TOKEN": "glpat-secret",
        "CI_JOB_TOKEN": "",
        "CI_MERGE_REQUEST_TITLE": "Fix it",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "fix",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_COMMIT_SHA": "abc",
        "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "7",
        "CI_MERGE_REQUEST_PROJECT_ID": "5",
        "CI_MERGE_REQUEST_DRAFT": "TRUE",
        "GITLAB_USER_LOGIN": " alice ",
        "AI_FLOW_EVENT": " note ",
    }
    run_env = read_gitlab_run_env(env)
    assert (run_env.project_path, run_env.api_url) == ("g/p", "https://api.gitlab.example/api/v4")
    assert run_env.project_url == "https://gitlab.example/g/p"
    assert (run_env.workspace, run_env.merge_request_iid, run_env.default_branch) == (
        Path("/builds/g/p"),
        12,
        "main",
    )
    assert (run_env.access_token, run_env.job_token) == ("glpat-secret", None)
    assert "glpat-secret" not in repr(run_env)
    mr = run_env.merge_request
    assert (mr.title, mr.source_branch, mr.target_branch, mr.commit_sha) == ("Fix it", "fix", "main", "abc")
    assert (mr.source_project_id, mr.project_id, mr.draft, mr.user_login) == ("7", "5", True, "alice")
    assert run_env.ci_variables.ai_flow_event == "note"


def test_a_merge_request_iid_that_is_not_a_number_is_no_merge_request() -> None:
    assert read_gitlab_run_env(JOB | {"CI_MERGE_REQUEST_IID": "twelve"}).merge_request_iid is None


def test_ci_variables_keep_what_gitlab_set() -> None:
    variables = read_gitlab_ci_variables(
        {"AI_FLOW_INPUT": "", "CI_DEFAULT_BRANCH": "", "CI_JOB_ID": "9", "CI_PROJECT_VISIBILITY": "public"}
    )
    assert (variables.ai_flow_input, variables.default_branch) == ("", "")  # empty is not unset
    assert (variables.job_id, variables.project_visibility, variables.project_path) == ("9", "public", None)
    assert variables.has_flow_event  # an empty comment is still a request
    assert not read_gitlab_ci_variables({"AI_FLOW_CONTEXT": "  "}).has_flow_event
    assert read_gitlab_ci_variables({"AI_FLOW_CONTEXT": "{}"}).has_flow_event


def test_job_variables() -> None:
    from_claude_args = RunSettings(max_turns=3, timeout_minutes=9.0)
    assert read_gitlab_job_variables({}).applied_to(from_claude_args) == from_claude_args
    job = read_gitlab_job_variables({"MAX_TURNS": " 7 ", "TIMEOUT_MINUTES": "1.5", "PROMPT_FILE": " p.md "})
    applied = job.applied_to(from_claude_args)
    assert (applied.max_turns, applied.timeout_minutes) == (7, 1.5)
    assert job.prompt_file == "p.md"
    only_timeout = read_gitlab_job_variables({"TIMEOUT_MINUTES": "2"}).applied_to(from_claude_args)
    assert (only_timeout.max_turns, only_timeout.timeout_minutes) == (3, 2.0)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"MAX_TURNS": "many"}, "MAX_TURNS must be a number (got 'many')"),
        ({"MAX_TURNS": "1.5"}, "MAX_TURNS must be a number (got '1.5')"),
        ({"MAX_TURNS": "0"}, "MAX_TURNS must be greater than 0 (got 0)"),
        ({"TIMEOUT_MINUTES": "-1"}, "TIMEOUT_MINUTES must be greater than 0 (got -1)"),
        ({"MAX_TURNS": "x", "TIMEOUT_MINUTES": "y"}, "MAX_TURNS must be a number (got 'x')"),
    ],
)
def test_bad_job_variables_are_one_line_usage_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as err:
        read_gitlab_job_variables(env)
    assert (err.value.one_line(), err.value.exit_code) == (message, 2)
