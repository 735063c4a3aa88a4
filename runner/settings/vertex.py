"""Google Vertex AI settings, read once from the environment into a frozen ``VertexSettings``.

Project: ``GOOGLE_CLOUD_PROJECT``, then ``GCLOUD_PROJECT``, then ``ANTHROPIC_VERTEX_PROJECT_ID``
(as Claude Code documents: the first two take precedence). Region: ``CLOUD_ML_REGION`` (``global``,
``us``/``eu`` multi-regions, or a region), with ``VERTEX_REGION_CLAUDE_*`` per-model overrides.
Credentials: workload identity federation (``GCP_WORKLOAD_IDENTITY_PROVIDER`` +
``GCP_SERVICE_ACCOUNT``), else Application Default Credentials (``GOOGLE_APPLICATION_CREDENTIALS``
is noted for messages; google-auth finds the file itself), or none behind a gateway
(``CLAUDE_CODE_SKIP_VERTEX_AUTH`` with ``ANTHROPIC_VERTEX_BASE_URL``).

Test hooks: ``CLAUDE_RUNNER_GOOGLE_STS_URL`` (default ``https://sts.googleapis.com/v1/token``) and
``CLAUDE_RUNNER_GOOGLE_IAM_URL`` (default ``https://iamcredentials.googleapis.com``) point the token
exchange at a fake, or at a private endpoint (Private Service Connect).

Standard library only: no google-auth or SDK import happens here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from runner.errors import CredentialsError

DEFAULT_STS_URL = "https://sts.googleapis.com/v1/token"
DEFAULT_IAM_URL = "https://iamcredentials.googleapis.com"
TRUTHY = {"1", "true", "yes", "on"}

PROVIDER_PATTERN = re.compile(
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


def read_vertex_settings(env: Mapping[str, str]) -> VertexSettings:
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
    if provider is not None and not PROVIDER_PATTERN.fullmatch(provider):
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
        raise missing_project_error()
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


def missing_project_error() -> CredentialsError:
    """The error for a Vertex AI setup that names no Google Cloud project anywhere."""
    return CredentialsError(
        "no Google Cloud project for Vertex AI",
        "set ANTHROPIC_VERTEX_PROJECT_ID (or GOOGLE_CLOUD_PROJECT) to the project where Claude is enabled",
    )


__all__ = [
    "DEFAULT_IAM_URL",
    "DEFAULT_STS_URL",
    "PROVIDER_PATTERN",
    "VertexSettings",
    "missing_project_error",
    "read_vertex_settings",
    "region_variable",
]
