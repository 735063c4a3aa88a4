"""The tools' environment: an allowlist, the names passed on purpose, the settings' ``env`` key;
what is withheld and may be a secret is redacted. Proven through Bash where it matters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.agent.env import (
    is_secret_name,
    is_secret_value,
    scrub_env,
    secret_env_values,
    tool_environment,
    with_settings_env,
)
from runner.agent.tools.base import ToolContext
from runner.agent.tools.bash import Bash

SECRET_NAMES = [
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_CUSTOM_HEADERS",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
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
    "DB_PASS",
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
    "SLACK_WEBHOOK_URL",
    "INPUT_GITHUB_TOKEN",
    "github_token",  # names are matched case-insensitively
]

# On the allowlist: what tools get.
PASSED = {
    "PATH": os.environ["PATH"],
    "HOME": "/home/runner",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TERM": "xterm",
    "CI": "true",
    "GITHUB_WORKSPACE": "/home/runner/work/repo",
    "GITHUB_REPOSITORY": "octo/repo",
    "GITHUB_SHA": "d6cd1e2bd19e03a81132a23b2025920577f84e37",
    "GITHUB_REF": "refs/pull/5/merge",
    "GITHUB_REF_NAME": "5/merge",
    "GITHUB_RUN_ID": "7777",
    "RUNNER_OS": "Linux",
    "RUNNER_TEMP": "/home/runner/work/_temp",
    "CI_PROJECT_PATH": "group/project",
    "CI_COMMIT_SHA": "0f3e9a1b2c4d5e6f708192a3b4c5d6e7f8091a2b",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
}
# Off the allowlist but plain: withheld, not redacted.
PLAIN = {
    "GITHUB_EVENT_PATH": "/home/runner/work/_temp/event.json",
    "GITHUB_PATH": "/home/runner/work/_temp/_runner_file_commands/add_path_1",
    "GIT_AUTHOR_NAME": "claude",
    "KEYBOARD_LAYOUT": "us",
    "RUNNER_NAME": "GitHub Actions 2",
    "ImageVersion": "20240101.1.0",
    "ANTHROPIC_MODEL": "claude-sonnet-4-5",  # provider settings: the runner's, never redacted text
    "PWD": "/home/runner/work/repo/sub",  # the shell's cwd, not a password
    "OLDPWD": "/home/runner/work/repo",
}
# Off the allowlist, named innocently, valued like secrets: withheld and redacted.
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2YXVsdC1yb2xlIn0.c2lnbmF0dXJlLXZhbHVlLTEyMzQ"
DISGUISED = {
    "VAULT_ID": JWT,
    "DB_URL": "postgres://app:hunter2hunter2@db.internal:5432/app",
    "SESSION_ID": "kT9xQ2mZ7pL4vR8sW3nY6bHc",
}


def secret_value(name: str) -> str:
    return f"value-of-{name.lower()}-0123456789"


@pytest.fixture
def environ() -> dict[str, str]:
    return {**PASSED, **PLAIN, **DISGUISED, **{name: secret_value(name) for name in SECRET_NAMES}}


def test_tools_get_the_allowlist_only(environ: dict[str, str]) -> None:
    assert dict(tool_environment(environ).variables) == PASSED


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_each_credential_is_withheld_and_redacted(environ: dict[str, str], name: str) -> None:
    tools = tool_environment(environ)
    assert name not in tools.variables
    assert secret_value(name) in tools.secret_values and name in tools.secret_names


def test_disguised_secrets_are_withheld_and_redacted_plain_values_only_withheld(
    environ: dict[str, str],
) -> None:
    tools = tool_environment(environ)
    assert set(DISGUISED.values()) <= set(tools.secret_values)
    assert not set(PLAIN.values()) & set(tools.secret_values)
    assert not set(PLAIN) & set(tools.variables)
    # Redacting a value the tools are given anyway protects nothing and would mangle commit SHAs.
    assert PASSED["GITHUB_SHA"] not in tools.secret_values
    assert [len(v) for v in tools.secret_values] == sorted(
        (len(v) for v in tools.secret_values), reverse=True
    )


def test_an_allowlisted_name_with_a_credential_value_is_withheld() -> None:
    tools = tool_environment({"HTTPS_PROXY": "http://user:pw12345678@proxy:3128", "TERM": "ghp_" + "a" * 36})
    assert dict(tools.variables) == {}
    assert len(tools.secret_values) == 2


def test_passthrough_passes_names_on_purpose_but_never_the_runners_credentials() -> None:
    environ = {"NPM_TOKEN": "npm_" + "x" * 30, "MY_FLAG": "on", "GITHUB_TOKEN": "ghs_" + "y" * 36}
    environ["ANTHROPIC_API_KEY"] = "sk-ant-api03-" + "z" * 40
    tools = tool_environment(
        environ, passthrough=["NPM_TOKEN", "MY_FLAG", "GITHUB_TOKEN", "ANTHROPIC_API_KEY", "NOPE"]
    )
    assert dict(tools.variables) == {"NPM_TOKEN": environ["NPM_TOKEN"], "MY_FLAG": "on"}
    assert environ["NPM_TOKEN"] in tools.secret_values  # passed on purpose, still never printed
    assert [w.split()[0] for w in tools.warnings] == ["GITHUB_TOKEN", "ANTHROPIC_API_KEY", "NOPE"]
    assert "not set" in tools.warnings[-1]


def test_oidc_material_of_any_name_is_never_passed() -> None:
    tools = tool_environment({"MY_ID": JWT}, withheld={"MY_ID": JWT}, passthrough=["MY_ID"])
    assert dict(tools.variables) == {} and JWT in tools.secret_values and "MY_ID" in tools.secret_names


def test_settings_env_is_added_and_its_secret_looking_values_redacted() -> None:
    tools = with_settings_env(
        tool_environment({"PATH": "/bin"}),
        [
            ("NODE_ENV", "test"),
            ("API_BASE", "https://api.example.com/v1"),
            ("SIGNING_SALT", "kT9xQ2mZ7pL4vR8s"),
        ],
    )
    assert dict(tools.variables) == {
        "PATH": "/bin",
        "NODE_ENV": "test",
        "API_BASE": "https://api.example.com/v1",
        "SIGNING_SALT": "kT9xQ2mZ7pL4vR8s",
    }
    assert tools.secret_values == ("kT9xQ2mZ7pL4vR8s",)
    refused = with_settings_env(tools, [("ANTHROPIC_API_KEY", "sk-ant-x"), ("GITHUB_TOKEN", "x")])
    assert "ANTHROPIC_API_KEY" not in refused.variables and len(refused.warnings) == 2


def test_scrub_env_for_the_runners_own_git_keeps_harmless_variables(environ: dict[str, str]) -> None:
    scrubbed = scrub_env(environ)
    assert {
        **PASSED,
        **{k: v for k, v in PLAIN.items() if k != "ANTHROPIC_MODEL"},
    }.items() <= scrubbed.items()
    assert not set(SECRET_NAMES) & set(scrubbed) and "ANTHROPIC_MODEL" not in scrubbed
    assert (
        is_secret_name("DB_PASS") and is_secret_value("ghp_" + "a" * 36) and not is_secret_value("just text")
    )


def test_bash_with_the_tools_environment_cannot_print_any_secret(
    environ: dict[str, str], tmp_path: Path
) -> None:
    tools = tool_environment(environ)
    ctx = ToolContext(cwd=Path(os.path.realpath(tmp_path)), subprocess_env=tools.variables)
    result = Bash().run({"command": 'env; echo "$GITHUB_TOKEN$DB_PASS$VAULT_ID$SLACK_WEBHOOK_URL"'}, ctx)
    assert isinstance(result.content, str) and not result.is_error
    assert "GITHUB_WORKSPACE=/home/runner/work/repo" in result.content  # env really ran
    leaked = [v for v in tools.secret_values if v in result.content]
    assert leaked == []
    assert "KEYBOARD_LAYOUT" not in result.content  # an unknown variable never reaches a tool


def test_secret_env_values_are_the_credentials_by_name_or_value(environ: dict[str, str]) -> None:
    values = secret_env_values({**environ, "SHORT_TOKEN": "abc"})
    assert set(values) == {secret_value(n) for n in SECRET_NAMES} | {DISGUISED["DB_URL"]}


def test_protect_process_environ_runs_in_a_fresh_process() -> None:
    code = "from runner.agent.env import protect_process_environ as p; print(p())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ("True" if sys.platform.startswith("linux") else "False")
