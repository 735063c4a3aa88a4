"""What the runtime reads for the tools: the names passed on purpose, and where bwrap is."""

from __future__ import annotations

from pathlib import Path

from runner.settings.flow import flow_settings
from runner.settings.github import read_github_job
from runner.settings.gitlab import read_gitlab_job
from runner.settings.runtime import read_bwrap, read_flow_runtime, read_runtime, split_names

ENV = {"PATH": "/bin", "NPM_TOKEN": "npm_abcdefabcdefabcdef", "MY_FLAG": "on", "OTHER": "x"}


def test_tool_env_passthrough_variable_for_run() -> None:
    tools = read_runtime({**ENV, "TOOL_ENV_PASSTHROUGH": "NPM_TOKEN, MY_FLAG"}).tools
    assert dict(tools.variables) == {"PATH": "/bin", "NPM_TOKEN": ENV["NPM_TOKEN"], "MY_FLAG": "on"}


def test_tool_env_passthrough_input_for_the_flows() -> None:
    env = {**ENV, "INPUT_TOOL_ENV_PASSTHROUGH": "MY_FLAG\nOTHER"}
    assert dict(read_flow_runtime(env, flow_settings(env)).tools.variables) == {
        "PATH": "/bin",
        "MY_FLAG": "on",
        "OTHER": "x",
    }


def test_the_ci_flows_run_tools_in_the_sandbox_by_default(tmp_path: Path) -> None:
    env = {"GITHUB_EVENT_NAME": "issue_comment", "GITHUB_EVENT_PATH": "e.json", "GITHUB_REPOSITORY": "o/r"}
    assert read_github_job({**env, "RUNNER_TEMP": str(tmp_path)}).agent.sandbox_by_default is True
    gitlab = {
        "CI_PROJECT_ID": "1",
        "CI_SERVER_URL": "https://gitlab.example",
        "CI_PROJECT_DIR": str(tmp_path),
    }
    assert read_gitlab_job(gitlab).agent.sandbox_by_default is True


def test_where_bwrap_is(tmp_path: Path) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert read_bwrap({"PATH": str(tmp_path)}) == str(fake)
    assert read_bwrap({"PATH": "/nonexistent"}) is None
    assert read_bwrap({"PATH": str(tmp_path), "CLAUDE_RUNNER_BWRAP": "/opt/bwrap"}) == "/opt/bwrap"
    assert read_bwrap({"PATH": str(tmp_path), "CLAUDE_RUNNER_BWRAP": ""}) is None  # go without
    assert split_names(" A,,B \n C ") == ("A", "B", "C")
