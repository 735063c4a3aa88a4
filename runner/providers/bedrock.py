"""Amazon Bedrock: an ``AnthropicBedrock`` client whose credentials refresh themselves.

Four ways to authenticate, first match wins:

1. ``CLAUDE_CODE_SKIP_BEDROCK_AUTH`` with ``ANTHROPIC_BEDROCK_BASE_URL``: a gateway does the auth,
   requests go out unsigned;
2. ``AWS_BEARER_TOKEN_BEDROCK``: a Bedrock API key, sent as ``Authorization: Bearer``;
3. ``AWS_ROLE_TO_ASSUME`` (the ``aws_role_to_assume`` input): the CI job's OIDC token (audience
   ``sts.amazonaws.com``) is exchanged with STS ``AssumeRoleWithWebIdentity`` for temporary keys,
   exchanged again a few minutes before they expire;
4. otherwise boto3's default chain: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``,
   a container or instance role.

Every request is signed (SigV4) just before it is sent, with the credentials current at that
moment, so a long run never sends an expired key. Credentials stay in this process: nothing
here writes to ``os.environ``, and each key minted is handed to ``ClientOptions.on_secret`` for the
redactor. boto3 is imported only when a client is built. The settings (``BedrockSettings``) are
read from the environment by ``runner.settings.bedrock``; this module reads none.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runner.errors import CredentialsError
from runner.providers.base import ClientOptions, TokenSource
from runner.settings.bedrock import OIDC_AUDIENCE, BedrockSettings

if TYPE_CHECKING:
    import anthropic
    import httpx2
    from anthropic._models import FinalRequestOptions

BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"  # the only value InvokeModel accepts
# Refresh when fewer than this many seconds of validity remain. Within the advisory window a failed
# refresh keeps the current keys (logged); within the mandatory window it fails the request.
ADVISORY_REFRESH_S = 300
MANDATORY_REFRESH_S = 120


def secrets(settings: BedrockSettings) -> list[str]:
    """Values the redactor must hide (keys minted later go through ``ClientOptions.on_secret``)."""
    values = (settings.bearer_token, settings.secret_access_key, settings.session_token)
    return [v for v in values if v]


# --- the client ------------------------------------------------------------------------------------


def build_client(settings: BedrockSettings, options: ClientOptions) -> anthropic.AnthropicBedrock:
    """An ``AnthropicBedrock`` client (retries off: the agent loop retries and reports each one).

    Resolves credentials now (the role path calls STS), so a misconfiguration fails before the run.
    """
    method = settings.auth_method
    authorize: Callable[[httpx2.Request], None]
    if method == "gateway":

        def authorize(request: httpx2.Request) -> None:
            return None

    elif method == "api-key":
        header = f"Bearer {settings.bearer_token}"

        def authorize(request: httpx2.Request) -> None:
            request.headers["Authorization"] = header

    else:
        credentials = (
            assume_role_credentials(settings, options)
            if method == "web-identity"
            else default_chain_credentials(settings)
        )
        authorize = SigV4Signer(credentials, settings.region, options.on_secret)
        authorize.current()  # fail now if the chain has nothing; report the first keys
    return _make_client(settings, options, authorize)


def _make_client(
    settings: BedrockSettings, options: ClientOptions, authorize: Callable[[httpx2.Request], None]
) -> anthropic.AnthropicBedrock:
    import anthropic

    class RunnerBedrock(anthropic.AnthropicBedrock):
        """Requests authorised by the runner (fresh credentials on each); Bedrock errors with their fix.

        Defined per client so that ``copy()``/``with_options()`` keep the same credentials.
        """

        def _prepare_options(self, options: FinalRequestOptions) -> FinalRequestOptions:
            prepared = super()._prepare_options(options)  # a deep copy: safe to change
            if isinstance(prepared.json_data, dict):
                # InvokeModel requires this value; the SDK's default is the first-party API version.
                prepared.json_data["anthropic_version"] = BEDROCK_ANTHROPIC_VERSION
            return prepared

        def _prepare_request(self, request: httpx2.Request) -> None:
            authorize(request)

        def _make_status_error_from_response(self, response: httpx2.Response) -> anthropic.APIStatusError:
            error = super()._make_status_error_from_response(response)
            explained = explain_error(response.status_code, error.body, response.headers)
            if explained is None:
                return error
            return type(error)(explained, response=error.response, body=error.body)

    headers = dict(options.headers)
    if settings.service_tier:
        headers["X-Amzn-Bedrock-Service-Tier"] = settings.service_tier
    plain_http = settings.endpoint.startswith("http://")
    return RunnerBedrock(
        aws_region=settings.region,
        base_url=settings.endpoint,
        default_headers=headers or None,
        timeout=options.timeout_s,
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(verify=False) if plain_http else None,
    )


class SigV4Signer:
    """Signs each request with the credentials current at that moment (refreshing them if due)."""

    def __init__(self, credentials: Any, region: str, on_secret: Callable[[str], None] | None) -> None:
        self.credentials = credentials  # botocore Credentials / RefreshableCredentials
        self.region = region
        self._on_secret = on_secret
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def current(self) -> Any:
        """Frozen (access key, secret, token) valid now; new ones are reported to ``on_secret``."""
        if self.credentials is None:
            raise CredentialsError(
                "no AWS credentials found for Bedrock",
                "set aws_role_to_assume (AWS_ROLE_TO_ASSUME) to use the job's OIDC token, or "
                "AWS_BEARER_TOKEN_BEDROCK, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
            )
        frozen = self.credentials.get_frozen_credentials()
        with self._lock:
            if frozen.access_key not in self._seen:
                self._seen.add(frozen.access_key)
                if self._on_secret is not None:
                    for value in (frozen.access_key, frozen.secret_key, frozen.token):
                        if value:
                            self._on_secret(value)
        return frozen

    def __call__(self, request: httpx2.Request) -> None:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        frozen = self.current()
        # A proxy may drop the connection header, so it is not signed (as the SDK does).
        headers = {k: v for k, v in request.headers.items() if k.lower() != "connection"}
        aws_request = AWSRequest(
            method=request.method, url=str(request.url), headers=headers, data=request.read()
        )
        signer = SigV4Auth(
            Credentials(frozen.access_key, frozen.secret_key, frozen.token), "bedrock", self.region
        )
        signer.add_auth(aws_request)
        for name, value in aws_request.prepare().headers.items():
            if value is not None:
                request.headers[name] = value


def default_chain_credentials(settings: BedrockSettings) -> Any:
    """boto3's credentials: the keys in the settings (from the environment map), else its default chain."""
    import boto3
    import botocore.exceptions

    try:
        if settings.access_key_id and settings.secret_access_key:
            session = boto3.session.Session(
                aws_access_key_id=settings.access_key_id,
                aws_secret_access_key=settings.secret_access_key,
                aws_session_token=settings.session_token,
                region_name=settings.region,
            )
        else:
            session = boto3.session.Session(profile_name=settings.profile, region_name=settings.region)
        return session.get_credentials()
    except botocore.exceptions.ProfileNotFound as exc:
        raise CredentialsError(
            f"AWS_PROFILE names a profile that does not exist: {settings.profile!r}",
            "unset AWS_PROFILE, or configure the profile in ~/.aws/config",
        ) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise CredentialsError(
            f"could not load AWS credentials: {exc}",
            "set aws_role_to_assume (AWS_ROLE_TO_ASSUME) to use the job's OIDC token instead",
        ) from exc


def assume_role_credentials(settings: BedrockSettings, options: ClientOptions) -> Any:
    """``RefreshableCredentials`` from STS ``AssumeRoleWithWebIdentity``, renewed before they expire."""
    from botocore.credentials import RefreshableCredentials

    if options.oidc is None:
        raise CredentialsError(
            "AWS_ROLE_TO_ASSUME is set but no OIDC token source was found",
            "GitHub: give the job `permissions: id-token: write`; GitLab: add "
            f"`id_tokens: CLAUDE_OIDC_TOKEN: aud: {OIDC_AUDIENCE}` to the job",
        )
    exchange = WebIdentityExchange(settings, options.oidc, options.on_secret)

    def now() -> datetime:
        return datetime.fromtimestamp(options.clock(), UTC)

    first = exchange()
    return RefreshableCredentials(
        access_key=first["access_key"],
        secret_key=first["secret_key"],
        token=first["token"],
        expiry_time=datetime.fromisoformat(first["expiry_time"]),
        refresh_using=exchange,
        method="assume-role-with-web-identity",
        time_fetcher=now,
        advisory_timeout=ADVISORY_REFRESH_S,
        mandatory_timeout=MANDATORY_REFRESH_S,
    )


class WebIdentityExchange:
    """One call = a fresh OIDC token exchanged with STS for temporary keys (botocore metadata shape)."""

    def __init__(
        self, settings: BedrockSettings, oidc: TokenSource, on_secret: Callable[[str], None] | None
    ) -> None:
        self.settings, self.oidc, self.on_secret = settings, oidc, on_secret
        self.calls = 0
        self._client: Any = None

    def _sts(self) -> Any:
        if self._client is None:
            import boto3
            import botocore
            from botocore.config import Config

            config = Config(
                signature_version=botocore.UNSIGNED,  # the web identity token is the credential
                connect_timeout=10,
                read_timeout=30,
                retries={"mode": "standard", "max_attempts": 3},
            )
            session = boto3.session.Session(region_name=self.settings.region)
            self._client = session.client(
                "sts",
                region_name=self.settings.region,
                endpoint_url=self.settings.sts_endpoint_url,
                config=config,
            )
        return self._client

    def __call__(self) -> dict[str, str]:
        import botocore.exceptions

        token = self.oidc.token(self.settings.oidc_audience)
        if self.on_secret is not None:
            self.on_secret(token)
        self.calls += 1
        try:
            answer = self._sts().assume_role_with_web_identity(
                RoleArn=self.settings.role_arn,
                RoleSessionName=self.settings.session_name,
                WebIdentityToken=token,
                DurationSeconds=self.settings.duration_s,
            )
        except botocore.exceptions.ClientError as exc:
            raise sts_error(exc, self.settings, self.oidc.name, token_claims(token)) from exc
        except botocore.exceptions.BotoCoreError as exc:
            where = self.settings.sts_endpoint_url or f"STS in {self.settings.region}"
            raise CredentialsError(
                f"could not reach {where} to assume {self.settings.role_arn}: {exc}",
                "check the runner's network access to sts.<region>.amazonaws.com (or AWS_ENDPOINT_URL_STS)",
            ) from exc
        creds = answer["Credentials"]
        expiration = creds["Expiration"]
        if isinstance(expiration, datetime):
            expiry = expiration if expiration.tzinfo else expiration.replace(tzinfo=UTC)
        else:
            expiry = datetime.fromisoformat(str(expiration).replace("Z", "+00:00"))
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": expiry.isoformat(),
        }


def token_claims(token: str) -> dict[str, Any]:
    """The JWT's claims, unverified (for messages only: ``sub``, ``aud``, ``iss`` are not secret)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def sts_error(
    exc: Any, settings: BedrockSettings, source: str, claims: Mapping[str, Any]
) -> CredentialsError:
    """One line for a refused ``AssumeRoleWithWebIdentity``, with what to change on the AWS side."""
    error = exc.response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", "")).strip()
    role = settings.role_arn
    issuer = str(claims.get("iss", "")).removeprefix("https://").rstrip("/") or "<issuer>"
    sub, aud = claims.get("sub", "?"), claims.get("aud", "?")
    seen = f"token from {source}: iss={claims.get('iss', '?')}, aud={aud}, sub={sub}"
    if code == "AccessDenied":
        return CredentialsError(
            f"STS AccessDenied: not authorized to assume {role} with the job's OIDC token ({seen})",
            f"the role's trust policy must allow Federated oidc-provider/{issuer} for "
            f'sts:AssumeRoleWithWebIdentity with "{issuer}:aud": "{OIDC_AUDIENCE}" and a '
            f'"{issuer}:sub" condition that matches "{sub}"',
        )
    if code == "InvalidIdentityToken":
        fix = (
            f"create the IAM OIDC identity provider for https://{issuer} with audience {OIDC_AUDIENCE} "
            "in the role's account"
        )
        if "audience" in message.lower():
            fix = f"add {OIDC_AUDIENCE} to the IAM OIDC provider's audiences and request that audience"
        return CredentialsError(f"STS rejected the OIDC token for {role}: {message} ({seen})", fix)
    if code in {"ExpiredTokenException", "ExpiredToken"}:
        return CredentialsError(
            f"STS says the OIDC token has expired: {message}",
            "the token is fetched just before each exchange: check the runner's clock; on GitLab the "
            "id_tokens value lasts only as long as the job's token",
        )
    if code == "ValidationError" and "duration" in message.lower():
        return CredentialsError(
            f"STS refused the session length for {role}: {message}",
            "lower AWS_ROLE_DURATION_SECONDS or raise the role's maximum session duration",
        )
    if code == "RegionDisabledException":
        return CredentialsError(
            f"STS is not activated in {settings.region}: {message}",
            "activate STS for the region in IAM → Account settings, or use another AWS_REGION",
        )
    if code in {"IDPCommunicationError", "IDPRejectedClaim"}:
        return CredentialsError(
            f"STS could not use the OIDC token for {role}: {code}: {message}",
            "check the identity provider's URL and thumbprint in IAM, then re-run the job",
        )
    return CredentialsError(
        f"STS AssumeRoleWithWebIdentity failed for {role}: {code or 'error'}: {message}",
        "check the role ARN, its trust policy and the IAM OIDC identity provider",
    )


# --- Bedrock runtime errors ------------------------------------------------------------------------

_MODEL_FIXES: tuple[tuple[str, str], ...] = (
    (
        "on-demand throughput",
        "use an inference profile id (e.g. us.anthropic.claude-sonnet-4-6) or its ARN as the model",
    ),
    (
        "don't have access to the model",
        "enable the model in the Bedrock console (Model access) for this account and region, and let the "
        "role call bedrock:InvokeModel* on it",
    ),
    (
        "model identifier is invalid",
        "check the model id for this region: a region-prefixed id such as us.anthropic.claude-sonnet-4-6, "
        "or an inference-profile ARN",
    ),
    ("security token included in the request is expired", "the AWS credentials expired: re-run the job"),
    ("security token included in the request is invalid", "the AWS access key is not valid in this account"),
    ("signature we calculated does not match", "the AWS secret key does not match its access key id"),
)


def explain_error(status: int, body: object, headers: Mapping[str, str]) -> str | None:
    """Bedrock's ``{"message": ...}`` error as ``ErrorType: message — fix``; None for other shapes."""
    if not isinstance(body, dict) or not isinstance(body.get("message") or body.get("Message"), str):
        return None
    message = str(body.get("message") or body.get("Message")).strip()
    kind = (headers.get("x-amzn-errortype") or "").split(":")[0] or {
        400: "ValidationException",
        403: "AccessDeniedException",
        404: "ResourceNotFoundException",
        429: "ThrottlingException",
    }.get(status, "error")
    lowered = message.lower()
    fix = next((fix for needle, fix in _MODEL_FIXES if needle in lowered), "")
    return f"{kind}: {message}" + (f" — {fix}" if fix else "")


__all__ = [
    "SigV4Signer",
    "WebIdentityExchange",
    "build_client",
    "explain_error",
    "secrets",
    "sts_error",
    "token_claims",
]
