"""A loopback fake of the Google Cloud endpoints Claude on Vertex AI uses (stdlib only).

One server answers, on 127.0.0.1:

- Google STS ``POST /v1/token``: OAuth 2.0 token exchange (RFC 8693), form-encoded as google-auth
  sends it (``grant_type=urn:ietf:params:oauth:grant-type:token-exchange``, ``audience`` =
  ``//iam.googleapis.com/<provider>``, ``scope``, ``requested_token_type``, ``subject_token``,
  ``subject_token_type``). The subject JWT's ``aud`` must be one of the provider's allowed audiences
  (by default ``https://iam.googleapis.com/<provider>``), its ``iss`` the configured issuer, its ``exp``
  in the future, and its claims must pass the attribute condition; errors use STS's JSON
  (``{"error": "invalid_grant", "error_description": ...}``).
- IAM Credentials ``POST /v1/projects/-/serviceAccounts/<email>:generateAccessToken``: bearer the STS
  token, body ``{"scope": [...], "lifetime": "3600s"}`` -> ``{"accessToken", "expireTime"}``; 403
  ``PERMISSION_DENIED`` when the pool may not impersonate the account.
- Vertex AI ``POST /v1/projects/<p>/locations/<region>/publishers/anthropic/models/<model>:rawPredict``
  and ``:streamRawPredict`` (and ``count-tokens:rawPredict``): bearer an unexpired access token, the
  body without ``model`` and with ``anthropic_version``; replies are the scripted turns of
  ``FakeMessagesAPI`` (JSON, or SSE framed like the Messages API); a model that is not enabled gets
  Vertex's 404 ``NOT_FOUND``.

Every expiry follows ``clock`` (epoch seconds), so a test can expire tokens mid-run.

    with FakeGoogleCloud([[tool_use("LS", {})], "Done."], clock=clock) as gcp:
        env = {"CLAUDE_RUNNER_GOOGLE_STS_URL": gcp.sts_url, "CLAUDE_RUNNER_GOOGLE_IAM_URL": gcp.iam_url,
               "ANTHROPIC_VERTEX_BASE_URL": gcp.vertex_base_url, ...}
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runner.testing.fake_messages import FakeMessagesAPI, RequestRecord, _Reply
from runner.testing.scripting import Fault

DEFAULT_PROVIDER = "projects/123456789012/locations/global/workloadIdentityPools/ci-pool/providers/github"
DEFAULT_PROJECT = "my-project"
DEFAULT_SERVICE_ACCOUNT = "claude-runner@my-project.iam.gserviceaccount.com"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SUBJECT_TOKEN_TYPES = ("urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:id_token")
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

_IAM_PATH = re.compile(r"/v1/projects/-/serviceAccounts/(?P<email>[^/:]+):generateAccessToken")
_VERTEX_PATH = re.compile(
    r"/v1/projects/(?P<project>[^/]+)/locations/(?P<region>[^/]+)/publishers/anthropic/models/"
    r"(?P<model>[^/:]+):(?P<method>rawPredict|streamRawPredict)"
)


# -- JWTs -----------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode_jwt(claims: Mapping[str, Any], key: bytes = b"fake-issuer-key", kid: str = "fake") -> str:
    """A JWT with ``claims`` (HS256 with ``key``: the fakes read claims, they do not verify keys)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified; ValueError if ``token`` is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    data = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    if not isinstance(data, dict):
        raise ValueError("JWT payload is not an object")
    return data


def github_claims(
    audience: str, repository: str = "octo-org/octo-repo", now: float | None = None, **extra: Any
) -> dict[str, Any]:
    """Claims shaped like a GitHub Actions OIDC token for ``audience``."""
    issued = int(time.time() if now is None else now)
    owner = repository.split("/")[0]
    return {
        "jti": secrets.token_hex(8),
        "sub": f"repo:{repository}:ref:refs/heads/main",
        "aud": audience,
        "ref": "refs/heads/main",
        "repository": repository,
        "repository_owner": owner,
        "actor": "octocat",
        "workflow": "claude",
        "event_name": "issue_comment",
        "iss": GITHUB_ISSUER,
        "nbf": issued - 5,
        "iat": issued,
        "exp": issued + 300,
        **extra,
    }


# -- errors in Google's shapes ---------------------------------------------------------------------


def _oauth_error(error: str, description: str, status: int = 400) -> _Reply:
    return _Reply(status, {"error": error, "error_description": description})


def _rpc_error(code: int, status: str, message: str, reason: str | None = None, **meta: str) -> _Reply:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if reason:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": dict(meta),
            }
        ]
    return _Reply(code, {"error": error})


_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
    "other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


@dataclass
class IssuedToken:
    """A token the fake minted: who it stands for and when it expires (``clock`` seconds)."""

    token: str
    expires_at: float
    claims: dict[str, Any]
    service_account: str | None = None


class FakeGoogleCloud(FakeMessagesAPI):
    """Loopback Google STS + IAM Credentials + Vertex AI, with scripted Claude turns.

    ``provider``: the workload identity provider resource name; ``allowed_audiences``: the OIDC
    ``aud`` values it accepts (default ``https://iam.googleapis.com/<provider>``); ``issuer``: the
    required ``iss`` (None: any); ``attribute_condition``: a predicate on the OIDC claims (False:
    rejected like a failing CEL condition); ``service_accounts``: accounts the pool may impersonate
    (None: any); ``aiplatform_users``: accounts allowed to call Vertex AI (None: any); ``project``:
    the project Claude is enabled in; ``enabled_models``: enabled model ids, or model -> regions
    (None: every model everywhere); ``access_token_lifetime_s``: caps the lifetime the caller asks
    for (a short expiry for refresh tests); ``clock``: epoch seconds for every expiry."""

    def __init__(
        self,
        turns: Iterable[Any] = (),
        *,
        provider: str = DEFAULT_PROVIDER,
        allowed_audiences: Iterable[str] | None = None,
        issuer: str | None = None,
        attribute_condition: Callable[[Mapping[str, Any]], bool] | None = None,
        service_accounts: Iterable[str] | None = None,
        aiplatform_users: Iterable[str] | None = None,
        project: str = DEFAULT_PROJECT,
        enabled_models: Iterable[str] | Mapping[str, Iterable[str]] | None = None,
        access_token_lifetime_s: float | None = None,
        sts_token_lifetime_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
        faults: Iterable[Fault | Mapping[str, Any] | str] = (),
        log_path: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(turns, faults=faults, log_path=log_path, host=host, port=port)
        self.provider = provider
        self.allowed_audiences = (
            list(allowed_audiences)
            if allowed_audiences is not None
            else [f"https://iam.googleapis.com/{provider}"]
        )
        self.issuer = issuer
        self.attribute_condition = attribute_condition
        self.service_accounts = set(service_accounts) if service_accounts is not None else None
        self.aiplatform_users = set(aiplatform_users) if aiplatform_users is not None else None
        self.project = project
        if enabled_models is None or isinstance(enabled_models, Mapping):
            self.enabled_models: dict[str, set[str] | None] | None = (
                None if enabled_models is None else {m: set(r) for m, r in enabled_models.items()}
            )
        else:
            self.enabled_models = dict.fromkeys(enabled_models)
        self.access_token_lifetime_s = access_token_lifetime_s
        self.sts_token_lifetime_s = sts_token_lifetime_s
        self.clock = clock
        self.federated_tokens: list[IssuedToken] = []
        self.access_tokens: list[IssuedToken] = []

    # -- URLs -------------------------------------------------------------------------------------
    @property
    def sts_url(self) -> str:
        """The STS token endpoint (``CLAUDE_RUNNER_GOOGLE_STS_URL``)."""
        return f"{self.base_url}/v1/token"

    @property
    def iam_url(self) -> str:
        """The IAM Credentials API root (``CLAUDE_RUNNER_GOOGLE_IAM_URL``)."""
        return self.base_url

    @property
    def vertex_base_url(self) -> str:
        """The Vertex AI endpoint including ``/v1`` (``ANTHROPIC_VERTEX_BASE_URL``)."""
        return f"{self.base_url}/v1"

    # -- inspection -------------------------------------------------------------------------------
    def _matching(self, pattern: re.Pattern[str] | str) -> list[RequestRecord]:
        if isinstance(pattern, str):
            return [r for r in self.requests if r.path.split("?")[0] == pattern]
        return [r for r in self.requests if pattern.fullmatch(r.path.split("?")[0])]

    @property
    def sts_requests(self) -> list[RequestRecord]:
        """Token exchanges received (``body`` is the form-encoded string)."""
        return self._matching("/v1/token")

    @property
    def iam_requests(self) -> list[RequestRecord]:
        """``generateAccessToken`` calls received."""
        return self._matching(_IAM_PATH)

    @property
    def message_requests(self) -> list[RequestRecord]:
        """``:rawPredict`` / ``:streamRawPredict`` calls received."""
        return self._matching(_VERTEX_PATH)

    # -- routing ----------------------------------------------------------------------------------
    def _route(self, record: RequestRecord) -> _Reply:
        route = record.path.split("?")[0]
        if record.method != "POST":
            return _rpc_error(404, "NOT_FOUND", f"{record.method} {route} is not served by this fake")
        if route == "/v1/token":
            return self._sts(record)
        iam = _IAM_PATH.fullmatch(route)
        if iam:
            return self._generate_access_token(record, urllib.parse.unquote(iam["email"]))
        vertex = _VERTEX_PATH.fullmatch(route)
        if vertex:
            return self._predict(record, vertex)
        return _rpc_error(404, "NOT_FOUND", f"The requested URL {route} was not found on this server.")

    def _sts(self, record: RequestRecord) -> _Reply:
        raw = record.body if isinstance(record.body, str) else json.dumps(record.body)
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
        record.body = form
        if form.get("grant_type") != TOKEN_EXCHANGE:
            return _oauth_error("unsupported_grant_type", f"Unsupported grant_type: {form.get('grant_type')}")
        if form.get("requested_token_type") != ACCESS_TOKEN_TYPE:
            return _oauth_error("invalid_request", 'Invalid value for "requested_token_type".')
        if form.get("subject_token_type") not in SUBJECT_TOKEN_TYPES:
            return _oauth_error("invalid_request", 'Invalid value for "subject_token_type".')
        if form.get("audience") != f"//iam.googleapis.com/{self.provider}":
            return _oauth_error(
                "invalid_target",
                'The target service indicated by the "audience" parameters is invalid. This might either be '
                "because the pool or provider is disabled or deleted or because it doesn't exist.",
            )
        try:
            claims = jwt_claims(form.get("subject_token", ""))
        except ValueError:
            return _oauth_error("invalid_request", 'Invalid value for "subject_token".')
        if self.issuer is not None and claims.get("iss") != self.issuer:
            return _oauth_error(
                "invalid_grant",
                f"The issuer in ID Token {claims.get('iss')} does not match the expected ones: "
                f"{self.issuer}.",
            )
        if float(claims.get("exp", 0)) <= self.clock():
            return _oauth_error("invalid_grant", "ID Token issued at the token time has expired.")
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if not any(a in self.allowed_audiences for a in audiences):
            shown = ", ".join(map(str, audiences))
            return _oauth_error(
                "invalid_grant",
                f"The audience in ID Token [{shown}] does not match the expected audience "
                f"{', '.join(self.allowed_audiences)}.",
            )
        if self.attribute_condition is not None and not self.attribute_condition(claims):
            return _oauth_error(
                "unauthorized_client", "The given credential is rejected by the attribute condition."
            )
        # google-auth asks for cloud-platform, or for iam when the token will impersonate an account
        scopes = form.get("scope", "").split()
        if not scopes or not all(s.startswith("https://www.googleapis.com/auth/") for s in scopes):
            return _oauth_error("invalid_scope", f"Invalid scope: {form.get('scope', '')!r}.")
        issued = IssuedToken(
            f"fake-sts-{secrets.token_urlsafe(24)}", self.clock() + self.sts_token_lifetime_s, claims
        )
        with self._lock:
            self.federated_tokens.append(issued)
        return _Reply(
            200,
            {
                "access_token": issued.token,
                "issued_token_type": ACCESS_TOKEN_TYPE,
                "token_type": "Bearer",
                "expires_in": int(self.sts_token_lifetime_s),
            },
        )

    def _bearer(self, record: RequestRecord, issued: list[IssuedToken]) -> IssuedToken | None:
        value = record.headers.get("authorization", "")
        if not value.lower().startswith("bearer "):
            return None
        token = value[7:].strip()
        with self._lock:
            found = next((t for t in issued if t.token == token), None)
        return found if found is not None and found.expires_at > self.clock() else None

    def _generate_access_token(self, record: RequestRecord, email: str) -> _Reply:
        federated = self._bearer(record, self.federated_tokens)
        if federated is None:
            return _rpc_error(401, "UNAUTHENTICATED", _UNAUTHENTICATED, "ACCESS_TOKEN_TYPE_UNSUPPORTED")
        if self.service_accounts is not None and email not in self.service_accounts:
            return _rpc_error(
                403,
                "PERMISSION_DENIED",
                "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
                "IAM_PERMISSION_DENIED",
                permission="iam.serviceAccounts.getAccessToken",
            )
        body = record.body if isinstance(record.body, dict) else {}
        scopes = body.get("scope") or []
        if not isinstance(scopes, list) or not scopes:
            return _rpc_error(400, "INVALID_ARGUMENT", "Scope required.")
        lifetime_text = str(body.get("lifetime") or "3600s")
        try:
            lifetime = float(lifetime_text.removesuffix("s"))
        except ValueError:
            return _rpc_error(400, "INVALID_ARGUMENT", f"Invalid value at 'lifetime' ({lifetime_text})")
        if lifetime > 3600:
            return _rpc_error(
                400,
                "INVALID_ARGUMENT",
                "The lifetime set on the request exceeds the maximum lifetime allowed (3600s).",
            )
        if self.access_token_lifetime_s is not None:
            lifetime = min(lifetime, self.access_token_lifetime_s)
        issued = IssuedToken(
            f"fake-gcp-access-{secrets.token_urlsafe(24)}", self.clock() + lifetime, federated.claims, email
        )
        with self._lock:
            self.access_tokens.append(issued)
        expire = dt.datetime.fromtimestamp(issued.expires_at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return _Reply(200, {"accessToken": issued.token, "expireTime": expire})

    def _predict(self, record: RequestRecord, match: re.Match[str]) -> _Reply:
        project, region, method = match["project"], match["region"], match["method"]
        model = urllib.parse.unquote(match["model"])
        name = f"projects/{project}/locations/{region}/publishers/anthropic/models/{model}"
        resource = f"//aiplatform.googleapis.com/{name}"
        access = self._bearer(record, self.access_tokens)
        if access is None:
            return _rpc_error(401, "UNAUTHENTICATED", _UNAUTHENTICATED, "ACCESS_TOKEN_EXPIRED")
        denied = self.aiplatform_users is not None and access.service_account not in self.aiplatform_users
        if project != self.project or denied:
            return _rpc_error(
                403,
                "PERMISSION_DENIED",
                f"Permission 'aiplatform.endpoints.predict' denied on resource '{resource}' "
                "(or it may not exist).",
                "IAM_PERMISSION_DENIED",
                permission="aiplatform.endpoints.predict",
            )
        if self.enabled_models is not None:
            regions = self.enabled_models.get(model, set())
            if model not in self.enabled_models or (regions is not None and region not in regions):
                return _rpc_error(
                    404,
                    "NOT_FOUND",
                    f"Publisher Model `projects/{project}/locations/{region}/publishers/anthropic/models/"
                    f"{model}` was not found or your project does not have access to it. Please ensure you "
                    "are using a valid model version. For more information, see: "
                    "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions",
                )
        body = record.body
        if not isinstance(body, dict):
            return _rpc_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        if "model" in body:
            return _anthropic_400("model: Extra inputs are not permitted")
        version = body.get("anthropic_version")
        if not isinstance(version, str) or not version:
            return _anthropic_400("anthropic_version: Field required")
        if bool(body.get("stream")) != (method == "streamRawPredict"):
            return _anthropic_400(f"{method} needs stream={str(method == 'streamRawPredict').lower()}")
        inner = dataclasses.replace(
            record,
            path="/v1/messages",
            headers={**record.headers, "anthropic-version": version},
            body={**body, "model": model},
        )
        reply = super()._route(inner)
        record.usage, record.effective_input = inner.usage, inner.effective_input
        record.fault, record.turn_index = inner.fault, inner.turn_index
        return reply


def _anthropic_400(message: str) -> _Reply:
    return _Reply(400, {"type": "error", "error": {"type": "invalid_request_error", "message": message}})


__all__ = [
    "DEFAULT_PROJECT",
    "DEFAULT_PROVIDER",
    "DEFAULT_SERVICE_ACCOUNT",
    "GITHUB_ISSUER",
    "FakeGoogleCloud",
    "IssuedToken",
    "encode_jwt",
    "github_claims",
    "jwt_claims",
]
