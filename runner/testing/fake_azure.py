"""A loopback fake of Microsoft Entra ID and a Microsoft Foundry resource's Claude endpoint (stdlib only).

One server answers, on 127.0.0.1:

- Entra ID ``POST /<tenant>/oauth2/v2.0/token``: the client-credentials grant with a federated
  client assertion, form-encoded as Azure SDKs send it (``client_id``, ``grant_type=client_credentials``,
  ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``, ``client_assertion``,
  ``scope``). The assertion's ``aud`` must be ``api://AzureADTokenExchange`` and its ``iss``/``sub`` must
  match one of the app's federated credentials, else Entra's error JSON with the AADSTS code
  (``AADSTS70021`` for no matching federated identity record).
- Foundry ``POST /anthropic/v1/messages`` (and ``/count_tokens``): ``Authorization: Bearer <Entra
  token>`` (unexpired, by ``clock``) or ``x-api-key``/``api-key``; the model is a deployment name,
  unknown ones get Azure's 404 ``DeploymentNotFound``; replies are ``FakeMessagesAPI``'s scripted turns.

    with FakeAzure(["Done."], clock=clock) as azure:
        env = {"AZURE_AUTHORITY_HOST": azure.authority_host,
               "ANTHROPIC_FOUNDRY_BASE_URL": azure.foundry_base_url,
               "AZURE_TENANT_ID": azure.tenant_id, "AZURE_CLIENT_ID": azure.client_id}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runner.testing.fake_google import GITHUB_ISSUER, encode_jwt, jwt_claims
from runner.testing.fake_messages import FakeMessagesAPI, RequestRecord, _Reply
from runner.testing.scripting import Fault

DEFAULT_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
DEFAULT_CLIENT = "0f3c2a1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
DEFAULT_SUBJECT = "repo:octo-org/octo-repo:ref:refs/heads/main"
EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACCEPTED_SCOPES = ("https://cognitiveservices.azure.com/.default", "https://ai.azure.com/.default")

_TOKEN_PATH = re.compile(r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token")
_FOUNDRY_PATHS = ("/anthropic/v1/messages", "/anthropic/v1/messages/count_tokens")


@dataclass(frozen=True)
class FederatedCredential:
    """An app registration's federated identity credential: which OIDC tokens it trusts."""

    issuer: str = GITHUB_ISSUER
    subject: str = DEFAULT_SUBJECT
    audience: str = EXCHANGE_AUDIENCE


@dataclass
class EntraToken:
    """An access token the fake issued and when it expires (``clock`` seconds)."""

    token: str
    expires_at: float
    scope: str
    assertion_claims: dict[str, Any]


def _aadsts(code: int, error: str, text: str, status: int = 400) -> _Reply:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace, correlation = secrets.token_hex(16), secrets.token_hex(16)
    description = (
        f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {now}"
    )
    return _Reply(
        status,
        {
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": now,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        },
    )


def _azure_error(status: int, code: str, message: str) -> _Reply:
    return _Reply(status, {"error": {"code": code, "message": message}})


class FakeAzure(FakeMessagesAPI):
    """Loopback Entra ID token endpoint + Foundry Claude endpoint, with scripted turns.

    ``tenant_id``/``client_id``: the tenant and app registration; ``federated_credentials``: what the
    app trusts (default: GitHub's issuer, subject ``repo:octo-org/octo-repo:ref:refs/heads/main``);
    ``api_key``: a Foundry key accepted instead of a token; ``deployments``: deployment names that exist
    (None: any model); ``role_assigned``: False answers 401 PermissionDenied to a valid token (no role
    on the resource); ``token_lifetime_s``: the ``expires_in`` of issued tokens; ``clock``: epoch
    seconds for every expiry."""

    def __init__(
        self,
        turns: Iterable[Any] = (),
        *,
        tenant_id: str = DEFAULT_TENANT,
        client_id: str = DEFAULT_CLIENT,
        federated_credentials: Iterable[FederatedCredential] = (FederatedCredential(),),
        api_key: str | None = None,
        deployments: Iterable[str] | None = None,
        role_assigned: bool = True,
        token_lifetime_s: float = 3599.0,
        clock: Callable[[], float] = time.time,
        faults: Iterable[Fault | Mapping[str, Any] | str] = (),
        log_path: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(turns, faults=faults, log_path=log_path, host=host, port=port)
        self.tenant_id, self.client_id = tenant_id, client_id
        self.federated_credentials = list(federated_credentials)
        self.foundry_api_key = api_key
        self.deployments = set(deployments) if deployments is not None else None
        self.role_assigned = role_assigned
        self.token_lifetime_s = token_lifetime_s
        self.clock = clock
        self.tokens: list[EntraToken] = []

    @property
    def authority_host(self) -> str:
        """Entra ID's host (``AZURE_AUTHORITY_HOST``)."""
        return self.base_url

    @property
    def foundry_base_url(self) -> str:
        """The resource's Claude endpoint (``ANTHROPIC_FOUNDRY_BASE_URL``)."""
        return f"{self.base_url}/anthropic"

    @property
    def token_requests(self) -> list[RequestRecord]:
        """Requests to the token endpoint (``body`` is the parsed form)."""
        return [r for r in self.requests if _TOKEN_PATH.fullmatch(r.path.split("?")[0])]

    @property
    def message_requests(self) -> list[RequestRecord]:
        """Requests to ``/anthropic/v1/messages``."""
        return [r for r in self.requests if r.path.split("?")[0].rstrip("/") == "/anthropic/v1/messages"]

    def _route(self, record: RequestRecord) -> _Reply:
        route = record.path.split("?")[0].rstrip("/")
        token_path = _TOKEN_PATH.fullmatch(route)
        if record.method == "POST" and token_path:
            return self._token(record, token_path["tenant"])
        if record.method == "POST" and route in _FOUNDRY_PATHS:
            return self._messages(record, route)
        return _azure_error(404, "404", "Resource not found")

    def _token(self, record: RequestRecord, tenant: str) -> _Reply:
        raw = record.body if isinstance(record.body, str) else ""
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
        record.body = form
        if tenant != self.tenant_id:
            return _aadsts(
                90002,
                "invalid_request",
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                "signing into the correct cloud.",
            )
        if form.get("grant_type") != "client_credentials":
            return _aadsts(70003, "unsupported_grant_type", "The app requested an unsupported grant type.")
        if form.get("client_id") != self.client_id:
            return _aadsts(
                700016,
                "unauthorized_client",
                f"Application with identifier '{form.get('client_id')}' was not found in the directory "
                f"'{tenant}'.",
            )
        scope = form.get("scope", "")
        if scope not in ACCEPTED_SCOPES:
            return _aadsts(
                1002012,
                "invalid_scope",
                f"The provided value for scope {scope} is not valid. Client credential flows must have a "
                "scope value with /.default suffixed to the resource identifier (application ID URI).",
            )
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return _aadsts(
                7000218,
                "invalid_client",
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
                401,
            )
        try:
            claims = jwt_claims(form.get("client_assertion", ""))
        except ValueError:
            return _aadsts(50027, "invalid_request", "JWT token is invalid or malformed.")
        if float(claims.get("exp", 0)) <= self.clock():
            return _aadsts(700024, "invalid_client", "Client assertion is not within its valid time range.")
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        iss, sub = claims.get("iss"), claims.get("sub")
        if not any(c.audience in audiences for c in self.federated_credentials):
            return _aadsts(
                700212,
                "invalid_client",
                f"No matching federated identity record found for presented assertion audience "
                f"'{', '.join(map(str, audiences))}'.",
                401,
            )
        if not any(c.issuer == iss and c.subject == sub for c in self.federated_credentials):
            return _aadsts(
                70021,
                "invalid_request",
                "No matching federated identity record found for presented assertion. Assertion Issuer: "
                f"'{iss}'. Assertion Subject: '{sub}'. "
                f"Assertion Audience: '{', '.join(map(str, audiences))}'. "
                "https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
            )
        now = self.clock()
        resource = scope.removesuffix("/.default")
        token = encode_jwt(
            {
                "aud": resource,
                "iss": f"https://sts.windows.net/{self.tenant_id}/",
                "iat": int(now),
                "nbf": int(now),
                "exp": int(now + self.token_lifetime_s),
                "appid": self.client_id,
                "tid": self.tenant_id,
                "oid": secrets.token_hex(16),
                "uti": secrets.token_urlsafe(12),
            },
            key=secrets.token_bytes(16),
        )
        with self._lock:
            self.tokens.append(EntraToken(token, now + self.token_lifetime_s, scope, claims))
        return _Reply(
            200,
            {
                "token_type": "Bearer",
                "expires_in": int(self.token_lifetime_s),
                "ext_expires_in": int(self.token_lifetime_s),
                "access_token": token,
            },
        )

    def _messages(self, record: RequestRecord, route: str) -> _Reply:
        key = record.headers.get("x-api-key") or record.headers.get("api-key")
        bearer = record.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            token = bearer[7:].strip()
            with self._lock:
                issued = next((t for t in self.tokens if t.token == token), None)
            if issued is None or issued.expires_at <= self.clock():
                return _azure_error(
                    401,
                    "401",
                    "Unauthorized. Access token is missing, invalid, audience is incorrect "
                    "(https://cognitiveservices.azure.com), or have expired.",
                )
            if not self.role_assigned:
                return _azure_error(
                    401,
                    "PermissionDenied",
                    f"The principal `{self.client_id}` lacks the required data action "
                    "`Microsoft.CognitiveServices/accounts/AIServices/anthropic/messages/action` to perform "
                    "`POST /anthropic/v1/messages` operation.",
                )
        elif key is None or self.foundry_api_key is None or key != self.foundry_api_key:
            return _azure_error(
                401,
                "401",
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
                "a valid key for an active subscription and use a correct regional API endpoint for your "
                "resource.",
            )
        body = record.body
        model = body.get("model") if isinstance(body, dict) else None
        if self.deployments is not None and model not in self.deployments:
            return _azure_error(
                404,
                "DeploymentNotFound",
                "The API deployment for this resource does not exist. If you created the deployment "
                "within the last 5 minutes, please wait a moment and try again.",
            )
        inner = dataclasses.replace(
            record, path=route.removeprefix("/anthropic"), headers={**record.headers, "x-api-key": "foundry"}
        )
        reply = super()._route(inner)
        record.usage, record.effective_input = inner.usage, inner.effective_input
        record.fault, record.turn_index = inner.fault, inner.turn_index
        return reply


__all__ = [
    "DEFAULT_CLIENT",
    "DEFAULT_SUBJECT",
    "DEFAULT_TENANT",
    "EXCHANGE_AUDIENCE",
    "EntraToken",
    "FakeAzure",
    "FederatedCredential",
]
