"""Google Vertex AI (Google Cloud's Agent Platform): settings, short-lived credentials, the client.

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

Project: ``GOOGLE_CLOUD_PROJECT``, then ``GCLOUD_PROJECT``, then ``ANTHROPIC_VERTEX_PROJECT_ID``
(as Claude Code documents: the first two take precedence). Region: ``CLOUD_ML_REGION`` (``global``,
``us``/``eu`` multi-regions, or a region), with ``VERTEX_REGION_CLAUDE_*`` per-model overrides.

Test hooks: ``CLAUDE_RUNNER_GOOGLE_STS_URL`` (default ``https://sts.googleapis.com/v1/token``) and
``CLAUDE_RUNNER_GOOGLE_IAM_URL`` (default ``https://iamcredentials.googleapis.com``) point the token
exchange at a fake, or at a private endpoint (Private Service Connect).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runner.errors import CredentialsError
from runner.providers.base import ClientOptions, TokenSource

if TYPE_CHECKING:
    import anthropic
    import httpx2
    from anthropic._models import FinalRequestOptions

DEFAULT_STS_URL = "https://sts.googleapis.com/v1/token"
DEFAULT_IAM_URL = "https://iamcredentials.googleapis.com"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
REFRESH_MARGIN_S = 300.0  # mint a new token this long before the old one expires
TRUTHY = {"1", "true", "yes", "on"}

_PROVIDER_RE = re.compile(
    r"projects/(?P<number>\d+)/locations/global/workloadIdentityPools/(?P<pool>[a-z0-9-]+)"
    r"/providers/(?P<provider>[a-z0-9-]+)"
)
_SERVICE_ACCOUNT_RE = re.compile(r"[a-z0-9][a-z0-9._-]*@[a-z0-9][a-z0-9.-]*\.[a-z]{2,}")
_REGION_RE = re.compile(r"[a-z][a-z0-9-]*[a-z0-9]")
_PROJECT_RE = re.compile(r"[a-z0-9][a-z0-9.:-]*[a-z0-9]")
# claude-sonnet-4-5@20250929, claude-opus-4-1, claude-sonnet-4@20250514, claude-haiku-4-5, claude-sonnet-5
_NEW_STYLE = re.compile(r"claude-(?P<family>[a-z]+)-(?P<major>\d+)(?:-(?P<minor>\d{1,2}))?(?=$|[-@\[])")
# claude-3-5-sonnet-v2@20241022, claude-3-7-sonnet@20250219, claude-3-5-haiku@20241022
_OLD_STYLE = re.compile(r"claude-(?P<major>\d+)-(?P<minor>\d+)-(?P<family>[a-z]+)(?=$|[-@\[])")


@dataclass(frozen=True)
class VertexSettings:
    """Where and how to reach Claude on Vertex AI, read from the environment (no network)."""

    region: str
    project_id: str | None
    project_source: str = ""  # the variable the project came from, for messages
    workload_identity_provider: str | None = None  # projects/<number>/locations/global/...
    service_account: str | None = None
    base_url: str | None = None  # ANTHROPIC_VERTEX_BASE_URL
    skip_auth: bool = False  # CLAUDE_CODE_SKIP_VERTEX_AUTH: a gateway adds the credentials
    region_overrides: Mapping[str, str] = field(default_factory=dict)  # VERTEX_REGION_CLAUDE_* -> region
    credentials_file: str | None = None  # GOOGLE_APPLICATION_CREDENTIALS, for messages
    sts_url: str = DEFAULT_STS_URL
    iam_url: str = DEFAULT_IAM_URL

    @property
    def auth_method(self) -> str:
        """``workload-identity``, ``application-default`` or ``gateway`` (no client-side auth)."""
        if self.skip_auth:
            return "gateway"
        return "workload-identity" if self.workload_identity_provider else "application-default"

    @property
    def is_gateway(self) -> bool:
        """True when requests go somewhere other than Google's Vertex AI endpoints."""
        return self.skip_auth or (self.base_url is not None and "googleapis.com" not in self.base_url)

    @property
    def key_source(self) -> str:
        """Where the credential comes from, for the ``system/init`` event (never a value)."""
        if self.auth_method == "application-default":
            return (
                "GOOGLE_APPLICATION_CREDENTIALS"
                if self.credentials_file
                else "application default credentials"
            )
        return "CLAUDE_CODE_SKIP_VERTEX_AUTH" if self.skip_auth else "GCP_WORKLOAD_IDENTITY_PROVIDER"

    def describe(self) -> str:
        """One line for people (doctor, logs): project, region, how it authenticates. No secrets."""
        how = {
            "workload-identity": (
                f"workload identity {self.workload_identity_provider} as {self.service_account}"
            ),
            "application-default": f"application default credentials ({self.key_source})",
            "gateway": "no client-side auth (CLAUDE_CODE_SKIP_VERTEX_AUTH)",
        }[self.auth_method]
        where = f"project {self.project_id or '(from the credentials)'}, region {self.region}"
        overrides = ", ".join(f"{k}={v}" for k, v in self.region_overrides.items())
        endpoint = f", endpoint {self.base_url}" if self.base_url else ""
        return f"{where}{endpoint}, {how}" + (f"; {overrides}" if overrides else "")

    @property
    def uses_workload_identity(self) -> bool:
        """True when the OIDC token is exchanged through workload identity federation."""
        return self.workload_identity_provider is not None and not self.skip_auth

    @property
    def needs_oidc(self) -> bool:
        """Whether ``build_client`` needs ``ClientOptions.oidc``."""
        return self.uses_workload_identity

    @property
    def oidc_audience(self) -> str | None:
        """The audience to request the CI's OIDC token for: what Google STS accepts by default."""
        if self.workload_identity_provider is None:
            return None
        return f"https://iam.googleapis.com/{self.workload_identity_provider}"

    @property
    def sts_audience(self) -> str | None:
        """The ``audience`` Google STS is sent: the provider's full resource name."""
        if self.workload_identity_provider is None:
            return None
        return f"//iam.googleapis.com/{self.workload_identity_provider}"

    @property
    def impersonation_url(self) -> str | None:
        """The IAM Credentials ``generateAccessToken`` URL for the service account."""
        if self.service_account is None:
            return None
        base = self.iam_url.rstrip("/")
        return f"{base}/v1/projects/-/serviceAccounts/{self.service_account}:generateAccessToken"

    def region_for(self, model: str) -> str:
        """Where a request for ``model`` goes: its ``VERTEX_REGION_CLAUDE_*`` override, or the default."""
        variable = region_variable(model)
        return self.region_overrides.get(variable, self.region) if variable else self.region


def region_variable(model: str) -> str | None:
    """Claude Code's per-model region variable for a Vertex model id, e.g.
    ``claude-sonnet-4-5@20250929`` -> ``VERTEX_REGION_CLAUDE_4_5_SONNET``,
    ``claude-haiku-4-5`` -> ``VERTEX_REGION_CLAUDE_HAIKU_4_5``, ``claude-sonnet-5`` ->
    ``VERTEX_REGION_CLAUDE_5_SONNET``, ``claude-3-5-haiku@20241022`` -> ``VERTEX_REGION_CLAUDE_3_5_HAIKU``."""
    name = model.strip().lower()
    old = _OLD_STYLE.match(name)
    if old:
        return f"VERTEX_REGION_CLAUDE_{old['major']}_{old['minor']}_{old['family'].upper()}"
    new = _NEW_STYLE.match(name)
    if not new:
        return None
    family, major, minor = new["family"].upper(), new["major"], new["minor"]
    if family == "HAIKU":  # the Haiku 4.5 variable puts the family first
        return f"VERTEX_REGION_CLAUDE_HAIKU_{major}_{minor or 0}"
    if family == "FABLE":
        return f"VERTEX_REGION_CLAUDE_FABLE_{major}" + (f"_{minor}" if minor else "")
    if minor is None and major == "4":  # claude-opus-4@20250514 is Opus 4.0
        minor = "0"
    version = f"{major}_{minor}" if minor is not None else major
    return f"VERTEX_REGION_CLAUDE_{version}_{family}"


def _region(value: str, variable: str) -> str:
    region = value.strip().lower()
    if not _REGION_RE.fullmatch(region):
        raise CredentialsError(
            f"{variable}={value!r} is not a Vertex AI region",
            f"set {variable} to global, us, eu or a region such as us-east5",
        )
    return region


def settings_from_env(env: Mapping[str, str]) -> VertexSettings:
    """Validated Vertex settings; a missing or malformed value raises ``CredentialsError`` naming it."""

    def get(name: str) -> str:
        return env.get(name, "").strip()

    raw_region = get("CLOUD_ML_REGION")
    if not raw_region:
        raise CredentialsError(
            "CLOUD_ML_REGION is not set: Vertex AI needs a region",
            "set CLOUD_ML_REGION to global, a multi-region (us, eu) or a region such as us-east5 "
            "where the model is enabled",
        )
    region = _region(raw_region, "CLOUD_ML_REGION")
    overrides = {
        name: _region(value, name)
        for name, value in sorted(env.items())
        if name.startswith("VERTEX_REGION_CLAUDE_") and value.strip()
    }
    project, source = None, ""
    for name in ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "ANTHROPIC_VERTEX_PROJECT_ID"):
        if get(name):
            project, source = get(name), name
            break
    if project is not None and not _PROJECT_RE.fullmatch(project):
        raise CredentialsError(
            f"{source}={project!r} is not a Google Cloud project id", f"set {source} to the project id"
        )
    provider = get("GCP_WORKLOAD_IDENTITY_PROVIDER").removeprefix("//iam.googleapis.com/") or None
    account = get("GCP_SERVICE_ACCOUNT") or None
    skip_auth = get("CLAUDE_CODE_SKIP_VERTEX_AUTH").lower() in TRUTHY
    if provider is not None and not _PROVIDER_RE.fullmatch(provider):
        raise CredentialsError(
            f"GCP_WORKLOAD_IDENTITY_PROVIDER={provider!r} is not a workload identity provider resource name",
            "use the full name: projects/<project NUMBER>/locations/global/workloadIdentityPools/<pool>"
            "/providers/<provider> (gcloud iam workload-identity-pools providers describe <provider> "
            "--location=global --workload-identity-pool=<pool> --format='value(name)')",
        )
    if account is not None and not _SERVICE_ACCOUNT_RE.fullmatch(account):
        raise CredentialsError(
            f"GCP_SERVICE_ACCOUNT={account!r} is not a service account email",
            "use the email, e.g. claude-runner@my-project.iam.gserviceaccount.com",
        )
    if (provider is None) != (account is None) and not skip_auth:
        missing = "GCP_SERVICE_ACCOUNT" if account is None else "GCP_WORKLOAD_IDENTITY_PROVIDER"
        raise CredentialsError(
            f"{missing} is not set: workload identity federation needs both "
            "GCP_WORKLOAD_IDENTITY_PROVIDER and GCP_SERVICE_ACCOUNT",
            f"set {missing} (inputs gcp_workload_identity_provider and gcp_service_account)",
        )
    if project is None and (provider is not None or skip_auth):
        raise _missing_project()
    base_url = get("ANTHROPIC_VERTEX_BASE_URL").rstrip("/") or None
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise CredentialsError(
            f"ANTHROPIC_VERTEX_BASE_URL must start with http:// or https:// (got {base_url!r})",
            "set it to the endpoint including /v1, e.g. https://aiplatform.googleapis.com/v1",
        )
    return VertexSettings(
        region=region,
        project_id=project,
        project_source=source,
        workload_identity_provider=provider,
        service_account=account,
        base_url=base_url,
        skip_auth=skip_auth,
        region_overrides=overrides,
        credentials_file=get("GOOGLE_APPLICATION_CREDENTIALS") or None,
        sts_url=get("CLAUDE_RUNNER_GOOGLE_STS_URL") or DEFAULT_STS_URL,
        iam_url=get("CLAUDE_RUNNER_GOOGLE_IAM_URL") or DEFAULT_IAM_URL,
    )


def _missing_project() -> CredentialsError:
    return CredentialsError(
        "no Google Cloud project for Vertex AI",
        "set ANTHROPIC_VERTEX_PROJECT_ID (or GOOGLE_CLOUD_PROJECT) to the project where Claude is enabled",
    )


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
    match = _PROVIDER_RE.fullmatch(provider)
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
        raise _missing_project()
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
    "DEFAULT_IAM_URL",
    "DEFAULT_STS_URL",
    "RefreshingCredentials",
    "VertexSettings",
    "application_default_credentials",
    "build_client",
    "default_base_url",
    "explain_status",
    "federation_error",
    "region_variable",
    "secrets",
    "settings_from_env",
    "workload_identity_credentials",
]
