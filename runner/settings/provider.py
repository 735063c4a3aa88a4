"""Which provider serves the model, and its settings: read once from the environment.

Selection follows Claude Code: exactly one of ``CLAUDE_CODE_USE_BEDROCK`` / ``_VERTEX`` /
``_FOUNDRY``, or none for the Anthropic API; the runner adds an explicit ``provider`` setting
(``CLAUDE_RUNNER_PROVIDER``, which the flows set from their ``provider`` input). Conflicts and
missing settings fail here, before any network call, naming the variable. The result is a
``ProviderConfig`` (``runner.providers``), which builds the client and reads no environment.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from runner.errors import CredentialsError, UsageError
from runner.providers import LABELS, PROVIDERS, USE_VARS, ProviderConfig, provider_module
from runner.settings.anthropic_auth import (
    OAUTH_TOKEN_VAR,
    anthropic_only_error,
    read_federation_settings,
    read_oauth_token,
)

PROVIDER_VAR = "CLAUDE_RUNNER_PROVIDER"
# Claude Code providers this runner does not speak; naming them beats silently using another.
_UNSUPPORTED = {
    "CLAUDE_CODE_USE_MANTLE": "Amazon Bedrock Mantle",
    "CLAUDE_CODE_USE_ANTHROPIC_AWS": "Claude Platform on AWS",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _reader(module: str, name: str) -> Callable[[Mapping[str, str]], Any]:
    """A cloud provider's settings reader, its module loaded when that provider is chosen (a run on
    the Anthropic API, the most common, reads none of them before its first comment)."""

    def read(env: Mapping[str, str]) -> Any:
        return getattr(importlib.import_module(module), name)(env)

    return read


# Each cloud provider's settings reader (pure: no SDK is imported to read settings).
CLOUD_SETTINGS_READERS: dict[str, Callable[[Mapping[str, str]], Any]] = {
    "bedrock": _reader("runner.settings.bedrock", "read_bedrock_settings"),
    "vertex": _reader("runner.settings.vertex", "read_vertex_settings"),
    "foundry": _reader("runner.settings.foundry", "read_foundry_settings"),
}


def _flag(env: Mapping[str, str], var: str) -> bool:
    raw = env.get(var, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise UsageError(
        f"{var} must be 1 or 0 (got {env.get(var, '')!r})", f"set {var}=1 to use it, or unset it"
    )


def choose_provider(env: Mapping[str, str], provider: str | None = None) -> tuple[str, str]:
    """The provider's name and what chose it; conflicting settings are a ``UsageError``.

    ``provider`` (a flag or input) wins over ``CLAUDE_RUNNER_PROVIDER``; either must agree with
    any ``CLAUDE_CODE_USE_*`` flag that is on: a workflow that says two things is refused rather
    than guessed at, since the wrong guess bills the wrong account.
    """
    for var, label in _UNSUPPORTED.items():
        if _flag(env, var):
            raise UsageError(
                f"{var} is set but {label} is not supported by claude-runner",
                f"unset {var}; use provider bedrock (CLAUDE_CODE_USE_BEDROCK=1) or the Anthropic API",
            )
    flags = [name for name, var in USE_VARS.items() if _flag(env, var)]
    explicit = (provider or env.get(PROVIDER_VAR, "")).strip().lower()
    setting = "provider setting" if provider else PROVIDER_VAR
    if explicit:
        if explicit not in PROVIDERS:
            raise UsageError(
                f"unknown provider {explicit!r} ({setting})", f"use one of {', '.join(PROVIDERS)}"
            )
        others = [USE_VARS[name] for name in flags if name != explicit]
        if others:
            raise UsageError(
                f"provider {explicit} ({setting}) conflicts with {' and '.join(others)}",
                f"unset {' and '.join(others)}, or set the provider to match",
            )
        return explicit, setting
    if len(flags) > 1:
        names = " and ".join(USE_VARS[name] for name in flags)
        raise UsageError(
            f"{names} are both set: choose one provider",
            "unset all but one (in the action: only one of use_bedrock, use_vertex, use_foundry)",
        )
    if flags:
        return flags[0], USE_VARS[flags[0]]
    return "anthropic", "default"


def read_provider_config(env: Mapping[str, str], *, provider: str | None = None) -> ProviderConfig:
    """Read the provider settings Claude Code reads; fail before any network call if unusable."""
    name, chosen_by = choose_provider(env, provider)
    headers = parse_custom_headers(env.get("ANTHROPIC_CUSTOM_HEADERS", ""))
    timeout_s = _timeout(env)
    if name != "anthropic":
        not_here = anthropic_only_error(env, LABELS[name], chosen_by)
        if not_here is not None:
            raise not_here
        provider_module(name)  # a provider whose SDK is missing fails here, at the settings step
        settings = CLOUD_SETTINGS_READERS[name](env)
        return ProviderConfig(
            name=name, headers=headers, timeout_s=timeout_s, settings=settings, chosen_by=chosen_by
        )
    api_key = env.get("ANTHROPIC_API_KEY", "").strip() or None
    auth_token = env.get("ANTHROPIC_AUTH_TOKEN", "").strip() or None
    oauth_token = read_oauth_token(env)
    federation = read_federation_settings(env)
    if not api_key and not auth_token and not oauth_token and federation is None:
        raise CredentialsError(
            "no Anthropic credentials found",
            "set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN with ANTHROPIC_BASE_URL for a gateway), "
            f"{OAUTH_TOKEN_VAR}, workload identity federation (ANTHROPIC_FEDERATION_RULE_ID and "
            "ANTHROPIC_ORGANIZATION_ID), or choose a cloud provider (CLAUDE_CODE_USE_BEDROCK=1, ...)",
        )
    # Claude Code's order: a key or bearer token, then the subscription token, then federation.
    static = "ANTHROPIC_API_KEY" if api_key else "ANTHROPIC_AUTH_TOKEN" if auth_token else None
    notes: list[str] = []
    if static and oauth_token:
        notes.append(f"{OAUTH_TOKEN_VAR} is ignored: {static} is set")
        oauth_token = None
    if (static or oauth_token) and federation is not None:
        notes.append(f"workload identity federation is ignored: {static or OAUTH_TOKEN_VAR} is set")
        federation = None
    base_url = env.get("ANTHROPIC_BASE_URL", "").strip().rstrip("/") or None
    if base_url and not base_url.startswith(("http://", "https://")):
        raise UsageError(f"ANTHROPIC_BASE_URL must start with http:// or https:// (got {base_url!r})")
    return ProviderConfig(
        api_key=api_key,
        auth_token=auth_token,
        oauth_token=oauth_token,
        federation=federation,
        notes=tuple(notes),
        base_url=base_url,
        headers=headers,
        timeout_s=timeout_s,
        chosen_by=chosen_by,
    )


def _timeout(env: Mapping[str, str]) -> float:
    timeout_ms = env.get("API_TIMEOUT_MS", "").strip()
    if not timeout_ms:
        return 600.0
    if not timeout_ms.isdigit() or int(timeout_ms) == 0:
        raise UsageError(
            f"API_TIMEOUT_MS must be a positive whole number of milliseconds (got {timeout_ms!r})"
        )
    return int(timeout_ms) / 1000


def parse_custom_headers(raw: str) -> dict[str, str]:
    """``ANTHROPIC_CUSTOM_HEADERS``: ``Name: Value`` lines, newline-separated."""
    headers: dict[str, str] = {}
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            raise UsageError(f"ANTHROPIC_CUSTOM_HEADERS line {number} is not 'Name: Value'")
        headers[name.strip()] = value.strip()
    return headers


__all__ = [
    "CLOUD_SETTINGS_READERS",
    "PROVIDER_VAR",
    "choose_provider",
    "parse_custom_headers",
    "read_provider_config",
]
