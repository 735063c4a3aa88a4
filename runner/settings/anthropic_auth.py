"""How the runner signs in to the Anthropic API besides an API key, read once (no network).

- **Subscription token** (``CLAUDE_CODE_OAUTH_TOKEN``, the ``claude_code_oauth_token`` input): the
  long-lived OAuth token ``claude setup-token`` prints, sent as ``Authorization: Bearer`` with the
  OAuth API beta flag, as Claude Code sends it. Anthropic API only.
- **Workload identity federation** (the Claude API's WIF reference variables):
  ``ANTHROPIC_FEDERATION_RULE_ID`` (``fdrl_...``) and ``ANTHROPIC_ORGANIZATION_ID`` (a UUID), with
  ``ANTHROPIC_SERVICE_ACCOUNT_ID`` (``svac_...``), ``ANTHROPIC_WORKSPACE_ID`` (``wrkspc_...`` or
  ``default``) and ``ANTHROPIC_SCOPE`` optional; the identity token is ``ANTHROPIC_IDENTITY_TOKEN``
  or ``ANTHROPIC_IDENTITY_TOKEN_FILE`` when set, else the CI job's OIDC token requested for
  ``ANTHROPIC_OIDC_AUDIENCE`` (the ``anthropic_oidc_audience`` input; default
  ``https://api.anthropic.com``). Half a configuration is an error naming the missing half.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from runner.errors import CredentialsError, UsageError

OAUTH_TOKEN_VAR = "CLAUDE_CODE_OAUTH_TOKEN"
RULE_VAR = "ANTHROPIC_FEDERATION_RULE_ID"
ORGANIZATION_VAR = "ANTHROPIC_ORGANIZATION_ID"
SERVICE_ACCOUNT_VAR = "ANTHROPIC_SERVICE_ACCOUNT_ID"
WORKSPACE_VAR = "ANTHROPIC_WORKSPACE_ID"
SCOPE_VAR = "ANTHROPIC_SCOPE"
IDENTITY_TOKEN_VAR = "ANTHROPIC_IDENTITY_TOKEN"
IDENTITY_TOKEN_FILE_VAR = "ANTHROPIC_IDENTITY_TOKEN_FILE"
AUDIENCE_VAR = "ANTHROPIC_OIDC_AUDIENCE"
DEFAULT_AUDIENCE = "https://api.anthropic.com"
# Variables that say "federation" (any of them set without the two required ones is a mistake).
FEDERATION_VARS = (RULE_VAR, ORGANIZATION_VAR, SERVICE_ACCOUNT_VAR, WORKSPACE_VAR)
# The action input that sets each variable, for messages that name what the user wrote.
INPUT_OF = {
    OAUTH_TOKEN_VAR: "claude_code_oauth_token",
    RULE_VAR: "anthropic_federation_rule_id",
    ORGANIZATION_VAR: "anthropic_organization_id",
    SERVICE_ACCOUNT_VAR: "anthropic_service_account_id",
    WORKSPACE_VAR: "anthropic_workspace_id",
    AUDIENCE_VAR: "anthropic_oidc_audience",
}
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TAGGED = re.compile(r"[A-Za-z0-9_-]+")


def named(var: str) -> str:
    """``ANTHROPIC_FEDERATION_RULE_ID (input anthropic_federation_rule_id)``: both spellings."""
    return f"{var} (input {INPUT_OF[var]})" if var in INPUT_OF else var


@dataclass(frozen=True)
class FederationSettings:
    """A workload identity federation sign-in, validated; the exchange happens in ``providers``."""

    rule_id: str
    organization_id: str
    service_account_id: str | None = None
    workspace_id: str | None = None
    scope: str | None = None
    audience: str = DEFAULT_AUDIENCE
    identity_token_file: str | None = None
    identity_token: str | None = field(default=None, repr=False)

    @property
    def needs_oidc(self) -> bool:
        """Whether the identity token comes from the CI job's OIDC token source."""
        return not self.identity_token_file and not self.identity_token

    @property
    def key_source(self) -> str:
        """For messages and the ``system/init`` event: the rule, never a token."""
        return f"workload identity federation ({self.rule_id})"

    def describe(self) -> str:
        """One line for the doctor: rule, organization, service account, workspace."""
        parts = [f"rule {self.rule_id}", f"organization {self.organization_id}"]
        if self.service_account_id:
            parts.append(f"service account {self.service_account_id}")
        parts.append(f"workspace {self.workspace_id or '(chosen by the rule)'}")
        if self.identity_token_file:
            parts.append(f"identity token from {self.identity_token_file}")
        elif self.identity_token:
            parts.append(f"identity token from {IDENTITY_TOKEN_VAR}")
        else:
            parts.append(f"the job's OIDC token for aud {self.audience}")
        return ", ".join(parts)


def _value(env: Mapping[str, str], var: str) -> str | None:
    return env.get(var, "").strip() or None


def _tagged(env: Mapping[str, str], var: str, prefix: str, *, also: tuple[str, ...] = ()) -> str | None:
    value = _value(env, var)
    if value is None or value in also:
        return value
    if not value.startswith(prefix) or not _TAGGED.fullmatch(value):
        example = f"{prefix}..." + (f" or {' or '.join(also)}" if also else "")
        raise UsageError(
            f"{named(var)} must be an id like {example} (got {value!r})",
            "copy it from Claude Console → Settings → Workload identity",
        )
    return value


def read_oauth_token(env: Mapping[str, str]) -> str | None:
    """``CLAUDE_CODE_OAUTH_TOKEN``, or None."""
    return _value(env, OAUTH_TOKEN_VAR)


def read_federation_settings(env: Mapping[str, str]) -> FederationSettings | None:
    """The federation settings, None when none of them is set; half a setup is an error."""
    given = [var for var in FEDERATION_VARS if _value(env, var)]
    if not given:
        return None
    missing = [var for var in (RULE_VAR, ORGANIZATION_VAR) if not _value(env, var)]
    if missing:
        raise CredentialsError(
            f"workload identity federation needs {' and '.join(named(v) for v in missing)} "
            f"(only {', '.join(named(v) for v in given)} is set)",
            "set both the federation rule id (fdrl_...) and the organization id (a UUID), from "
            "Claude Console → Settings → Workload identity",
        )
    rule = _tagged(env, RULE_VAR, "fdrl_")
    organization = _value(env, ORGANIZATION_VAR) or ""
    if not _UUID.fullmatch(organization):
        raise UsageError(
            f"{named(ORGANIZATION_VAR)} must be the organization's UUID (got {organization!r})",
            "copy it from Claude Console → Settings → Organization",
        )
    audience = _value(env, AUDIENCE_VAR) or DEFAULT_AUDIENCE
    return FederationSettings(
        rule_id=rule or "",
        organization_id=organization,
        service_account_id=_tagged(env, SERVICE_ACCOUNT_VAR, "svac_"),
        workspace_id=_tagged(env, WORKSPACE_VAR, "wrkspc_", also=("default",)),
        scope=_value(env, SCOPE_VAR),
        audience=audience,
        identity_token_file=_value(env, IDENTITY_TOKEN_FILE_VAR),
        identity_token=_value(env, IDENTITY_TOKEN_VAR),
    )


def anthropic_only_error(env: Mapping[str, str], label: str, chosen_by: str) -> UsageError | None:
    """The error for a subscription token or federation settings with a cloud provider, or None."""
    given = [var for var in (OAUTH_TOKEN_VAR, *FEDERATION_VARS[:2]) if _value(env, var)]
    if not given:
        return None
    return UsageError(
        f"{named(given[0])} signs in to the Anthropic API only, but the provider is {label} ({chosen_by})",
        f"remove {INPUT_OF[given[0]]} (and its variable), or use the Anthropic API",
    )


__all__ = [
    "AUDIENCE_VAR",
    "DEFAULT_AUDIENCE",
    "FEDERATION_VARS",
    "IDENTITY_TOKEN_FILE_VAR",
    "IDENTITY_TOKEN_VAR",
    "OAUTH_TOKEN_VAR",
    "FederationSettings",
    "anthropic_only_error",
    "named",
    "read_federation_settings",
    "read_oauth_token",
]
