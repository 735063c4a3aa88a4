"""Settings of ``claude-runner webhook``, the GitLab hook listener, read once from the environment.

``WebhookSettings`` is what the pure decision (``runner/webhook/decision.py``) needs;
``WebhookListenerSettings`` adds what the running listener needs to reach GitLab. Both readers fail
with a one-line ``UsageError`` (exit 2) naming the variable to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from runner.errors import UsageError
from runner.platforms.base import PERMISSION_ORDER
from runner.platforms.gitlab_data import access_permission
from runner.triggers import TriggerSettings, parse_allowed_bots

# GitLab's role names and their access levels, for MIN_ACCESS_LEVEL.
ROLE_LEVELS = {"guest": 10, "planner": 15, "reporter": 20, "developer": 30, "maintainer": 40, "owner": 50}

MAX_BODY_BYTES = 1_000_000

MrRef = Literal["source", "default"]


@dataclass(frozen=True)
class WebhookSettings:
    """What the listener needs to decide; built from the environment by ``read_webhook_settings``."""

    secret: str
    triggers: TriggerSettings = field(default_factory=TriggerSettings)
    min_permission: str = "write"  # GitLab Developer (30) and up
    mr_ref: MrRef = "source"  # same-project MRs: run on the source branch, or on the default branch
    max_body_bytes: int = MAX_BODY_BYTES


@dataclass(frozen=True)
class WebhookListenerSettings:
    """Everything ``claude-runner webhook`` is configured with: the decision's settings and GitLab's
    address and tokens."""

    decision: WebhookSettings
    access_token: str = field(repr=False)  # GITLAB_ACCESS_TOKEN: reads access levels, starts pipelines
    gitlab_url: str = "https://gitlab.com"  # GITLAB_URL, else CI_SERVER_URL
    trigger_token: str | None = field(default=None, repr=False)  # GITLAB_TRIGGER_TOKEN, optional


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
    )


def read_webhook_listener_settings(env: Mapping[str, str]) -> WebhookListenerSettings:
    """``read_webhook_settings`` plus GitLab's URL and tokens; ``UsageError`` (exit 2) without an access
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
        gitlab_url=(env.get("GITLAB_URL") or env.get("CI_SERVER_URL") or "https://gitlab.com").strip(),
        trigger_token=env.get("GITLAB_TRIGGER_TOKEN", "").strip() or None,
    )
