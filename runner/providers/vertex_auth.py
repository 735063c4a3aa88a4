"""Google access tokens for Vertex AI that refresh themselves, and what a refused exchange means.

Two ways to get a Google access token:

- **Workload identity federation** (``VertexSettings.workload_identity_provider`` and
  ``service_account``): the CI job's OIDC token, requested for the audience
  ``https://iam.googleapis.com/<provider resource name>`` (the audience Google STS accepts by default
  for an OIDC provider whose allowed audiences are left empty), is exchanged at Google STS for a
  federated token, which impersonates the service account through IAM Credentials
  ``generateAccessToken``. google-auth's ``identity_pool.Credentials`` does both calls.
- **Application Default Credentials** otherwise (``GOOGLE_APPLICATION_CREDENTIALS``, e.g. written by
  ``google-github-actions/auth``; gcloud; the metadata server), found by google-auth itself.

The token's expiry is judged with ``ClientOptions.clock`` (not google-auth's own clock): the
``AnthropicVertex`` client asks ``credentials.expired`` before every request and calls
``credentials.refresh()`` when it is, which mints a new token from scratch (a fresh OIDC token, a
new STS exchange, a new ``generateAccessToken``). google-auth is imported only when a token is
minted.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Callable
from typing import Any

from runner.errors import CredentialsError
from runner.providers.base import ClientOptions, TokenSource
from runner.settings.vertex import PROVIDER_PATTERN, VertexSettings

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
REFRESH_MARGIN_S = 300.0  # mint a new token this long before the old one expires


class RefreshingCredentials:
    """The google-auth credentials interface ``AnthropicVertex`` uses (``token``, ``expired``,
    ``refresh(request)``), with expiry judged by ``clock``; ``mint(request)`` returns a new token and
    its expiry (epoch seconds)."""

    def __init__(
        self,
        mint: Callable[[Any], tuple[str, float]],
        clock: Callable[[], float],
        on_secret: Callable[[str], None] | None = None,
    ) -> None:
        self._mint, self._clock, self._on_secret = mint, clock, on_secret
        self._lock = threading.Lock()
        self.token: str | None = None
        self.expires_at = 0.0
        self.refreshes = 0

    @property
    def expired(self) -> bool:
        """True when a new token is due (``REFRESH_MARGIN_S`` before the old one expires)."""
        return self.token is None or self._clock() >= self.expires_at - REFRESH_MARGIN_S

    @property
    def valid(self) -> bool:
        """google-auth's name for "has a token that is not expired"."""
        return not self.expired

    @property
    def expiry(self) -> dt.datetime:
        """When the current token expires (naive UTC, as google-auth reports it)."""
        return dt.datetime.fromtimestamp(self.expires_at, dt.UTC).replace(tzinfo=None)

    def refresh(self, request: Any) -> None:
        """Mint a new token (the SDK calls this when ``expired``)."""
        with self._lock:
            token, expires_at = self._mint(request)
            if self._on_secret is not None:
                self._on_secret(token)
            self.token, self.expires_at = token, expires_at
            self.refreshes += 1

    def apply(self, headers: dict[str, str], token: str | None = None) -> None:
        """Add the bearer header (google-auth's interface)."""
        headers["authorization"] = f"Bearer {token or self.token}"


class _OidcSupplier:
    """google-auth ``SubjectTokenSupplier``: a fresh CI OIDC token for each STS exchange."""

    def __init__(self, source: TokenSource, audience: str, on_secret: Callable[[str], None] | None) -> None:
        self.source, self.audience, self.on_secret = source, audience, on_secret
        self.last: str | None = None

    def get_subject_token(self, context: Any, request: Any) -> str:
        token = self.source.token(self.audience)
        if self.on_secret is not None:
            self.on_secret(token)
        self.last = token
        return token


def _epoch(expiry: dt.datetime | None, clock: Callable[[], float]) -> float:
    if expiry is None:  # google-auth gives no expiry: assume the usual hour
        return clock() + 3600.0
    return expiry.replace(tzinfo=dt.UTC).timestamp()


def workload_identity_credentials(settings: VertexSettings, options: ClientOptions) -> RefreshingCredentials:
    """Credentials that mint through STS + IAM from the CI's OIDC token on every refresh."""
    if options.oidc is None:
        raise CredentialsError(
            "workload identity federation needs the CI job's OIDC token, and none is available",
            "GitHub: add `permissions: id-token: write` to the job; GitLab: add an id_tokens entry with "
            f"aud: {settings.oidc_audience}",
        )
    source = options.oidc
    audience = settings.oidc_audience or ""

    def mint(request: Any) -> tuple[str, float]:
        from google.auth import exceptions, identity_pool

        supplier = _OidcSupplier(source, audience, options.on_secret)
        creds = identity_pool.Credentials(  # type: ignore[no-untyped-call]
            audience=settings.sts_audience,
            subject_token_type=JWT_TOKEN_TYPE,
            token_url=settings.sts_url,
            subject_token_supplier=supplier,
            service_account_impersonation_url=settings.impersonation_url,
            scopes=[CLOUD_PLATFORM_SCOPE],
        )
        try:
            creds.refresh(request)  # type: ignore[no-untyped-call]
        except exceptions.GoogleAuthError as exc:
            raise federation_error(settings, exc, supplier.last, source.name) from None
        federated = getattr(getattr(creds, "_impersonated_credentials", None), "_source_credentials", None)
        if options.on_secret is not None and isinstance(getattr(federated, "token", None), str):
            options.on_secret(federated.token)  # type: ignore[union-attr]
        return str(creds.token), _epoch(creds.expiry, options.clock)

    return RefreshingCredentials(mint, options.clock, options.on_secret)


def application_default_credentials(
    settings: VertexSettings, options: ClientOptions
) -> tuple[RefreshingCredentials, str | None]:
    """Application Default Credentials and the project they name (None if they name none)."""
    import google.auth
    from google.auth import credentials as gcreds
    from google.auth import exceptions

    try:
        # No scopes here: with scopes, google-auth would look the project up over the network.
        creds, project = google.auth.default()
    except exceptions.DefaultCredentialsError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CredentialsError(
            f"no Google credentials for Vertex AI ({first})",
            "set GCP_WORKLOAD_IDENTITY_PROVIDER and GCP_SERVICE_ACCOUNT (inputs "
            "gcp_workload_identity_provider, gcp_service_account) to use the CI's OIDC token, or set "
            "GOOGLE_APPLICATION_CREDENTIALS",
        ) from None
    creds = gcreds.with_scopes_if_required(creds, [CLOUD_PLATFORM_SCOPE])  # type: ignore[no-untyped-call]

    def mint(request: Any) -> tuple[str, float]:
        try:
            creds.refresh(request)
        except exceptions.GoogleAuthError as exc:
            raise federation_error(settings, exc, None, "application default credentials") from None
        return str(creds.token), _epoch(creds.expiry, options.clock)

    return RefreshingCredentials(mint, options.clock, options.on_secret), project


# -- errors ---------------------------------------------------------------------------------------


def _jwt_claims(token: str | None) -> dict[str, Any]:
    """The payload of a JWT, unverified (only to name its audience in a message)."""
    try:
        payload = (token or "").split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _error_json(exc: BaseException) -> dict[str, Any]:
    for arg in reversed(exc.args):
        if isinstance(arg, bytes):
            arg = arg.decode(errors="replace")
        if isinstance(arg, str) and arg.lstrip().startswith("{"):
            try:
                data = json.loads(arg)
            except ValueError:
                continue
            if isinstance(data, dict):
                return data
    return {}


def federation_error(
    settings: VertexSettings, exc: BaseException, subject_token: str | None, source_name: str
) -> CredentialsError:
    """A one-line, actionable error for a failed STS exchange or service-account impersonation."""
    body = _error_json(exc)
    provider = settings.workload_identity_provider or "<provider>"
    account = settings.service_account or "<service account>"
    pool = provider.rsplit("/providers/", 1)[0]
    match = PROVIDER_PATTERN.fullmatch(provider)
    provider_id = match["provider"] if match else "<provider>"
    pool_id = match["pool"] if match else "<pool>"
    oauth_error = body.get("error")
    if isinstance(oauth_error, str):  # Google STS speaks OAuth 2.0 token exchange (RFC 8693)
        description = str(body.get("error_description", ""))
        if oauth_error == "invalid_grant" and "audience" in description.lower():
            aud = _jwt_claims(subject_token).get("aud")
            shown = ", ".join(aud) if isinstance(aud, list) else str(aud or "?")
            return CredentialsError(
                f"Google STS rejected the OIDC token from {source_name}: its audience {shown} is not "
                f"allowed by workload identity provider {provider}",
                f"request the token for {settings.oidc_audience} (GitLab: id_tokens aud:) or add {shown} "
                f"to the provider: gcloud iam workload-identity-pools providers update-oidc {provider_id} "
                f"--location=global --workload-identity-pool={pool_id} --allowed-audiences={shown}",
            )
        if oauth_error == "unauthorized_client" or "attribute condition" in description.lower():
            return CredentialsError(
                f"Google STS rejected the OIDC token from {source_name}: {description or oauth_error}",
                "the provider's --attribute-condition must accept this repository, e.g. "
                "assertion.repository=='OWNER/REPO' (GitHub) or assertion.project_path=='group/project' "
                "(GitLab)",
            )
        if oauth_error == "invalid_target":
            return CredentialsError(
                f"Google STS does not know workload identity provider {provider} ({description})",
                "check GCP_WORKLOAD_IDENTITY_PROVIDER: the pool and provider must exist and be enabled, "
                "and the name must use the project NUMBER",
            )
        return CredentialsError(
            f"Google STS rejected the OIDC token from {source_name}: {oauth_error}: {description}",
            f"check the issuer and attribute mapping of workload identity provider {provider}",
        )
    error = body.get("error")
    if isinstance(error, dict):  # IAM Credentials (google.rpc.Status)
        code, status = error.get("code"), str(error.get("status", ""))
        message = str(error.get("message", "")).splitlines()[0] if error.get("message") else status
        if code == 403 or status == "PERMISSION_DENIED":
            return CredentialsError(
                f"the workload identity pool may not impersonate {account} (IAM: {message})",
                f"gcloud iam service-accounts add-iam-policy-binding {account} "
                "--role=roles/iam.workloadIdentityUser "
                f"--member='principalSet://iam.googleapis.com/{pool}/attribute.repository/OWNER/REPO' "
                "(GitLab: attribute.project_path/group/project)",
            )
        if code == 404 or status == "NOT_FOUND":
            return CredentialsError(
                f"service account {account} does not exist (IAM: {message})",
                "check GCP_SERVICE_ACCOUNT (gcloud iam service-accounts list)",
            )
        return CredentialsError(
            f"IAM Credentials refused a token for {account}: {code} {status}: {message}",
            "check that the IAM Service Account Credentials API is enabled in the service account's project",
        )
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if type(exc).__name__ == "TransportError":
        return CredentialsError(
            f"could not reach Google's token service: {first}", "check the job's network access"
        )
    return CredentialsError(
        f"could not get a Google access token: {first}",
        "check GCP_WORKLOAD_IDENTITY_PROVIDER and GCP_SERVICE_ACCOUNT, or the application default "
        "credentials",
    )


__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "RefreshingCredentials",
    "application_default_credentials",
    "federation_error",
    "workload_identity_credentials",
]
