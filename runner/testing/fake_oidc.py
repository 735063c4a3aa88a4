"""A loopback fake of GitHub Actions' OIDC token endpoint (stdlib only), for tests and the demo.

Shaped like the real one: ``GET <ACTIONS_ID_TOKEN_REQUEST_URL>&audience=<aud>`` with
``Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>`` answers ``{"count": N, "value": "<jwt>"}``.
The JWT carries GitHub's issuer and a ``repo:owner/name:ref:refs/heads/main`` subject, is signed
with HS256 when a ``secret`` is given (else ``alg: none``), and expires by a clock the test
controls. Fakes of STS or Google's token exchange can check what they receive against ``issued``.

    with FakeOidcIssuer() as issuer:
        env = {"GITHUB_ACTIONS": "true", **issuer.env()}
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from runner.testing.loopback import FakeServer, LoopbackServer

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
TOKEN_PATH = "/_apis/distributedtask/hubs/Actions/plans/fake-plan/jobs/fake-job/idtoken"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode_jwt(claims: Mapping[str, Any], secret: bytes | None = None, kid: str = "fake-oidc") -> str:
    """A compact JWT: HS256 with ``secret``, else unsigned (``alg: none``, empty signature)."""
    header = {"typ": "JWT", "alg": "HS256" if secret else "none", "kid": kid}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(dict(claims)).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret else b""
    return f"{signing_input}.{_b64(signature)}"


@dataclass
class OidcRequest:
    """One request the fake received and what it answered."""

    method: str
    path: str
    audience: str | None
    authorized: bool
    status: int
    at: float = field(default_factory=time.time)


class FakeOidcIssuer(LoopbackServer):
    """GitHub's OIDC token endpoint on 127.0.0.1.

    ``repository`` / ``ref`` shape the ``sub`` claim; ``claims`` adds or overrides claims;
    ``lifetime_s`` is how long tokens last by ``clock``; ``fail_next(status)`` queues HTTP errors.
    """

    _thread_name = "fake-oidc"

    def __init__(
        self,
        *,
        repository: str = "owner/name",
        ref: str = "refs/heads/main",
        issuer: str = GITHUB_ISSUER,
        secret: bytes | None = None,
        lifetime_s: int = 300,
        clock: Callable[[], float] = time.time,
        claims: Mapping[str, Any] | None = None,
        request_token: str | None = None,
    ) -> None:
        self.repository, self.ref, self.issuer = repository, ref, issuer
        self.secret, self.lifetime_s, self.clock = secret, lifetime_s, clock
        self.extra_claims = dict(claims or {})
        self.request_token = request_token or "fake-actions-request-" + secrets.token_hex(16)
        self.issued: list[tuple[str, str]] = []
        self.requests: list[OidcRequest] = []
        self._faults: deque[int] = deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._address = ("127.0.0.1", 0)

    # -- lifecycle (LoopbackServer) --------------------------------------------------------------
    def _make_server(self) -> FakeServer:
        return FakeServer(self._address, _Handler, self)

    # -- what a test passes to the code under test -----------------------------------------------

    @property
    def request_url(self) -> str:
        """The value for ``ACTIONS_ID_TOKEN_REQUEST_URL`` (it has a query: clients append ``&audience=``)."""
        return f"{self.base_url}{TOKEN_PATH}?api-version=2.0"

    def env(self) -> dict[str, str]:
        """``ACTIONS_ID_TOKEN_REQUEST_URL`` and ``ACTIONS_ID_TOKEN_REQUEST_TOKEN`` for this fake."""
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": self.request_url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token,
        }

    @property
    def subject(self) -> str:
        """The ``sub`` claim tokens carry."""
        return f"repo:{self.repository}:ref:{self.ref}"

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these HTTP statuses (one each)."""
        with self._lock:
            self._faults.extend(statuses)

    def mint(self, audience: str, **overrides: Any) -> str:
        """A token as the endpoint would issue it (also usable as a GitLab ``id_tokens`` value)."""
        now = int(self.clock())
        owner = self.repository.split("/")[0]
        claims: dict[str, Any] = {
            "jti": f"fake-{next(self._ids)}",
            "iss": self.issuer,
            "sub": self.subject,
            "aud": audience,
            "ref": self.ref,
            "repository": self.repository,
            "repository_owner": owner,
            "event_name": "issue_comment",
            "runner_environment": "github-hosted",
            "nbf": now - 5,
            "iat": now,
            "exp": now + self.lifetime_s,
            **self.extra_claims,
            **overrides,
        }
        return encode_jwt(claims, self.secret)

    # -- request handling ----------------------------------------------------------------------------
    def _handle(self, method: str, path: str, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        audience = query.get("audience", [None])[0]
        authorized = headers.get("authorization", "") == f"Bearer {self.request_token}"
        status, body = self._answer(method, parts.path, authorized, audience)
        with self._lock:
            self.requests.append(OidcRequest(method, path, audience, authorized, status))
        return status, body

    def _answer(
        self, method: str, route: str, authorized: bool, audience: str | None
    ) -> tuple[int, dict[str, Any]]:
        if method != "GET" or route != TOKEN_PATH:
            return 404, {"message": "Not Found"}
        if not authorized:
            return 401, {"message": "Unauthorized: the request token is missing or invalid"}
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault is not None:
            return fault, {"message": f"injected HTTP {fault}"}
        # GitHub's default audience is the URL of the repository owner.
        aud = audience or f"https://github.com/{self.repository.split('/')[0]}"
        token = self.mint(aud)
        with self._lock:
            self.issued.append((aud, token))
        return 200, {"count": len(token), "value": token}


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        issuer: FakeOidcIssuer = self.server.fake  # type: ignore[attr-defined]
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, body = issuer._handle(method, self.path, headers)
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


__all__ = ["GITHUB_ISSUER", "TOKEN_PATH", "FakeOidcIssuer", "OidcRequest", "encode_jwt"]
