"""The Claude API's sign-in checks for ``FakeMessagesAPI`` (stdlib only): OAuth bearer tokens and
the workload identity federation token exchange.

Attach one to a fake (``fake.token_exchange = TokenExchange(...)``); the fake then serves
``POST /v1/oauth/token`` through ``exchange`` and asks ``refuse`` about every Messages request's
credential. What it checks, as the real endpoint does:

- the exchange: the ``oauth-2025-04-20`` and ``oidc-federation-2026-04-01`` beta flags, the RFC 7523
  ``jwt-bearer`` grant, the rule, organization (and, when configured, service account and
  workspace) ids, and the assertion: a JWT whose ``iss`` and ``aud`` match the rule, not expired by
  ``clock``, whose ``jti`` was not exchanged before (unless ``allow_reuse``). It answers the
  RFC 6749 token response (``expires_in`` = ``lifetime_s``) or an OAuth error
  (``{"error", "error_description"}``: 400 for a malformed request, 401 for a refused token);
- a Messages request with ``Authorization: Bearer <OAuth token>`` (``sk-ant-oat...``): the
  ``oauth-2025-04-20`` beta flag must be in ``anthropic-beta``; a token this exchange minted must
  not have expired by ``clock``; a subscription token must be one of ``subscription_tokens``.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

OAUTH_BETA = "oauth-2025-04-20"
FEDERATION_BETA = "oidc-federation-2026-04-01"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
OAUTH_PREFIX = "sk-ant-oat01-"


@dataclass
class Exchange:
    """One exchange request and how it was answered."""

    status: int
    claims: dict[str, Any]
    body: dict[str, Any]
    token: str | None = None


def _claims(assertion: str) -> dict[str, Any] | None:
    parts = assertion.split(".")
    if len(parts) != 3:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _betas(headers: Mapping[str, str]) -> set[str]:
    return {flag.strip() for flag in headers.get("anthropic-beta", "").split(",") if flag.strip()}


class TokenExchange:
    """A federation rule and the tokens it minted, judged by ``clock``."""

    def __init__(
        self,
        *,
        rule_id: str = "fdrl_01fake",
        organization_id: str = "00000000-0000-4000-8000-000000000001",
        service_account_id: str | None = None,
        workspace_id: str | None = None,
        issuer: str = "https://token.actions.githubusercontent.com",
        audience: str = "https://api.anthropic.com",
        subject_prefix: str = "",
        lifetime_s: int = 600,
        allow_reuse: bool = False,
        subscription_tokens: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rule_id, self.organization_id = rule_id, organization_id
        self.service_account_id, self.workspace_id = service_account_id, workspace_id
        self.issuer, self.audience, self.subject_prefix = issuer, audience, subject_prefix
        self.lifetime_s, self.allow_reuse, self.clock = lifetime_s, allow_reuse, clock
        self.subscription_tokens = set(subscription_tokens)
        self.exchanges: list[Exchange] = []
        self.minted: dict[str, float] = {}  # access token -> expiry by clock
        self.used_by_requests: list[str] = []  # the OAuth token each accepted Messages request carried
        self._seen_jti: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # -- POST /v1/oauth/token ------------------------------------------------------------------------
    def exchange(self, headers: Mapping[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        """The status and JSON body the token endpoint answers."""
        with self._lock:
            status, answer, claims = self._judge(headers, body)
            token = None
            if status == 200:
                token = f"{OAUTH_PREFIX}fake-{next(self._ids):04d}-" + "x" * 24
                self.minted[token] = self.clock() + self.lifetime_s
                answer = {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime_s}
            self.exchanges.append(Exchange(status, claims, answer, token))
            return status, answer

    def _judge(self, headers: Mapping[str, str], body: Any) -> tuple[int, dict[str, Any], dict[str, Any]]:
        def error(status: int, code: str, description: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
            return status, {"error": code, "error_description": description}, claims

        claims: dict[str, Any] = {}
        missing_betas = {OAUTH_BETA, FEDERATION_BETA} - _betas(headers)
        if missing_betas:
            flags = ", ".join(sorted(missing_betas))
            return error(400, "invalid_request", f"anthropic-beta must include {flags}")
        if not isinstance(body, dict):
            return error(400, "invalid_request", "the body must be a JSON object")
        if body.get("grant_type") != JWT_BEARER:
            return error(400, "unsupported_grant_type", f"grant_type must be {JWT_BEARER}")
        for name in ("assertion", "federation_rule_id", "organization_id"):
            if not isinstance(body.get(name), str) or not body[name]:
                return error(400, "invalid_request", f"{name} is required")
        if body["federation_rule_id"] != self.rule_id or body["organization_id"] != self.organization_id:
            return error(401, "invalid_grant", "no enabled federation rule matches")
        if self.service_account_id and body.get("service_account_id") not in (None, self.service_account_id):
            return error(401, "invalid_grant", "the service account is not the rule's target")
        if self.workspace_id and body.get("workspace_id") != self.workspace_id:
            return error(401, "invalid_grant", "workspace_id_required")
        claims = _claims(body["assertion"]) or {}
        if not claims:
            return error(400, "invalid_request", "assertion is not a JWT")
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if claims.get("iss") != self.issuer or self.audience not in audiences:
            return error(401, "invalid_grant", "the identity token does not match the rule")
        if not str(claims.get("sub", "")).startswith(self.subject_prefix):
            return error(401, "invalid_grant", "match_subject_prefix")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= self.clock():
            return error(401, "invalid_grant", "the identity token has expired")
        jti = str(claims.get("jti", ""))
        if jti and jti in self._seen_jti and not self.allow_reuse:
            return error(401, "invalid_grant", "jti_reused")
        self._seen_jti.add(jti)
        return 200, {}, claims

    # -- Messages requests ----------------------------------------------------------------------------
    def refuse(self, headers: Mapping[str, str]) -> str | None:
        """Why a Messages request's OAuth credential is refused (an authentication error), or None."""
        token = headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not token.startswith(OAUTH_PREFIX):
            return None
        if OAUTH_BETA not in _betas(headers):
            return "OAuth authentication is currently not supported."
        with self._lock:
            expiry = self.minted.get(token)
            if expiry is None and token not in self.subscription_tokens:
                return "Invalid bearer token"
            if expiry is not None and self.clock() >= expiry:
                return "OAuth token has expired."
            self.used_by_requests.append(token)
        return None


__all__ = ["FEDERATION_BETA", "JWT_BEARER", "OAUTH_BETA", "Exchange", "TokenExchange"]
