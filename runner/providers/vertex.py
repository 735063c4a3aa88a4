"""Google Vertex AI (Google Cloud's Agent Platform): short-lived credentials and the client.

Two ways to get a Google access token:

- **Workload identity federation** (``GCP_WORKLOAD_IDENTITY_PROVIDER`` + ``GCP_SERVICE_ACCOUNT``):
  the CI job's OIDC token, requested for the audience
  ``https://iam.googleapis.com/<provider resource name>`` (the audience Google STS accepts by default
  for an OIDC provider whose allowed audiences are left empty), is exchanged at Google STS for a
  federated token, which impersonates the service account through IAM Credentials
  ``generateAccessToken``. google-auth's ``identity_pool.Credentials`` does both calls.
- **Application Default Credentials** otherwise (``GOOGLE_APPLICATION_CREDENTIALS``, e.g. written by
  ``google-github-actions/auth``; gcloud; the metadata server).

The token's expiry is judged with ``ClientOptions.clock`` (not google-auth's own clock): the
``AnthropicVertex`` client asks ``credentials.expired`` before every request and calls
``credentials.refresh()`` when it is, which mints a new token from scratch (a fresh OIDC token, a
new STS exchange, a new ``generateAccessToken``).

The settings (project, region, per-model regions, how to authenticate: ``VertexSettings``) are
read from the environment by ``runner.settings.vertex``; this module reads none.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runner.errors import CredentialsError
from runner.providers.base import ClientOptions, TokenSource
from runner.settings.vertex import PROVIDER_PATTERN, VertexSettings, missing_project_error, region_variable

if TYPE_CHECKING:
    import anthropic
    import httpx2
    from anthropic._models import FinalRequestOptions

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
REFRESH_MARGIN_S = 300.0  # mint a new token this long before the old one expires


def secrets(settings: VertexSettings) -> list[str]:
    """Nothing in the settings is secret: tokens are minted at run time and reported through
    ``ClientOptions.on_secret``."""
    return []


# -- credentials ----------------------------------------------------------------------------------


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


def explain_status(
    settings: VertexSettings, status: int, path: str, body: object
) -> tuple[str, str, str] | None:
    """``(error type, message, fix)`` for a Vertex AI (not Claude) error, or None to keep the original."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(body, list) and body and isinstance(body[0], dict):  # Vertex sometimes wraps errors
        error = body[0].get("error")
    if not isinstance(error, dict) or "status" not in error:
        return None  # an error Claude itself returned, already in the Messages API shape
    found = re.search(r"/projects/([^/]+)/locations/([^/]+)/publishers/anthropic/models/([^/:]+)", path)
    project, region, model = found.groups() if found else (settings.project_id, settings.region, "?")
    grpc_status = str(error.get("status"))
    variable = region_variable(model) or "VERTEX_REGION_CLAUDE_*"
    if status == 404 or grpc_status == "NOT_FOUND":
        return (
            "not_found_error",
            f"model {model} is not enabled for project {project} in region {region} on Vertex AI (404)",
            f"enable it in Model Garden for project {project}, or use a region where it is offered "
            f"(CLOUD_ML_REGION, or {variable} for this model)",
        )
    if status == 403 or grpc_status == "PERMISSION_DENIED":
        text = str(error.get("message", ""))
        if "has not been used" in text or "SERVICE_DISABLED" in json.dumps(error):
            return (
                "permission_error",
                f"the Vertex AI API is not enabled in project {project} (403)",
                f"gcloud services enable aiplatform.googleapis.com --project={project}",
            )
        member = f"serviceAccount:{settings.service_account}" if settings.service_account else "<principal>"
        return (
            "permission_error",
            f"the credentials may not call Claude on Vertex AI in project {project} (403 PERMISSION_DENIED)",
            f"gcloud projects add-iam-policy-binding {project} --member={member} "
            "--role=roles/aiplatform.user",
        )
    if status == 401 or grpc_status == "UNAUTHENTICATED":
        return (
            "authentication_error",
            "Vertex AI rejected the access token (401 UNAUTHENTICATED)",
            "check the Google credentials; with CLAUDE_CODE_SKIP_VERTEX_AUTH the gateway must add them",
        )
    return None


# -- client ---------------------------------------------------------------------------------------


def default_base_url(region: str) -> str:
    """The Vertex AI endpoint the SDK uses for a region."""
    if region == "global":
        return "https://aiplatform.googleapis.com/v1"
    if region in ("us", "eu"):
        return f"https://aiplatform.{region}.rep.googleapis.com/v1"
    return f"https://{region}-aiplatform.googleapis.com/v1"


@functools.cache
def _client_class() -> type[anthropic.AnthropicVertex]:
    import anthropic
    from anthropic.lib.vertex._client import _prepare_options

    class RunnerVertex(anthropic.AnthropicVertex):
        """``AnthropicVertex`` with per-model regions, optional client-side auth, and Vertex errors
        rewritten into one actionable line."""

        runner_settings: VertexSettings

        def _prepare_options(self, options: FinalRequestOptions) -> FinalRequestOptions:
            region = self.region
            data = options.json_data
            if isinstance(data, dict) and isinstance(data.get("model"), str):
                region = self.runner_settings.region_for(data["model"])
            prepared = _prepare_options(options, project_id=self.project_id, region=region)
            if (
                region != self.region
                and self.runner_settings.base_url is None
                and prepared.url.startswith("/")
            ):
                prepared.url = default_base_url(region) + prepared.url
            return prepared

        def _prepare_request(self, request: httpx2.Request) -> None:
            if not self.runner_settings.skip_auth:
                super()._prepare_request(request)

        def _make_status_error_from_response(self, response: httpx2.Response) -> anthropic.APIStatusError:
            error = super()._make_status_error_from_response(response)
            explained = explain_status(
                self.runner_settings, response.status_code, response.request.url.path, error.body
            )
            if explained is not None:
                kind, message, fix = explained
                error.body = {"type": "error", "error": {"type": kind, "message": f"{message} — {fix}"}}
                error.message = f"{message} — {fix}"
            return error

    return RunnerVertex


def build_client(settings: VertexSettings, options: ClientOptions) -> anthropic.AnthropicVertex:
    """An ``AnthropicVertex`` client whose Google access token refreshes itself before it expires.

    Mints the first token now, so a misconfiguration fails here with its own message."""
    import anthropic

    project = settings.project_id
    credentials: RefreshingCredentials | None = None
    if settings.skip_auth:
        pass
    elif settings.uses_workload_identity:
        credentials = workload_identity_credentials(settings, options)
    else:
        credentials, adc_project = application_default_credentials(settings, options)
        # The credential file's project outranks ANTHROPIC_VERTEX_PROJECT_ID (Claude Code's precedence).
        explicit = settings.project_source in ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT")
        if adc_project and not explicit and (settings.credentials_file or project is None):
            project = adc_project
    if project is None:
        raise missing_project_error()
    if credentials is not None:
        from google.auth.transport.requests import Request

        credentials.refresh(Request())
    base_url = settings.base_url or default_base_url(settings.region)
    # A subclass per settings, so copies made with ``with_options`` keep them.
    cls = type("RunnerVertexClient", (_client_class(),), {"runner_settings": settings})
    client: anthropic.AnthropicVertex = cls(
        region=settings.region,
        project_id=project,
        credentials=credentials,
        access_token=None,
        base_url=base_url,
        timeout=options.timeout_s,
        max_retries=0,  # the agent loop retries, and reports each retry
        default_headers=dict(options.headers) or None,
        http_client=anthropic.DefaultHttpxClient(verify=False) if base_url.startswith("http://") else None,
    )
    return client


__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "RefreshingCredentials",
    "application_default_credentials",
    "build_client",
    "default_base_url",
    "explain_status",
    "federation_error",
    "secrets",
    "workload_identity_credentials",
]
