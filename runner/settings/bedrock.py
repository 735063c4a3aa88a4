"""Amazon Bedrock settings, read once from the environment into a frozen ``BedrockSettings``.

Four ways to authenticate, first match wins (``runner.providers.bedrock`` acts on the choice):

1. ``CLAUDE_CODE_SKIP_BEDROCK_AUTH`` with ``ANTHROPIC_BEDROCK_BASE_URL``: a gateway does the auth;
2. ``AWS_BEARER_TOKEN_BEDROCK``: a Bedrock API key;
3. ``AWS_ROLE_TO_ASSUME`` (the ``aws_role_to_assume`` input): the CI job's OIDC token is exchanged
   with STS; ``AWS_ROLE_SESSION_NAME``, ``AWS_ROLE_DURATION_SECONDS`` and ``AWS_ENDPOINT_URL_STS``
   shape the session;
4. otherwise boto3's default chain, given ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/
   ``AWS_SESSION_TOKEN`` or ``AWS_PROFILE`` from the environment map when they are there.

Standard library only: no boto3 or SDK import happens here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from runner.errors import CredentialsError, UsageError

NAME = "bedrock"
OIDC_AUDIENCE = "sts.amazonaws.com"
DEFAULT_SESSION_NAME = "claude-runner"
DEFAULT_DURATION_S = 3600
MIN_DURATION_S, MAX_DURATION_S = 900, 43200  # STS AssumeRoleWithWebIdentity limits
SERVICE_TIERS = ("default", "flex", "priority")

ROLE_ARN_SHAPE = "arn:aws:iam::<12-digit account id>:role/<role name>"
ROLE_ARN_PATTERN = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$", re.ASCII
)
REGION_PATTERN = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
SESSION_NAME_PATTERN = re.compile(r"^[\w+=,.@-]{2,64}$", re.ASCII)
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class BedrockSettings:
    """Where and how to reach Bedrock, read from the environment (no network)."""

    region: str
    role_arn: str | None = None
    session_name: str = DEFAULT_SESSION_NAME
    duration_s: int = DEFAULT_DURATION_S
    bearer_token: str | None = field(default=None, repr=False)
    base_url: str | None = None
    skip_auth: bool = False
    sts_endpoint_url: str | None = None
    service_tier: str | None = None
    # Ambient keys given in the environment map (else boto3's default chain looks for them).
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    profile: str | None = None
    oidc_audience: str = OIDC_AUDIENCE
    name: str = NAME

    @property
    def auth_method(self) -> str:
        """``gateway``, ``api-key``, ``web-identity`` or ``default-chain``."""
        if self.skip_auth:
            return "gateway"
        if self.bearer_token:
            return "api-key"
        return "web-identity" if self.role_arn else "default-chain"

    @property
    def needs_oidc(self) -> bool:
        """Whether ``build_client`` will ask the CI job's OIDC source for a token."""
        return self.auth_method == "web-identity"

    @property
    def key_source(self) -> str:
        """Where the credential comes from, for the ``system/init`` event (never the value)."""
        return {
            "gateway": "none (CLAUDE_CODE_SKIP_BEDROCK_AUTH)",
            "api-key": "AWS_BEARER_TOKEN_BEDROCK",
            "web-identity": "AWS_ROLE_TO_ASSUME via OIDC",
            "default-chain": "AWS default credential chain",
        }[self.auth_method]

    @property
    def is_gateway(self) -> bool:
        """Whether requests go to ``ANTHROPIC_BEDROCK_BASE_URL`` rather than the regional endpoint."""
        return bool(self.base_url)

    def describe(self) -> str:
        """One line for the doctor: region, endpoint, how requests are authorised. No secrets."""
        auth = {
            "gateway": "no AWS auth (the gateway authenticates)",
            "api-key": "Bedrock API key",
            "web-identity": f"role {self.role_arn} via OIDC, {self.duration_s} s sessions",
            "default-chain": "AWS default credential chain",
        }[self.auth_method]
        return f"region {self.region}, {self.endpoint}, {auth}"

    @property
    def endpoint(self) -> str:
        """The Bedrock runtime URL requests go to."""
        if self.base_url:
            return self.base_url
        suffix = "amazonaws.com.cn" if self.region.startswith("cn-") else "amazonaws.com"
        return f"https://bedrock-runtime.{self.region}.{suffix}"


def read_bedrock_settings(env: Mapping[str, str]) -> BedrockSettings:
    """Validated Bedrock settings; each unusable value raises an error naming the variable and the fix."""

    def get(name: str) -> str | None:
        return env.get(name, "").strip() or None

    region = get("AWS_REGION") or get("AWS_DEFAULT_REGION")
    if not region:
        raise CredentialsError(
            "AWS_REGION is not set (Bedrock needs the region your Claude models are enabled in)",
            "set the aws_region input or AWS_REGION, e.g. us-east-1",
        )
    if not REGION_PATTERN.match(region):
        raise UsageError(
            f"AWS_REGION {region!r} is not an AWS region name",
            "use a region code such as us-east-1, eu-central-1 or ap-northeast-1 (not an availability zone)",
        )
    role_arn = get("AWS_ROLE_TO_ASSUME")
    if role_arn:
        check_role_arn(role_arn)
    bearer = get("AWS_BEARER_TOKEN_BEDROCK")
    skip_auth = (get("CLAUDE_CODE_SKIP_BEDROCK_AUTH") or "").lower() in _TRUE
    base_url = (get("ANTHROPIC_BEDROCK_BASE_URL") or "").rstrip("/") or None
    if base_url and not base_url.startswith(("http://", "https://")):
        raise UsageError(f"ANTHROPIC_BEDROCK_BASE_URL must start with http:// or https:// (got {base_url!r})")
    if skip_auth and not base_url:
        raise UsageError(
            "CLAUDE_CODE_SKIP_BEDROCK_AUTH is set but ANTHROPIC_BEDROCK_BASE_URL is not",
            "skipping auth only makes sense behind a gateway: set ANTHROPIC_BEDROCK_BASE_URL to its URL",
        )
    if role_arn and bearer and not skip_auth:
        raise UsageError(
            "both AWS_ROLE_TO_ASSUME and AWS_BEARER_TOKEN_BEDROCK are set",
            "keep one: the role (OIDC, no stored secret) or the Bedrock API key",
        )
    access_key, secret_key = get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")
    if bool(access_key) != bool(secret_key) and not (role_arn or bearer or skip_auth):
        missing = "AWS_SECRET_ACCESS_KEY" if access_key else "AWS_ACCESS_KEY_ID"
        raise CredentialsError(
            f"{missing} is not set but its pair is", "set both AWS access key variables, or neither"
        )
    tier = get("ANTHROPIC_BEDROCK_SERVICE_TIER")
    if tier and tier not in SERVICE_TIERS:
        raise UsageError(
            f"ANTHROPIC_BEDROCK_SERVICE_TIER must be one of {', '.join(SERVICE_TIERS)} (got {tier!r})"
        )
    return BedrockSettings(
        region=region,
        role_arn=role_arn,
        session_name=_session_name(env),
        duration_s=_duration(get("AWS_ROLE_DURATION_SECONDS")),
        bearer_token=bearer,
        base_url=base_url,
        skip_auth=skip_auth,
        sts_endpoint_url=get("AWS_ENDPOINT_URL_STS") or get("AWS_ENDPOINT_URL"),
        service_tier=tier,
        access_key_id=access_key,
        secret_access_key=secret_key,
        session_token=get("AWS_SESSION_TOKEN"),
        profile=get("AWS_PROFILE"),
    )


def check_role_arn(role_arn: str) -> None:
    """Raise ``CredentialsError`` showing the expected shape unless ``role_arn`` is an IAM role ARN."""
    if ROLE_ARN_PATTERN.match(role_arn):
        return
    hint = f"use the role's ARN, shaped {ROLE_ARN_SHAPE} (IAM console → Roles → the role → ARN)"
    if ":sts::" in role_arn and ":assumed-role/" in role_arn:
        hint = f"that is a session ARN (sts assumed-role); {hint}"
    elif not role_arn.startswith("arn:"):
        hint = f"a role name alone is not enough; {hint}"
    elif re.match(r"^arn:[^:]+:iam::\d+:role/", role_arn) and not re.match(
        r"^arn:[^:]+:iam::\d{12}:", role_arn
    ):
        hint = f"the account id must be 12 digits; {hint}"
    raise CredentialsError(f"AWS_ROLE_TO_ASSUME is not a valid IAM role ARN: {role_arn!r}", hint)


def _session_name(env: Mapping[str, str]) -> str:
    explicit = env.get("AWS_ROLE_SESSION_NAME", "").strip()
    if explicit:
        if not SESSION_NAME_PATTERN.match(explicit):
            raise UsageError(
                f"AWS_ROLE_SESSION_NAME {explicit!r} is not a valid session name",
                "use 2-64 characters from letters, digits and +=,.@_-",
            )
        return explicit
    run = (env.get("GITHUB_RUN_ID") or env.get("CI_JOB_ID") or "").strip()
    name = f"{DEFAULT_SESSION_NAME}-{run}" if run else DEFAULT_SESSION_NAME
    return re.sub(r"[^\w+=,.@-]", "-", name, flags=re.ASCII)[:64]


def _duration(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_DURATION_S
    if not raw.isdigit() or not MIN_DURATION_S <= int(raw) <= MAX_DURATION_S:
        raise UsageError(
            f"AWS_ROLE_DURATION_SECONDS must be a whole number of seconds from {MIN_DURATION_S} "
            f"to {MAX_DURATION_S} (got {raw!r})"
        )
    return int(raw)


__all__ = [
    "NAME",
    "OIDC_AUDIENCE",
    "BedrockSettings",
    "check_role_arn",
    "read_bedrock_settings",
]
