"""Settings of ``claude-runner webhook``, the GitLab hook listener, read once from the environment.

``WebhookSettings`` is what the pure decision (``runner/webhook/decision.py``) needs;
``WebhookListenerSettings`` adds what the running listener needs to reach GitLab and where it keeps
accepted hooks (``StoreLocation``: SQLite by default, PostgreSQL for replicas). Both readers fail
with a one-line ``UsageError`` (exit 2) naming the variable to fix.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from runner.errors import UsageError
from runner.platforms.base import PERMISSION_ORDER
from runner.platforms.gitlab_data import access_permission
from runner.triggers import TriggerSettings, parse_allowed_bots

# GitLab's role names and their access levels, for MIN_ACCESS_LEVEL.
ROLE_LEVELS = {"guest": 10, "planner": 15, "reporter": 20, "developer": 30, "maintainer": 40, "owner": 50}

MAX_BODY_BYTES = 1_000_000  # WEBHOOK_MAX_BODY_BYTES: GitLab's hooks are a few kB, big MRs' tens of kB
MAX_JSON_DEPTH = 64  # WEBHOOK_MAX_JSON_DEPTH: GitLab's hooks nest about 5 deep

MrRef = Literal["source", "default"]


@dataclass(frozen=True)
class WebhookSettings:
    """What the listener needs to decide; built from the environment by ``read_webhook_settings``."""

    secret: str
    triggers: TriggerSettings = field(default_factory=TriggerSettings)
    min_permission: str = "write"  # GitLab Developer (30) and up
    mr_ref: MrRef = "source"  # same-project MRs: run on the source branch, or on the default branch
    max_body_bytes: int = MAX_BODY_BYTES
    max_json_depth: int = MAX_JSON_DEPTH
    reply_to_refused: bool = True  # REPLY_TO_REFUSED: an author below min_permission gets a short note


@dataclass(frozen=True)
class ConnectionLimits:
    """How many connections the listener holds and for how long (``webhook/limits.py``)."""

    max_connections: int = 1000  # WEBHOOK_MAX_CONNECTIONS: at the limit the longest idle one is closed
    idle_s: float = 10.0  # WEBHOOK_IDLE_TIMEOUT: a connection with no request in progress, closed after
    request_s: float = 10.0  # WEBHOOK_REQUEST_TIMEOUT: a request must arrive whole within (GitLab waits 10 s)
    sweep_s: int = 1  # how often idle and slow connections are looked for


STORE_FILE = "claude-runner/webhook.sqlite3"  # under $XDG_STATE_HOME (default ~/.local/state)
LEASE_S = 30.0  # a claimed hook is another worker's after this long without a heartbeat
RETRY_S = 5.0  # the first retry of a hook waits this long; each later one twice as long (to 10 min)


@dataclass(frozen=True)
class StoreLocation:
    """Where the listener keeps accepted hooks: an SQLite file, or a PostgreSQL connection URL."""

    kind: Literal["sqlite", "postgresql"]
    target: str = field(repr=False)  # a file path (or ":memory:"), or the libpq URL as given

    @property
    def display(self) -> str:
        """For the log: the SQLite path, or the PostgreSQL URL without its password."""
        if self.kind == "sqlite":
            return f"sqlite:{self.target}"
        parts = urllib.parse.urlsplit(self.target)
        if parts.password is None:
            return self.target
        host = parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


@dataclass(frozen=True)
class WebhookListenerSettings:
    """Everything ``claude-runner webhook`` is configured with: the decision's settings, GitLab's
    address and tokens, and the durable store with its lease and retry timing."""

    decision: WebhookSettings
    access_token: str = field(repr=False)  # GITLAB_ACCESS_TOKEN: reads access levels, starts pipelines
    gitlab_url: str = "https://gitlab.com"  # GITLAB_URL, else CI_SERVER_URL
    trigger_token: str | None = field(default=None, repr=False)  # GITLAB_TRIGGER_TOKEN, optional
    store: StoreLocation = field(default_factory=lambda: StoreLocation("sqlite", ":memory:"))
    lease_s: float = LEASE_S  # WEBHOOK_LEASE_SECONDS
    retry_s: float = RETRY_S  # WEBHOOK_RETRY_SECONDS
    connections: ConnectionLimits = field(default_factory=ConnectionLimits)


def store_location(value: str, *, name: str = "WEBHOOK_STORE") -> StoreLocation:
    """``WEBHOOK_STORE`` / ``--store`` ⇒ a ``StoreLocation``.

    ``postgresql://user:pass@host:5432/db`` (or ``postgres://``, any libpq URL) is PostgreSQL.
    ``sqlite:///var/lib/claude-runner/hooks.db`` is that absolute path (``sqlite:////path``, the
    SQLAlchemy spelling, too); ``sqlite:hooks.db`` and a plain path are relative to the working
    directory; ``sqlite::memory:`` keeps nothing (tests only).
    """
    text = value.strip()
    scheme = text.partition(":")[0].lower() if ":" in text else ""
    if scheme in ("postgresql", "postgres"):
        if not urllib.parse.urlsplit(text).netloc and "host=" not in text:
            raise UsageError(f"{name}={text!r} names no PostgreSQL server", "e.g. postgresql://user@db/hooks")
        return StoreLocation("postgresql", text)
    if scheme == "sqlite":
        rest = text[len("sqlite:") :]
        rest = rest[2:] if rest.startswith("//") else rest
        if rest.startswith("//"):
            rest = "/" + rest.lstrip("/")
        text = rest
    elif "://" in text:
        raise UsageError(
            f"{name}={value.strip()!r} is not a store this listener knows",
            "use a file path, sqlite:///path/hooks.db or postgresql://user@host/db",
        )
    if not text:
        raise UsageError(f"{name} is empty", "give a file path, sqlite:///path/hooks.db or postgresql://...")
    if text == ":memory:":
        return StoreLocation("sqlite", text)
    return StoreLocation("sqlite", str(Path(text).expanduser().absolute()))


def default_store(env: Mapping[str, str]) -> StoreLocation:
    """SQLite in ``$XDG_STATE_HOME/claude-runner/webhook.sqlite3`` (XDG's default for
    ``$XDG_STATE_HOME`` is ``~/.local/state``); the working directory when there is no home."""
    state = env.get("XDG_STATE_HOME", "").strip()
    home = env.get("HOME", "").strip()
    if state and Path(state).is_absolute():
        base = Path(state)
    elif home:
        base = Path(home) / ".local" / "state"
    else:
        return StoreLocation("sqlite", str(Path("claude-runner-webhook.sqlite3").absolute()))
    return StoreLocation("sqlite", str(base / STORE_FILE))


def _seconds(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not low <= value <= high:  # NaN fails both
        raise UsageError(f"{name}={text!r} is not a number of seconds from {low:g} to {high:g}")
    return value


def min_permission(value: str | None) -> str:
    """``MIN_ACCESS_LEVEL`` (a role name, a number, or a permission level) ⇒ a permission level.

    ``developer``/``30`` ⇒ ``write``; ``maintainer``/``40`` ⇒ ``maintain``; ``owner``/``50`` ⇒ ``admin``;
    ``reporter``/``20`` ⇒ ``triage``; ``guest``/``10`` ⇒ ``read``. Default: developer.
    """
    text = (value or "").strip().lower()
    if not text:
        return "write"
    if text in PERMISSION_ORDER and text != "none":
        return text
    number = ROLE_LEVELS.get(text)
    if number is None and text.isdigit():
        number = int(text)
    # The same mapping the GitLab adapter applies to a member's access_level, so the two compare.
    permission = access_permission(number) if number is not None else "none"
    if permission != "none":
        return permission
    raise UsageError(
        f"MIN_ACCESS_LEVEL={value!r} is not an access level",
        "use guest, reporter, developer, maintainer, owner, or 10/20/30/40/50",
    )


def read_webhook_settings(env: Mapping[str, str]) -> WebhookSettings:
    """The listener's settings from the environment; ``UsageError`` (exit 2) when the secret is missing."""
    secret = env.get("GITLAB_WEBHOOK_SECRET", "")
    if not secret.strip():
        raise UsageError(
            "GITLAB_WEBHOOK_SECRET is not set",
            "set it to the secret token of the GitLab webhook; the listener never runs unauthenticated",
        )
    phrase = env.get("TRIGGER_PHRASE", "").strip() or "@claude"
    label = env.get("LABEL_TRIGGER")
    triggers = TriggerSettings(
        trigger_phrase=phrase,
        label_trigger="claude" if label is None else (label.strip() or None),
        assignee_trigger=env.get("ASSIGNEE_TRIGGER", "").strip() or None,
        # No automation prompt: a listener runs only on requests (mention, label, assignee).
        prompt=None,
        allowed_bots=parse_allowed_bots(env.get("ALLOWED_BOTS", "")),
    )
    mr_ref = env.get("WEBHOOK_MR_REF", "source").strip().lower() or "source"
    if mr_ref not in ("source", "default"):
        raise UsageError(f"WEBHOOK_MR_REF={mr_ref!r} is not source or default")
    return WebhookSettings(
        secret=secret,
        triggers=triggers,
        min_permission=min_permission(env.get("MIN_ACCESS_LEVEL")),
        mr_ref="default" if mr_ref == "default" else "source",
        max_body_bytes=_whole(env, "WEBHOOK_MAX_BODY_BYTES", MAX_BODY_BYTES, 1024, 100_000_000),
        max_json_depth=_whole(env, "WEBHOOK_MAX_JSON_DEPTH", MAX_JSON_DEPTH, 8, 10_000),
        reply_to_refused=_flag(env, "REPLY_TO_REFUSED", True),
    )


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text not in ("true", "false", "1", "0", "yes", "no"):
        raise UsageError(f"{name}={text!r} is not true or false")
    return text in ("true", "1", "yes")


def _whole(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise UsageError(f"{name}={text!r} is not a whole number from {low} to {high}")
    return int(text)


def read_webhook_listener_settings(
    env: Mapping[str, str], *, store: str | None = None
) -> WebhookListenerSettings:
    """``read_webhook_settings`` plus GitLab's URL and tokens and the store (``store``: the
    ``--store`` flag, which wins over ``WEBHOOK_STORE``); ``UsageError`` (exit 2) without an access
    token (the listener could neither check who asked nor start a pipeline)."""
    decision = read_webhook_settings(env)
    token = env.get("GITLAB_ACCESS_TOKEN", "").strip()
    if not token:
        raise UsageError(
            "GITLAB_ACCESS_TOKEN is not set",
            "set it to a project access token (api scope; read_api with GITLAB_TRIGGER_TOKEN)",
        )
    return WebhookListenerSettings(
        decision=decision,
        access_token=token,
        gitlab_url=_gitlab_url(env),
        trigger_token=env.get("GITLAB_TRIGGER_TOKEN", "").strip() or None,
        store=(
            store_location(store, name="--store")
            if store and store.strip()
            else store_location(env["WEBHOOK_STORE"])
            if env.get("WEBHOOK_STORE", "").strip()
            else default_store(env)
        ),
        lease_s=_seconds(env, "WEBHOOK_LEASE_SECONDS", LEASE_S, 1.0, 3600.0),
        retry_s=_seconds(env, "WEBHOOK_RETRY_SECONDS", RETRY_S, 0.05, 3600.0),
        connections=ConnectionLimits(
            max_connections=_whole(env, "WEBHOOK_MAX_CONNECTIONS", 1000, 8, 100_000),
            idle_s=_seconds(env, "WEBHOOK_IDLE_TIMEOUT", 10.0, 1.0, 3600.0),
            request_s=_seconds(env, "WEBHOOK_REQUEST_TIMEOUT", 10.0, 1.0, 3600.0),
        ),
    )


def _gitlab_url(env: Mapping[str, str]) -> str:
    """GITLAB_URL (else CI_SERVER_URL): with its scheme, or every hook would fail after its 202."""
    name = "GITLAB_URL" if env.get("GITLAB_URL", "").strip() else "CI_SERVER_URL"
    url = (env.get(name) or "https://gitlab.com").strip()
    if not url.startswith(("https://", "http://")):
        raise UsageError(f"{name} has no scheme (got {url!r})", f"write it in full, e.g. https://{url}")
    return url
