"""Microsoft Foundry settings, read once from the environment into a frozen ``FoundrySettings``.

Endpoint: ``ANTHROPIC_FOUNDRY_BASE_URL`` (e.g. ``https://my-resource.services.ai.azure.com/anthropic``)
or ``ANTHROPIC_FOUNDRY_RESOURCE`` (``my-resource``). Credentials: ``ANTHROPIC_FOUNDRY_API_KEY``
(with ``CLAUDE_CODE_SKIP_FOUNDRY_AUTH`` for a gateway), else ``AZURE_TENANT_ID`` + ``AZURE_CLIENT_ID``
for Entra ID federation with the CI's OIDC token; ``AZURE_AUTHORITY_HOST`` and
``CLAUDE_RUNNER_FOUNDRY_SCOPE`` override where and for what the Entra token is asked.

Standard library only: no SDK import happens here.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from runner.errors import CredentialsError

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_SCOPE = "https://cognitiveservices.azure.com/.default"
OIDC_AUDIENCE = "api://AzureADTokenExchange"  # what Entra expects in a federated client assertion
TRUTHY = {"1", "true", "yes", "on"}

_RESOURCE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}")
_GUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TENANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")  # a GUID or a domain like contoso.onmicrosoft.com


@dataclass(frozen=True)
class FoundrySettings:
    """Where and how to reach Claude on Microsoft Foundry, read from the environment (no network)."""

    base_url: str  # always ends in "/"
    resource: str | None = None
    api_key: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    authority_host: str = DEFAULT_AUTHORITY_HOST
    scope: str = DEFAULT_SCOPE

    @property
    def uses_entra(self) -> bool:
        """True when the Entra ID token comes from the CI's OIDC token (no API key)."""
        return self.api_key is None and self.tenant_id is not None and self.client_id is not None

    @property
    def needs_oidc(self) -> bool:
        """Whether ``build_client`` needs ``ClientOptions.oidc``."""
        return self.uses_entra

    @property
    def oidc_audience(self) -> str | None:
        """The audience to request the CI's OIDC token for (Entra's federated credential default)."""
        return OIDC_AUDIENCE if self.uses_entra else None

    @property
    def token_url(self) -> str:
        """The Entra ID v2.0 token endpoint of the tenant."""
        return f"{self.authority_host.rstrip('/')}/{self.tenant_id}/oauth2/v2.0/token"

    @property
    def auth_method(self) -> str:
        """``api-key`` or ``entra-federation``."""
        return "entra-federation" if self.uses_entra else "api-key"

    @property
    def is_gateway(self) -> bool:
        """True when requests go somewhere other than a Foundry resource's own endpoint."""
        host = urllib.parse.urlsplit(self.base_url).hostname or ""
        return not host.endswith(".services.ai.azure.com")

    @property
    def key_source(self) -> str:
        """Where the credential comes from, for the ``system/init`` event (never the value)."""
        return "ANTHROPIC_FOUNDRY_API_KEY" if self.api_key else "AZURE_CLIENT_ID (Entra ID federation)"

    def describe(self) -> str:
        """One line for people (doctor, logs): endpoint and how it authenticates. No secrets."""
        how = (
            f"Entra ID app {self.client_id} in tenant {self.tenant_id} via the CI's OIDC token"
            if self.uses_entra
            else "API key (ANTHROPIC_FOUNDRY_API_KEY)"
        )
        return f"{self.resource or self.base_url}, {how}"


def read_foundry_settings(env: Mapping[str, str]) -> FoundrySettings:
    """Validated Foundry settings; a missing or malformed value raises ``CredentialsError`` naming it."""

    def get(name: str) -> str:
        return env.get(name, "").strip()

    base_url, resource = get("ANTHROPIC_FOUNDRY_BASE_URL"), get("ANTHROPIC_FOUNDRY_RESOURCE") or None
    if base_url:
        if not base_url.startswith(("http://", "https://")):
            raise CredentialsError(
                f"ANTHROPIC_FOUNDRY_BASE_URL must start with https:// (got {base_url!r})",
                "set it like https://my-resource.services.ai.azure.com/anthropic",
            )
        resource = None  # the base URL wins, as in Claude Code
    elif resource is None:
        raise CredentialsError(
            "no Microsoft Foundry endpoint: ANTHROPIC_FOUNDRY_RESOURCE and ANTHROPIC_FOUNDRY_BASE_URL "
            "are unset",
            "set ANTHROPIC_FOUNDRY_RESOURCE to the resource name (my-resource in "
            "https://my-resource.services.ai.azure.com)",
        )
    elif not _RESOURCE_RE.fullmatch(resource):
        raise CredentialsError(
            f"ANTHROPIC_FOUNDRY_RESOURCE={resource!r} is not a resource name",
            "use only the name (my-resource), or set the full URL in ANTHROPIC_FOUNDRY_BASE_URL",
        )
    else:
        base_url = f"https://{resource}.services.ai.azure.com/anthropic"
    api_key = get("ANTHROPIC_FOUNDRY_API_KEY") or None
    tenant, client = get("AZURE_TENANT_ID") or None, get("AZURE_CLIENT_ID") or None
    skip_auth = get("CLAUDE_CODE_SKIP_FOUNDRY_AUTH").lower() in TRUTHY
    if skip_auth and api_key is None:
        raise CredentialsError(
            "CLAUDE_CODE_SKIP_FOUNDRY_AUTH is set but ANTHROPIC_FOUNDRY_API_KEY is not",
            "for a gateway, put its credential in ANTHROPIC_FOUNDRY_API_KEY",
        )
    if api_key is None and not skip_auth:
        if tenant is None and client is None:
            raise CredentialsError(
                "no Microsoft Foundry credentials",
                "set ANTHROPIC_FOUNDRY_API_KEY, or AZURE_TENANT_ID and AZURE_CLIENT_ID to use the CI's "
                "OIDC token through a federated credential",
            )
        missing = "AZURE_TENANT_ID" if tenant is None else "AZURE_CLIENT_ID" if client is None else None
        if missing:
            raise CredentialsError(
                f"{missing} is not set: Entra ID federation needs AZURE_TENANT_ID and AZURE_CLIENT_ID",
                f"set {missing} (az ad app show --id <app> --query appId; az account show --query tenantId)",
            )
        if client is not None and not _GUID_RE.fullmatch(client):
            raise CredentialsError(
                f"AZURE_CLIENT_ID={client!r} is not an application (client) id",
                "use the app registration's appId, a GUID",
            )
        if tenant is not None and not _TENANT_RE.fullmatch(tenant):
            raise CredentialsError(
                f"AZURE_TENANT_ID={tenant!r} is not a tenant id", "use the directory (tenant) id, a GUID"
            )
    authority = get("AZURE_AUTHORITY_HOST").rstrip("/") or DEFAULT_AUTHORITY_HOST
    if "://" not in authority:
        authority = f"https://{authority}"
    return FoundrySettings(
        base_url=base_url.rstrip("/") + "/",
        resource=resource,
        api_key=api_key,
        tenant_id=tenant,
        client_id=client,
        authority_host=authority,
        scope=get("CLAUDE_RUNNER_FOUNDRY_SCOPE") or DEFAULT_SCOPE,
    )


__all__ = [
    "DEFAULT_AUTHORITY_HOST",
    "DEFAULT_SCOPE",
    "OIDC_AUDIENCE",
    "FoundrySettings",
    "read_foundry_settings",
]
