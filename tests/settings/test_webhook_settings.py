"""`claude-runner webhook`'s settings from the environment; a missing or bad one: a one-line error."""

from __future__ import annotations

import pytest

from runner.errors import UsageError
from runner.settings.webhook import (
    WebhookSettings,
    min_permission,
    read_webhook_listener_settings,
    read_webhook_settings,
)
from runner.triggers import TriggerSettings

LISTENER = {"GITLAB_WEBHOOK_SECRET": "s3cret", "GITLAB_ACCESS_TOKEN": "glpat-token"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "write"),
        ("developer", "write"),
        ("30", "write"),
        ("Maintainer", "maintain"),
        ("40", "maintain"),
        ("owner", "admin"),
        ("50", "admin"),
        ("reporter", "triage"),
        ("10", "read"),
        ("write", "write"),
    ],
)
def test_min_access_level(value: str | None, expected: str) -> None:
    assert min_permission(value) == expected


def test_min_access_level_rejects_nonsense() -> None:
    with pytest.raises(UsageError, match="MIN_ACCESS_LEVEL"):
        min_permission("superuser")
    with pytest.raises(UsageError):
        min_permission("0")


def test_settings_from_environment() -> None:
    with pytest.raises(UsageError, match="GITLAB_WEBHOOK_SECRET") as err:
        read_webhook_settings({})
    assert err.value.exit_code == 2
    env = {
        "GITLAB_WEBHOOK_SECRET": "x",
        "TRIGGER_PHRASE": "@bot",
        "LABEL_TRIGGER": "",
        "ALLOWED_BOTS": "a, b",
    }
    settings = read_webhook_settings(env | {"ASSIGNEE_TRIGGER": "@ai", "MIN_ACCESS_LEVEL": "maintainer"})
    assert settings.triggers == TriggerSettings("@bot", None, "@ai", None, ("a", "b"))
    assert settings.min_permission == "maintain"
    assert read_webhook_settings({"GITLAB_WEBHOOK_SECRET": "x"}).triggers.label_trigger == "claude"


def test_a_bad_mr_ref_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as err:
        read_webhook_settings({"GITLAB_WEBHOOK_SECRET": "x", "WEBHOOK_MR_REF": " Target "})
    assert (err.value.one_line(), err.value.exit_code) == (
        "WEBHOOK_MR_REF='target' is not source or default",
        2,
    )
    assert (
        read_webhook_settings({"GITLAB_WEBHOOK_SECRET": "x", "WEBHOOK_MR_REF": "DEFAULT"}).mr_ref == "default"
    )
    assert read_webhook_settings({"GITLAB_WEBHOOK_SECRET": "x", "WEBHOOK_MR_REF": " "}).mr_ref == "source"


def test_listener_settings() -> None:
    settings = read_webhook_listener_settings(LISTENER)
    assert settings.decision == WebhookSettings(secret="s3cret")
    assert (settings.access_token, settings.gitlab_url, settings.trigger_token) == (
        "glpat-token",
        "https://gitlab.com",
        None,
    )
    ci = read_webhook_listener_settings(LISTENER | {"CI_SERVER_URL": "https://ci.example "})
    assert ci.gitlab_url == "https://ci.example"
    own = LISTENER | {"GITLAB_URL": "https://gitlab.example", "CI_SERVER_URL": "https://ci.example"}
    assert read_webhook_listener_settings(own).gitlab_url == "https://gitlab.example"
    triggered = read_webhook_listener_settings(LISTENER | {"GITLAB_TRIGGER_TOKEN": " glptt-x "})
    assert triggered.trigger_token == "glptt-x"
    assert "glpat-token" not in repr(triggered) and "glptt-x" not in repr(triggered)


@pytest.mark.parametrize(
    "env, message",
    [
        (
            {"GITLAB_ACCESS_TOKEN": "glpat-token"},
            "GITLAB_WEBHOOK_SECRET is not set — set it to the secret token of the GitLab webhook; "
            "the listener never runs unauthenticated",
        ),
        (
            {"GITLAB_WEBHOOK_SECRET": "s3cret", "GITLAB_ACCESS_TOKEN": " "},
            "GITLAB_ACCESS_TOKEN is not set — set it to a project access token "
            "(api scope; read_api with GITLAB_TRIGGER_TOKEN)",
        ),
        (  # the decision's settings are checked first, as the listener always did
            {"GITLAB_WEBHOOK_SECRET": "s3cret", "MIN_ACCESS_LEVEL": "boss"},
            "MIN_ACCESS_LEVEL='boss' is not an access level — "
            "use guest, reporter, developer, maintainer, owner, or 10/20/30/40/50",
        ),
    ],
)
def test_listener_settings_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as err:
        read_webhook_listener_settings(env)
    assert (err.value.one_line(), err.value.exit_code) == (message, 2)
