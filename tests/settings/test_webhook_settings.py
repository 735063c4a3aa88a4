"""`claude-runner webhook`'s settings from the environment; a missing or bad one: a one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import UsageError
from runner.settings.webhook import (
    StoreLocation,
    WebhookSettings,
    min_permission,
    read_webhook_listener_settings,
    read_webhook_settings,
    store_location,
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


@pytest.mark.parametrize(
    ("value", "kind", "target"),
    [
        ("sqlite:///var/lib/claude-runner/hooks.db", "sqlite", "/var/lib/claude-runner/hooks.db"),
        ("sqlite:////var/lib/hooks.db", "sqlite", "/var/lib/hooks.db"),  # SQLAlchemy's spelling
        ("/srv/hooks.sqlite3", "sqlite", "/srv/hooks.sqlite3"),
        ("sqlite::memory:", "sqlite", ":memory:"),
        ("postgresql://bot:pw@db:5432/hooks", "postgresql", "postgresql://bot:pw@db:5432/hooks"),
        ("postgres://db/hooks", "postgresql", "postgres://db/hooks"),
        (
            "postgresql:///hooks?host=/run/postgresql",
            "postgresql",
            "postgresql:///hooks?host=/run/postgresql",
        ),
    ],
)
def test_store_locations(value: str, kind: str, target: str) -> None:
    location = store_location(value)
    assert (location.kind, location.target) == (kind, target)


def test_relative_store_paths_are_taken_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert store_location("sqlite:hooks.db").target == str(tmp_path / "hooks.db")
    assert store_location("state/hooks.db").target == str(tmp_path / "state" / "hooks.db")


@pytest.mark.parametrize("value", ["mysql://db/hooks", "redis://cache", "", "postgresql://"])
def test_unknown_or_empty_stores_are_refused(value: str) -> None:
    with pytest.raises(UsageError, match="WEBHOOK_STORE"):
        store_location(value)


def test_store_setting_flag_default_and_timings() -> None:
    settings = read_webhook_listener_settings(LISTENER | {"HOME": "/home/bot"})
    assert settings.store == StoreLocation("sqlite", "/home/bot/.local/state/claude-runner/webhook.sqlite3")
    assert (settings.lease_s, settings.retry_s) == (30.0, 5.0)
    xdg = read_webhook_listener_settings(LISTENER | {"HOME": "/home/bot", "XDG_STATE_HOME": "/state"})
    assert xdg.store.target == "/state/claude-runner/webhook.sqlite3"
    env = LISTENER | {"WEBHOOK_STORE": "postgresql://bot:hunter2@db/hooks", "WEBHOOK_LEASE_SECONDS": "10"}
    shared = read_webhook_listener_settings(env | {"WEBHOOK_RETRY_SECONDS": "0.5"})
    assert shared.store.kind == "postgresql" and (shared.lease_s, shared.retry_s) == (10.0, 0.5)
    assert shared.store.display == "postgresql://bot:***@db/hooks" and "hunter2" not in repr(shared)
    flag = read_webhook_listener_settings(env, store="sqlite:///tmp/x.db")  # --store wins
    assert flag.store == StoreLocation("sqlite", "/tmp/x.db") and flag.store.display == "sqlite:/tmp/x.db"
    for bad in ({"WEBHOOK_LEASE_SECONDS": "0"}, {"WEBHOOK_RETRY_SECONDS": "soon"}):
        with pytest.raises(UsageError, match=next(iter(bad))):
            read_webhook_listener_settings(LISTENER | bad)
    with pytest.raises(UsageError, match="--store"):
        read_webhook_listener_settings(LISTENER, store="ftp://x")
