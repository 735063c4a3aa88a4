"""A ready ``anthropic`` client for the configured provider.

Providers: the Anthropic API (and gateways in front of it, ``ANTHROPIC_BASE_URL``), Amazon
Bedrock, Google Vertex AI and Microsoft Foundry. Which one, and its settings, are read from the
environment by ``runner.settings.provider`` into a ``ProviderConfig``; building the client from
it reads no environment.

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

from runner.errors import UsageError
from runner.providers.base import ClientOptions

if TYPE_CHECKING:
    import anthropic

    from runner.settings.anthropic_auth import FederationSettings

PROVIDERS = ("anthropic", "bedrock", "vertex", "foundry")
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


@dataclass(frozen=True)
class ProviderConfig:
    """Everything needed to reach the model, as ``runner.settings.provider`` read it (no network).

    ``api_key`` / ``auth_token`` / ``oauth_token`` (``CLAUDE_CODE_OAUTH_TOKEN``) / ``federation``
    (workload identity federation) / ``base_url`` belong to the Anthropic path, at most one
    credential kept (``notes`` says which were ignored); ``settings`` is the
    cloud provider's settings object for the others (from ``runner.settings.<name>``). ``headers``
    (``ANTHROPIC_CUSTOM_HEADERS``) and ``timeout_s`` (``API_TIMEOUT_MS``) apply to every provider,
    as in Claude Code.
    """

    name: str = "anthropic"
    api_key: str | None = None
    auth_token: str | None = None
    oauth_token: str | None = None
    federation: FederationSettings | None = None
    base_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 600.0
    settings: Any = None
    chosen_by: str = "default"  # "provider setting", "CLAUDE_CODE_USE_BEDROCK", ...: for messages
    notes: tuple[str, ...] = ()  # credentials that were set but lost to a stronger one

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
        if self.auth_token:
            return "ANTHROPIC_AUTH_TOKEN"
        if self.oauth_token:
            return "CLAUDE_CODE_OAUTH_TOKEN"
        return self.federation.key_source if self.federation is not None else "none"

    @property
    def needs_oidc(self) -> bool:
        """Whether building the client asks the CI job's OIDC token source for a token."""
        if self.name == "anthropic":
            return self.federation is not None and self.federation.needs_oidc
        return bool(getattr(self.settings, "needs_oidc", False))

    @property
    def oidc_audience(self) -> str | None:
        """The ``aud`` that token must carry, when one is needed."""
        if not self.needs_oidc:
            return None
        if self.name == "anthropic" and self.federation is not None:
            return self.federation.audience
        value = getattr(self.settings, "oidc_audience", None)
        return str(value) if value else None

    def describe(self) -> str:
        """One line for people: provider, how it was chosen, where requests go. No secrets."""
        if self.name == "anthropic":
            where = f"gateway {self.base_url}" if self.is_gateway else "api.anthropic.com"
            how = f": {self.federation.describe()}" if self.federation is not None else ""
            ignored = f" ({'; '.join(self.notes)})" if self.notes else ""
            return f"{self.label} via {where} ({self.key_source}){how}{ignored}"
        detail = getattr(self.settings, "describe", None)
        extra = str(detail()) if callable(detail) else ""
        return f"{self.label} ({self.chosen_by})" + (f": {extra}" if extra else "")

    def secrets(self) -> list[str]:
        """Values that must never be printed."""
        values = [v for v in (self.api_key, self.auth_token, self.oauth_token) if v]
        if self.federation is not None and self.federation.identity_token:
            values.append(self.federation.identity_token)
        values += [v for v in self.headers.values() if len(v) >= 8]
        if self.name != "anthropic" and self.settings is not None:
            values += [v for v in provider_module(self.name).secrets(self.settings) if v]
        return values


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
    credentials: Any = None
    if config.federation is not None:
        from runner.providers.anthropic_federation import federated_token

        # The first exchange happens here, so a refused rule fails the doctor's credentials step.
        credentials = federated_token(
            config.federation, options, base_url=config.base_url, timeout_s=min(options.timeout_s, 30.0)
        )
    elif config.oauth_token:
        from anthropic.lib.credentials import StaticToken

        # As a credentials provider (not auth_token) so the SDK adds the OAuth API beta flag to
        # every request's anthropic-beta header, merged with the betas a request asks for.
        credentials = StaticToken(config.oauth_token)
    return anthropic.Anthropic(
        api_key=config.api_key,
        auth_token=config.auth_token if not config.api_key else None,
        credentials=credentials,
        base_url=config.base_url,
        default_headers=dict(options.headers) or None,
        timeout=options.timeout_s,
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(verify=False) if plain_http else None,
    )


__all__ = [
    "LABELS",
    "PROVIDERS",
    "USE_VARS",
    "ProviderConfig",
    "build_client",
    "client_options",
    "provider_module",
]
