"""AWS credentials for Bedrock: boto3's default chain, or the CI's OIDC token exchanged with STS.

With a role (``BedrockSettings.role_arn``), the CI job's OIDC token (audience ``sts.amazonaws.com``)
is exchanged with STS ``AssumeRoleWithWebIdentity`` for temporary keys, exchanged again a few
minutes before they expire; a refused exchange reads as one line naming what to change on the AWS
side (``sts_error``). Otherwise boto3's default chain: the keys in the settings, ``AWS_PROFILE``'s
profile, a container or instance role. boto3 is imported only when credentials are asked for.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from runner.errors import CredentialsError
from runner.providers.base import ClientOptions, TokenSource
from runner.settings.bedrock import OIDC_AUDIENCE, BedrockSettings

# Refresh when fewer than this many seconds of validity remain. Within the advisory window a failed
# refresh keeps the current keys (logged); within the mandatory window it fails the request.
ADVISORY_REFRESH_S = 300
MANDATORY_REFRESH_S = 120


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


__all__ = [
    "WebIdentityExchange",
    "assume_role_credentials",
    "default_chain_credentials",
    "sts_error",
    "token_claims",
]
