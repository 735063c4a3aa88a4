"""A ready ``anthropic`` client for the configured provider, and the choice of that provider.

Providers: the Anthropic API (and gateways in front of it, ``ANTHROPIC_BASE_URL``), Amazon
Bedrock, Google Vertex AI and Microsoft Foundry. Selection follows Claude Code: exactly one of
``CLAUDE_CODE_USE_BEDROCK`` / ``_VERTEX`` / ``_FOUNDRY``, or none for the Anthropic API; the
runner adds an explicit ``provider`` setting (``CLAUDE_RUNNER_PROVIDER``, which the flows set
from their ``provider`` input). Conflicts and missing settings fail here, before any network
call, naming the variable.

The Anthropic path lives in this module. The others are modules of this package
(``bedrock.py``, ``vertex.py``, ``foundry.py``: see ``base.py`` for their contract), imported
only once chosen, so their SDKs (boto3, google-auth) load only for the provider in use.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from runner.errors import CredentialsError, UsageError
from runner.providers.base import ClientOptions

if TYPE_CHECKING:
    import anthropic

PROVIDERS = ("anthropic", "bedrock", "vertex", "foundry")
PROVIDER_VAR = "CLAUDE_RUNNER_PROVIDER"
USE_VARS: dict[str, str] = {
    "bedrock": "CLAUDE_CODE_USE_BEDROCK",
    "vertex": "CLAUDE_CODE_USE_VERTEX",
    "foundry": "CLAUDE_CODE_USE_FOUNDRY",
}
LABELS: dict[str, str] = {
    "anthropic": "Anthropic API",
    "bedrock": "Amazon Bedrock",
    "vertex": "Google Vertex AI",
    "foundry": "Microsoft Foundry",
}
# Claude Code providers this runner does not speak; naming them beats silently using another.
_UNSUPPORTED = {
    "CLAUDE_CODE_USE_MANTLE": "Amazon Bedrock Mantle",
    "CLAUDE_CODE_USE_ANTHROPIC_AWS": "Claude Platform on AWS",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class ProviderConfig:
    """Everything needed to reach the model, resolved from the environment (no network).

    ``api_key`` / ``auth_token`` / ``base_url`` belong to the Anthropic path; ``settings`` is
    the provider module's settings object for the others. ``headers`` (``ANTHROPIC_CUSTOM_HEADERS``)
    and ``timeout_s`` (``API_TIMEOUT_MS``) apply to every provider, as in Claude Code.
    """

    name: str = "anthropic"
    api_key: str | None = None
    auth_token: str | None = None
    base_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 600.0
    settings: Any = None
    chosen_by: str = "default"  # "provider setting", "CLAUDE_CODE_USE_BEDROCK", ...: for messages

    @property
    def label(self) -> str:
        """The provider's name for people: "Amazon Bedrock"."""
        return LABELS.get(self.name, self.name)

    @property
    def is_gateway(self) -> bool:
        """True when requests go somewhere other than the provider's own endpoint."""
        if self.name != "anthropic":
            return bool(getattr(self.settings, "is_gateway", False))
        return bool(self.base_url) and "api.anthropic.com" not in (self.base_url or "")

    @property
    def key_source(self) -> str:
        """Where the credential came from, for the ``system/init`` event (never the value)."""
        if self.name != "anthropic":
            return str(getattr(self.settings, "key_source", "") or self.name)
        if self.api_key:
            return "ANTHROPIC_API_KEY"
        return "ANTHROPIC_AUTH_TOKEN" if self.auth_token else "none"

    @property
    def needs_oidc(self) -> bool:
        """Whether building the client asks the CI job's OIDC token source for a token."""
        return self.name != "anthropic" and bool(getattr(self.settings, "needs_oidc", False))

    @property
    def oidc_audience(self) -> str | None:
        """The ``aud`` that token must carry, when one is needed."""
        value = getattr(self.settings, "oidc_audience", None) if self.needs_oidc else None
        return str(value) if value else None

    def describe(self) -> str:
        """One line for people: provider, how it was chosen, where requests go. No secrets."""
        if self.name == "anthropic":
            where = f"gateway {self.base_url}" if self.is_gateway else "api.anthropic.com"
            return f"{self.label} via {where} ({self.key_source})"
        detail = getattr(self.settings, "describe", None)
        extra = str(detail()) if callable(detail) else ""
        return f"{self.label} ({self.chosen_by})" + (f": {extra}" if extra else "")

    def secrets(self) -> list[str]:
        """Values that must never be printed."""
        values = [v for v in (self.api_key, self.auth_token) if v]
        values += [v for v in self.headers.values() if len(v) >= 8]
        if self.name != "anthropic" and self.settings is not None:
            values += [v for v in provider_module(self.name).secrets(self.settings) if v]
        return values


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


def provider_module(name: str) -> ModuleType:
    """``runner.providers.<name>``, imported now (it loads that cloud's SDK lazily itself)."""
    if name not in USE_VARS:
        raise ValueError(f"no provider module for {name!r}")
    module_name = f"{__name__}.{name}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise UsageError(
                f"{LABELS[name]} is not available in this build of claude-runner",
                "upgrade claude-runner, or use the Anthropic API",
            ) from None
        raise UsageError(
            f"{LABELS[name]} needs the Python package {exc.name}, which is not installed",
            f"pip install 'claude-runner[{name}]'",
        ) from None


def provider_from_env(env: Mapping[str, str], *, provider: str | None = None) -> ProviderConfig:
    """Read the provider settings Claude Code reads; fail before any network call if unusable."""
    name, chosen_by = choose_provider(env, provider)
    headers = parse_custom_headers(env.get("ANTHROPIC_CUSTOM_HEADERS", ""))
    timeout_s = _timeout(env)
    if name != "anthropic":
        settings = provider_module(name).settings_from_env(env)
        return ProviderConfig(
            name=name, headers=headers, timeout_s=timeout_s, settings=settings, chosen_by=chosen_by
        )
    api_key = env.get("ANTHROPIC_API_KEY", "").strip() or None
    auth_token = env.get("ANTHROPIC_AUTH_TOKEN", "").strip() or None
    if not api_key and not auth_token:
        raise CredentialsError(
            "no Anthropic credentials found",
            "set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN with ANTHROPIC_BASE_URL for a gateway), "
            "or choose a cloud provider (CLAUDE_CODE_USE_BEDROCK=1, ...)",
        )
    base_url = env.get("ANTHROPIC_BASE_URL", "").strip().rstrip("/") or None
    if base_url and not base_url.startswith(("http://", "https://")):
        raise UsageError(f"ANTHROPIC_BASE_URL must start with http:// or https:// (got {base_url!r})")
    return ProviderConfig(
        api_key=api_key,
        auth_token=auth_token,
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


def client_options(config: ProviderConfig, **changes: Any) -> ClientOptions:
    """The ``ClientOptions`` a config implies (timeout and headers), with ``changes`` applied."""
    return ClientOptions(**{"timeout_s": config.timeout_s, "headers": dict(config.headers), **changes})


def build_client(config: ProviderConfig, options: ClientOptions | None = None) -> Any:
    """An SDK client with retries off: the agent loop retries itself, so it can report each one.

    Cloud providers' modules obtain credentials here (an STS or token exchange), which is why
    the doctor and the flow's pre-flight build the client before anything is posted.
    """
    options = options or client_options(config)
    if config.name != "anthropic":
        return provider_module(config.name).build_client(config.settings, options)
    return _anthropic_client(config, options)


def _anthropic_client(config: ProviderConfig, options: ClientOptions) -> anthropic.Anthropic:
    import anthropic

    # A plain-HTTP base URL (a local gateway or test double) has no TLS to verify; skipping
    # the certificate store load saves tens of milliseconds of start-up.
    plain_http = bool(config.base_url and config.base_url.startswith("http://"))
    return anthropic.Anthropic(
        api_key=config.api_key,
        auth_token=config.auth_token if not config.api_key else None,
        base_url=config.base_url,
        default_headers=dict(options.headers) or None,
        timeout=options.timeout_s,
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(verify=False) if plain_http else None,
    )


__all__ = [
    "LABELS",
    "PROVIDERS",
    "PROVIDER_VAR",
    "USE_VARS",
    "ProviderConfig",
    "build_client",
    "choose_provider",
    "client_options",
    "parse_custom_headers",
    "provider_from_env",
    "provider_module",
]
