"""The tool environment: credentials withheld by name, namespace and value, proven through Bash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.agent.env import is_secret_name, is_secret_value, scrub_env, secret_env_values
from runner.agent.tools.base import ToolContext
from runner.agent.tools.bash import Bash

SECRET_NAMES = [
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_CUSTOM_HEADERS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "CI_JOB_TOKEN",
    "CI_JOB_JWT",
    "CI_JOB_JWT_V2",
    "GITLAB_TOKEN",
    "GITLAB_API_TOKEN",
    "CLAUDE_OIDC_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "NPM_TOKEN",
    "DB_PASSWORD",
    "SMTP_PASSWD",
    "APP_PRIVATE_KEY",
    "OPENAI_API_KEY",
    "SENTRY_APIKEY",
    "AZURE_CLIENT_SECRET",
    "DOCKER_CREDENTIALS",
    "GOOGLE_GHA_CREDS_PATH",
    "DEPLOY_KEY",
    "GITLAB_PAT",
    "VAULT_JWT",
    "SSH_AUTH_SOCK",
    "github_token",  # names are matched case-insensitively
]

KEPT = {
    "PATH": os.environ["PATH"],
    "HOME": "/home/runner",
    "LANG": "C.UTF-8",
    "TERM": "xterm",
    "CI": "true",
    "GITHUB_WORKSPACE": "/home/runner/work/repo",
    "GITHUB_EVENT_PATH": "/home/runner/work/_temp/event.json",
    "GITHUB_PATH": "/home/runner/work/_temp/path",
    "GIT_AUTHOR_NAME": "claude",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "KEYBOARD_LAYOUT": "us",
    "MONKEYPATCH_MODE": "on",
}


def secret_value(name: str) -> str:
    return f"value-of-{name.lower()}-0123456789"


@pytest.fixture
def environ() -> dict[str, str]:
    return {**KEPT, **{name: secret_value(name) for name in SECRET_NAMES}}


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_each_secret_is_removed(environ: dict[str, str], name: str) -> None:
    assert name not in scrub_env(environ)
    assert is_secret_name(name) or name.upper().startswith(("ANTHROPIC_", "AWS_"))


def test_harmless_variables_are_kept(environ: dict[str, str]) -> None:
    assert scrub_env(environ) == KEPT


def test_every_anthropic_and_aws_variable_is_withheld_except_regions() -> None:
    env = {
        "ANTHROPIC_MODEL": "claude-x",
        "ANTHROPIC_BASE_URL": "https://gw",
        "AWS_PROFILE": "prod",
        "AWS_REGION": "r",
    }
    assert scrub_env(env) == {"AWS_REGION": "r"}


def test_secret_shaped_values_are_withheld_whatever_the_name() -> None:
    env = {
        "PIP_INDEX_URL": "https://user:hunter22@pypi.example.com/simple",
        "SOME_VAR": "ghp_" + "a" * 36,
        "OTHER": "sk-ant-api03-" + "b" * 40,
        "DOC_URL": "https://example.com/docs",
    }
    assert scrub_env(env) == {"DOC_URL": "https://example.com/docs"}
    assert is_secret_value(env["SOME_VAR"]) and not is_secret_value("just text")


def test_bash_with_the_scrubbed_env_cannot_print_any_secret(environ: dict[str, str], tmp_path: Path) -> None:
    ctx = ToolContext(cwd=Path(os.path.realpath(tmp_path)), subprocess_env=scrub_env(environ))
    result = Bash().run({"command": 'env; echo "$GITHUB_TOKEN$ANTHROPIC_API_KEY$AWS_SECRET_ACCESS_KEY"'}, ctx)
    assert isinstance(result.content, str) and not result.is_error
    assert "GITHUB_WORKSPACE=/home/runner/work/repo" in result.content  # env really ran
    leaked = [name for name in SECRET_NAMES if secret_value(name) in result.content]
    assert leaked == []


def test_secret_env_values_feed_the_redactor(environ: dict[str, str]) -> None:
    env = {
        **environ,
        "SHORT_TOKEN": "abc",  # too short to redact safely
        "ANTHROPIC_MODEL": "claude-sonnet-4-5",  # withheld, but not a secret: redacting it would mangle text
        "PIP_INDEX_URL": "https://user:hunter22@pypi.example.com/simple",
    }
    values = secret_env_values(env)
    assert set(values) == {secret_value(n) for n in SECRET_NAMES} | {env["PIP_INDEX_URL"]}
    assert [len(v) for v in values] == sorted((len(v) for v in values), reverse=True)
    assert KEPT["GITHUB_WORKSPACE"] not in values


def test_protect_process_environ_runs_in_a_fresh_process() -> None:
    code = "from runner.agent.env import protect_process_environ as p; print(p())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ("True" if sys.platform.startswith("linux") else "False")
