"""A ready ``anthropic`` client for the configured provider.

Only the Anthropic API (and gateways in front of it) is wired in this version; the
``ProviderConfig`` shape and ``build_client`` entry point are where Bedrock, Vertex AI and
Foundry slot in. SDKs are imported here, lazily, so ``claude-runner --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runner.errors import CredentialsError, UsageError

if TYPE_CHECKING:
    import anthropic

_OTHER_PROVIDERS = {
    "CLAUDE_CODE_USE_BEDROCK": "Amazon Bedrock",
    "CLAUDE_CODE_USE_VERTEX": "Google Vertex AI",
    "CLAUDE_CODE_USE_FOUNDRY": "Microsoft Foundry",
}


@dataclass(frozen=True)
class ProviderConfig:
    """Everything needed to reach the model, resolved from the environment."""

    name: str = "anthropic"
    api_key: str | None = None
    auth_token: str | None = None
    base_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 600.0

    @property
    def is_gateway(self) -> bool:
        """True when requests go somewhere other than api.anthropic.com."""
        return bool(self.base_url) and "api.anthropic.com" not in (self.base_url or "")

    @property
    def key_source(self) -> str:
        """Where the credential came from, for the ``system/init`` event (never the value)."""
        if self.api_key:
            return "ANTHROPIC_API_KEY"
        return "ANTHROPIC_AUTH_TOKEN" if self.auth_token else "none"

    def secrets(self) -> list[str]:
        """Values that must never be printed."""
        values = [v for v in (self.api_key, self.auth_token) if v]
        return values + [v for v in self.headers.values() if len(v) >= 8]


def provider_from_env(env: Mapping[str, str]) -> ProviderConfig:
    """Read the provider settings Claude Code reads; fail before any network call if unusable."""
    for var, label in _OTHER_PROVIDERS.items():
        if env.get(var, "").strip().lower() in {"1", "true", "yes"}:
            raise CredentialsError(
                f"{var} is set but {label} is not supported by this version of claude-runner",
                f"unset {var} and use ANTHROPIC_API_KEY, or an ANTHROPIC_BASE_URL gateway",
            )
    api_key = env.get("ANTHROPIC_API_KEY", "").strip() or None
    auth_token = env.get("ANTHROPIC_AUTH_TOKEN", "").strip() or None
    if not api_key and not auth_token:
        raise CredentialsError(
            "no Anthropic credentials found",
            "set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN with ANTHROPIC_BASE_URL for a gateway)",
        )
    base_url = env.get("ANTHROPIC_BASE_URL", "").strip().rstrip("/") or None
    if base_url and not base_url.startswith(("http://", "https://")):
        raise UsageError(f"ANTHROPIC_BASE_URL must start with http:// or https:// (got {base_url!r})")
    timeout_ms = env.get("API_TIMEOUT_MS", "").strip()
    timeout_s = 600.0
    if timeout_ms:
        if not timeout_ms.isdigit() or int(timeout_ms) == 0:
            raise UsageError(
                f"API_TIMEOUT_MS must be a positive whole number of milliseconds (got {timeout_ms!r})"
            )
        timeout_s = int(timeout_ms) / 1000
    return ProviderConfig(
        api_key=api_key,
        auth_token=auth_token,
        base_url=base_url,
        headers=parse_custom_headers(env.get("ANTHROPIC_CUSTOM_HEADERS", "")),
        timeout_s=timeout_s,
    )


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


def build_client(config: ProviderConfig) -> anthropic.Anthropic:
    """An SDK client with retries off: the agent loop retries itself, so it can report each one."""
    import anthropic

    # A plain-HTTP base URL (a local gateway or test double) has no TLS to verify; skipping
    # the certificate store load saves tens of milliseconds of start-up.
    plain_http = bool(config.base_url and config.base_url.startswith("http://"))
    return anthropic.Anthropic(
        api_key=config.api_key,
        auth_token=config.auth_token if not config.api_key else None,
        base_url=config.base_url,
        default_headers=dict(config.headers) or None,
        timeout=config.timeout_s,
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(verify=False) if plain_http else None,
    )
