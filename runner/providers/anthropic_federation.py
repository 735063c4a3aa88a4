"""Workload identity federation for the Claude API: the job's OIDC token for a short-lived token.

The exchange itself is the ``anthropic`` SDK's (``WorkloadIdentityCredentials``: ``POST
/v1/oauth/token`` with the RFC 7523 ``jwt-bearer`` grant and the federation beta flag). This module
adds what a CI run needs around it:

- a fresh identity token for every exchange (GitHub's are single-use: a second exchange of one
  is refused as ``jti_reused``), from the job's OIDC token source or the WIF reference's
  ``ANTHROPIC_IDENTITY_TOKEN`` / ``ANTHROPIC_IDENTITY_TOKEN_FILE``;
- expiry judged by ``ClientOptions.clock`` (tests move it), a new exchange ``REFRESH_MARGIN_S``
  before the token expires (or halfway through a shorter life), and another at once when the API
  answered 401 to the current one;
- every minted token reported to ``on_secret`` (the redactor);
- the endpoint's refusals as one line with the fix (``explain``).

The provider hands the SDK tokens with ``expires_at=0`` ("the provider caches"): the client asks
it before every request and it answers from its cache until a refresh is due.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import CredentialsError, ProviderError, RunnerError
from runner.providers.base import ClientOptions, TokenSource
from runner.providers.oidc import FileToken
from runner.settings.anthropic_auth import (
    IDENTITY_TOKEN_FILE_VAR,
    IDENTITY_TOKEN_VAR,
    ORGANIZATION_VAR,
    RULE_VAR,
    WORKSPACE_VAR,
    FederationSettings,
    named,
)

if TYPE_CHECKING:
    from anthropic.lib.credentials import AccessToken

DEFAULT_BASE_URL = "https://api.anthropic.com"
REFRESH_MARGIN_S = 120.0  # exchange again this long before the token expires
CONSOLE = "Claude Console → Settings → Workload identity"


class StaticIdentityToken:
    """``ANTHROPIC_IDENTITY_TOKEN``: one token given as a value (it cannot be renewed)."""

    name = IDENTITY_TOKEN_VAR

    def __init__(self, value: str) -> None:
        self._value = value

    def token(self, audience: str) -> str:
        """The value, whatever ``audience`` is (its issuer fixed the audience)."""
        return self._value


def identity_source(
    settings: FederationSettings, job_source: TokenSource | None, **kwargs: Any
) -> TokenSource | None:
    """Where identity tokens come from: the WIF variables when set, else the job's OIDC source."""
    if settings.identity_token_file:
        return FileToken(Path(settings.identity_token_file).expanduser(), **kwargs)
    if settings.identity_token:
        return StaticIdentityToken(settings.identity_token)
    return job_source


class FederatedToken:
    """An ``anthropic`` credentials provider that exchanges identity tokens and refreshes itself."""

    def __init__(
        self,
        settings: FederationSettings,
        source: TokenSource,
        *,
        clock: Callable[[], float] = time.time,
        on_secret: Callable[[str], None] | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        import httpx2
        from anthropic.lib.credentials import WorkloadIdentityCredentials

        self.settings, self.source = settings, source
        self._clock, self._on_secret = clock, on_secret
        self._lock = threading.Lock()
        self._exchange = WorkloadIdentityCredentials(
            identity_token_provider=self._identity_token,
            federation_rule_id=settings.rule_id,
            organization_id=settings.organization_id,
            service_account_id=settings.service_account_id,
            workspace_id=settings.workspace_id,
            scope=settings.scope,
            http_client=httpx2.Client(timeout=timeout_s),
        )
        self.token: str | None = None
        self.expires_at = 0.0  # by ``clock``
        self.lifetime_s = 0.0
        self.exchanges = 0

    # -- the SDK's provider protocol (``BaseURLBoundProvider``) ------------------------------------
    def for_base_url(self, base_url: str) -> FederatedToken:
        """Exchange at the client's own endpoint: a token is valid only where it was minted."""
        try:
            self._exchange.bind_base_url(base_url)
        except Exception as exc:  # the SDK refuses a plain-HTTP endpoint that is not loopback
            raise CredentialsError(
                f"workload identity federation cannot use {base_url}: {exc}",
                "use an https:// ANTHROPIC_BASE_URL (the exchange carries the identity token)",
            ) from None
        return self

    def __call__(self, *, force_refresh: bool = False) -> AccessToken:
        """The current access token, exchanged again when due or when ``force_refresh``."""
        from anthropic.lib.credentials import AccessToken

        with self._lock:
            if force_refresh or self.refresh_due():
                self._refresh()
            assert self.token is not None
            return AccessToken(token=self.token, expires_at=0)

    # -- ours ---------------------------------------------------------------------------------------
    def refresh_due(self) -> bool:
        """True when there is no token, or it is within the refresh margin of its expiry."""
        margin = min(REFRESH_MARGIN_S, self.lifetime_s / 2)
        return self.token is None or self._clock() >= self.expires_at - margin

    def _identity_token(self) -> str:
        return self.source.token(self.settings.audience)

    def _refresh(self) -> None:
        from anthropic.lib.credentials import WorkloadIdentityError

        started_wall, started = time.time(), self._clock()
        try:
            access = self._exchange()
        except WorkloadIdentityError as exc:
            raise explain(exc, self.settings) from None
        # The SDK dates expiry by the wall clock; keep the lifetime and date it by ours.
        lifetime = max(0.0, float(access.expires_at or 0) - int(started_wall))
        if self._on_secret is not None:
            self._on_secret(access.token)
        self.token, self.lifetime_s = access.token, lifetime
        self.expires_at = started + lifetime
        self.exchanges += 1

    def close(self) -> None:
        """Close the exchange's HTTP client."""
        self._exchange.close()


def federated_token(
    settings: FederationSettings, options: ClientOptions, *, base_url: str | None, timeout_s: float = 30.0
) -> FederatedToken:
    """A ``FederatedToken`` with its first token exchanged now (a refusal fails here)."""
    source = identity_source(settings, options.oidc, clock=options.clock)
    if source is None:
        raise CredentialsError(
            "workload identity federation needs an OIDC token but this job has no token source",
            "in GitHub Actions add `permissions: { id-token: write }`; in GitLab CI add "
            f'`id_tokens: {{ CLAUDE_OIDC_TOKEN: {{ aud: "{settings.audience}" }} }}`; '
            f"elsewhere set {IDENTITY_TOKEN_FILE_VAR}",
        )
    provider = FederatedToken(
        settings, source, clock=options.clock, on_secret=options.on_secret, timeout_s=timeout_s
    )
    provider.for_base_url(base_url or DEFAULT_BASE_URL)
    with provider._lock:
        provider._refresh()
    return provider


def _oauth_error(body: object) -> tuple[str, str]:
    if isinstance(body, dict):
        return str(body.get("error") or ""), str(body.get("error_description") or "")
    return "", str(body or "")


def explain(exc: Any, settings: FederationSettings) -> RunnerError:
    """A refused or failed exchange (the SDK's ``WorkloadIdentityError``) as one line with the fix."""
    status = getattr(exc, "status_code", None)
    code, description = _oauth_error(getattr(exc, "body", None))
    said = ": ".join(p for p in (code, description) if p) or "no details"
    rule = settings.rule_id
    if status is None:
        return ProviderError(
            f"the workload identity token exchange failed: {exc}",
            "check the network and ANTHROPIC_BASE_URL; the identity token must be a JWT",
        )
    if "jti" in said.lower():
        return CredentialsError(
            f"the Claude API refused the identity token: it was already exchanged (HTTP {status} {said})",
            "each exchange needs a fresh OIDC token: GitHub Actions mints one per request; for a fixed "
            f"token (GitLab id_tokens, {IDENTITY_TOKEN_VAR}) allow token reuse on rule {rule} in {CONSOLE}",
        )
    if "workspace" in said.lower():
        return CredentialsError(
            f"the Claude API needs a workspace for rule {rule} (HTTP {status} {said})",
            f"set {named(WORKSPACE_VAR)} to one of the rule's workspaces (wrkspc_... or default)",
        )
    if status == 400:
        return CredentialsError(
            f"the Claude API rejected the token exchange request (HTTP 400 {said})",
            f"check {named(RULE_VAR)}, {named(ORGANIZATION_VAR)} and the service account and workspace ids",
        )
    if status == 401:
        aud = settings.audience if settings.needs_oidc else "the token's audience"
        return CredentialsError(
            f"the Claude API refused the identity token for federation rule {rule} (HTTP 401 {said})",
            f"make the rule's issuer, audience ({aud}) and subject conditions match the token "
            f"(`claude-runner doctor` prints its iss and sub); see the authentication events in {CONSOLE}",
        )
    if status == 403:
        return CredentialsError(
            f"federation rule {rule} may not mint a token for this service account or workspace "
            f"(HTTP 403 {said})",
            f"enable the rule for the workspace and add the service account to it in {CONSOLE}",
        )
    if status == 404:
        return CredentialsError(
            f"federation rule {rule} or organization {settings.organization_id} was not found "
            f"(HTTP 404 {said})",
            f"check {named(RULE_VAR)} and {named(ORGANIZATION_VAR)} (an archived rule is not found)",
        )
    return ProviderError(
        f"the workload identity token exchange failed (HTTP {status} {said})",
        "retry later; if it persists, check the Claude API's status page",
    )


__all__ = [
    "REFRESH_MARGIN_S",
    "FederatedToken",
    "StaticIdentityToken",
    "explain",
    "federated_token",
    "identity_source",
]
