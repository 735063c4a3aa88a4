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
redactor. Where the keys come from (boto3's chain, STS) is ``bedrock_auth``; boto3 is imported
only when a client is built. The settings (``BedrockSettings``) are read from the environment by
``runner.settings.bedrock``; this module reads none.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from runner.errors import CredentialsError
from runner.providers.base import ClientOptions
from runner.providers.bedrock_auth import assume_role_credentials, default_chain_credentials
from runner.settings.bedrock import BedrockSettings

if TYPE_CHECKING:
    import anthropic
    import httpx2
    from anthropic._models import FinalRequestOptions

BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"  # the only value InvokeModel accepts


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
    "build_client",
    "explain_error",
    "secrets",
]
