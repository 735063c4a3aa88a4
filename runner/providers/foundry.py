"""Microsoft Foundry: an Entra ID token from the CI's OIDC token, and the client.

Endpoint: ``ANTHROPIC_FOUNDRY_BASE_URL`` (e.g. ``https://my-resource.services.ai.azure.com/anthropic``)
or ``ANTHROPIC_FOUNDRY_RESOURCE`` (``my-resource``: the SDK builds that URL). Credentials, first
match wins:

- ``ANTHROPIC_FOUNDRY_API_KEY``: sent as ``x-api-key`` (and ``api-key``) by ``AnthropicFoundry``;
- ``AZURE_TENANT_ID`` + ``AZURE_CLIENT_ID``: workload identity federation. The CI's OIDC token,
  requested for the audience ``api://AzureADTokenExchange``, is the client assertion of an OAuth 2.0
  client-credentials request to ``<AZURE_AUTHORITY_HOST>/<tenant>/oauth2/v2.0/token`` (the app
  registration holds a federated credential naming the CI's issuer and subject). The Entra access
  token (scope ``https://cognitiveservices.azure.com/.default``; ``CLAUDE_RUNNER_FOUNDRY_SCOPE``
  overrides it) is the client's ``azure_ad_token_provider``, which the SDK calls before every
  request; it is cached until ``REFRESH_MARGIN_S`` before it expires, by ``ClientOptions.clock``.

No azure-identity dependency: the one token request is made with the standard library. The
settings (``FoundrySettings``) are read from the environment by ``runner.settings.foundry``; this
module reads none.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from runner.errors import CredentialsError
from runner.providers.base import ClientOptions, TokenSource
from runner.settings.foundry import OIDC_AUDIENCE, FoundrySettings

if TYPE_CHECKING:
    import anthropic
    import httpx2

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REFRESH_MARGIN_S = 300.0


def secrets(settings: FoundrySettings) -> list[str]:
    """Values the redactor must hide (Entra tokens minted later go through ``on_secret``)."""
    return [settings.api_key] if settings.api_key else []


# -- Entra ID -------------------------------------------------------------------------------------


def _jwt_claims(token: str) -> dict[str, Any]:
    import base64

    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class EntraTokenProvider:
    """``azure_ad_token_provider`` for ``AnthropicFoundry``: an Entra access token obtained with the
    CI's OIDC token as client assertion, cached until ``REFRESH_MARGIN_S`` before it expires."""

    def __init__(
        self,
        settings: FoundrySettings,
        source: TokenSource,
        clock: Callable[[], float],
        on_secret: Callable[[str], None] | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.settings, self.source, self.clock, self.on_secret = settings, source, clock, on_secret
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._token: str | None = None
        self.expires_at = 0.0
        self.fetches = 0

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self.expires_at - REFRESH_MARGIN_S:
                self._token, self.expires_at = self._fetch()
                self.fetches += 1
            return self._token

    def _secret(self, value: str) -> None:
        if self.on_secret is not None:
            self.on_secret(value)

    def _fetch(self) -> tuple[str, float]:
        assertion = self.source.token(OIDC_AUDIENCE)
        self._secret(assertion)
        form = urllib.parse.urlencode(
            {
                "client_id": self.settings.client_id or "",
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
                "scope": self.settings.scope,
            }
        ).encode()
        request = urllib.request.Request(
            self.settings.token_url,
            data=form,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                body = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                error = json.loads(raw)
            except ValueError:
                error = {"error": f"HTTP {exc.code}", "error_description": raw.decode(errors="replace")[:200]}
            raise entra_error(self.settings, error if isinstance(error, dict) else {}, assertion) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise CredentialsError(
                f"could not reach Microsoft Entra ID at {self.settings.token_url}: {exc}",
                "check the job's network access and AZURE_AUTHORITY_HOST",
            ) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise CredentialsError(
                "Microsoft Entra ID answered without an access token", f"check {self.settings.token_url}"
            )
        self._secret(token)
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        return token, self.clock() + lifetime


def entra_error(settings: FoundrySettings, body: Mapping[str, Any], assertion: str) -> CredentialsError:
    """A one-line, actionable error for a refused Entra ID token request (by its AADSTS code)."""
    description = str(body.get("error_description") or body.get("error") or "unknown error")
    first = description.replace("\r", "").split("\n")[0].strip()
    codes = body.get("error_codes") or []
    found = re.search(r"AADSTS(\d+)", description)
    code = int(codes[0]) if codes and str(codes[0]).isdigit() else int(found[1]) if found else 0
    claims = _jwt_claims(assertion)
    issuer, subject = claims.get("iss", "<issuer>"), claims.get("sub", "<subject>")
    app = settings.client_id
    if code in (70021, 700211, 700212, 700213):
        parameters = json.dumps(
            {"name": "claude-runner", "issuer": issuer, "subject": subject, "audiences": [OIDC_AUDIENCE]},
            separators=(",", ":"),
        )
        return CredentialsError(
            f"Entra ID has no federated credential on app {app} for issuer {issuer} and subject {subject} "
            f"(AADSTS{code})",
            f"az ad app federated-credential create --id {app} --parameters '{parameters}' "
            "(GitHub subjects look like repo:OWNER/REPO:ref:refs/heads/main or "
            "repo:OWNER/REPO:environment:NAME; "
            "GitLab: project_path:group/project:ref_type:branch:ref:main)",
        )
    if code == 700016:
        return CredentialsError(
            f"Entra ID has no application {app} in tenant {settings.tenant_id} (AADSTS700016)",
            "check AZURE_CLIENT_ID (the app registration's appId) and AZURE_TENANT_ID",
        )
    if code in (90002, 900023):
        return CredentialsError(
            f"Entra ID does not know tenant {settings.tenant_id} (AADSTS{code})",
            "check AZURE_TENANT_ID (az account show --query tenantId)",
        )
    if code in (700024, 700027):
        return CredentialsError(
            f"Entra ID refused the OIDC token as client assertion: {first}",
            "the CI's OIDC token expired or was issued for another audience; request it for "
            f"{OIDC_AUDIENCE} (GitLab: id_tokens aud:)",
        )
    return CredentialsError(
        f"Microsoft Entra ID refused a token for app {app}: {first}",
        "check AZURE_TENANT_ID, AZURE_CLIENT_ID and the app's federated credentials",
    )


def explain_status(settings: FoundrySettings, status: int, body: object, model: str | None) -> str | None:
    """An actionable one-line message for a Foundry (not Claude) error, or None to keep the original."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or "code" not in error:
        return None  # an error Claude itself returned, already in the Messages API shape
    code, message = str(error.get("code")), str(error.get("message", "")).split("\n")[0]
    where = settings.resource or settings.base_url
    if status == 404 or code == "DeploymentNotFound":
        return (
            f"model deployment {model or '?'} does not exist in Microsoft Foundry resource {where} (404) — "
            "deploy the model under that name (pin a model version), or set ANTHROPIC_MODEL / "
            "ANTHROPIC_DEFAULT_*_MODEL to an existing deployment name"
        )
    if code == "PermissionDenied" or status == 403:
        return (
            f"the Entra ID application {settings.client_id} may not call models in {where} "
            f"({status} {message}) — az role assignment create --assignee <client-id> "
            "--role 'Cognitive Services User' --scope <resource id>"
        )
    if status == 401:
        which = "ANTHROPIC_FOUNDRY_API_KEY" if settings.api_key else "the Entra ID token"
        return (
            f"Microsoft Foundry rejected {which} (401 {message}) — check the key or the app's role assignment"
        )
    return None


# -- client ---------------------------------------------------------------------------------------


@functools.cache
def _client_class() -> type[anthropic.AnthropicFoundry]:
    import anthropic

    class RunnerFoundry(anthropic.AnthropicFoundry):
        """``AnthropicFoundry`` whose Azure (not Claude) errors read as one actionable line."""

        runner_settings: FoundrySettings

        def _make_status_error_from_response(self, response: httpx2.Response) -> anthropic.APIStatusError:
            error = super()._make_status_error_from_response(response)
            model = None
            try:
                sent = json.loads(response.request.content or b"{}")
                model = sent.get("model") if isinstance(sent, dict) else None
            except (ValueError, RuntimeError):
                pass
            message = explain_status(self.runner_settings, response.status_code, error.body, model)
            if message is not None:
                kind = {401: "authentication_error", 403: "permission_error", 404: "not_found_error"}
                error.body = {
                    "type": "error",
                    "error": {"type": kind.get(response.status_code, "api_error"), "message": message},
                }
                error.message = message
            return error

    return RunnerFoundry


def build_client(settings: FoundrySettings, options: ClientOptions) -> anthropic.AnthropicFoundry:
    """An ``AnthropicFoundry`` client: API key, or an Entra ID token that refreshes itself.

    With Entra ID the first token is fetched now, so a misconfiguration fails here."""
    import anthropic

    provider: EntraTokenProvider | None = None
    if settings.uses_entra:
        if options.oidc is None:
            raise CredentialsError(
                "Entra ID federation needs the CI job's OIDC token, and none is available",
                "GitHub: add `permissions: id-token: write` to the job; GitLab: add an id_tokens entry with "
                f"aud: {OIDC_AUDIENCE}",
            )
        provider = EntraTokenProvider(settings, options.oidc, options.clock, options.on_secret)
        provider()
    cls = type("RunnerFoundryClient", (_client_class(),), {"runner_settings": settings})
    client: anthropic.AnthropicFoundry = cls(
        base_url=settings.base_url,
        api_key=settings.api_key,
        azure_ad_token_provider=provider,
        timeout=options.timeout_s,
        max_retries=0,  # the agent loop retries, and reports each retry
        default_headers=dict(options.headers) or None,
        http_client=(
            anthropic.DefaultHttpxClient(verify=False) if settings.base_url.startswith("http://") else None
        ),
    )
    return client


__all__ = [
    "EntraTokenProvider",
    "build_client",
    "entra_error",
    "explain_status",
    "secrets",
]
