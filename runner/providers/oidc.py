"""Where the CI job's OIDC token comes from: GitHub Actions, GitLab ``id_tokens:``, or a file.

Cloud providers trade this token for short-lived credentials (AWS STS ``AssumeRoleWithWebIdentity``,
Google workload identity federation, Azure federated credentials). Each source implements
``runner.providers.base.TokenSource``: ``token(audience)`` returns a JWT for that audience or
raises ``CredentialsError`` saying exactly what to change in the workflow.

The settings (``CLAUDE_OIDC_SOURCE``, ``CLAUDE_OIDC_TOKEN_VARIABLE``, ``CLAUDE_OIDC_TOKEN_FILE``)
are read once by :mod:`runner.settings.oidc`; :func:`token_source` turns them into a source.
A token file is re-read on every call (Kubernetes projected service-account tokens rotate
under a running pod).

Every token handed out is passed to ``on_token`` first, so the caller's redactor hides it from
the transcript and comments. Tokens are never logged. Stdlib only: this module is imported on
every CI run.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from runner.errors import CredentialsError, UsageError
from runner.providers.base import TokenSource
from runner.settings.oidc import SOURCE_VAR, TOKEN_FILE_VAR, TOKEN_VARIABLE_VAR, OidcSettings

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
SOURCES = ("github", "gitlab", "file", "none")

GITHUB_PERMISSION_FIX = "add `permissions: { id-token: write }` to the job"
_MAX_RESPONSE = 1024 * 1024
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

OnToken = Callable[[str], None]


def _ignore(_token: str) -> None:
    pass


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded WITHOUT verifying the signature (for diagnostics only).

    Raises ``ValueError`` when ``token`` is not a JWT.
    """
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT: expected three dot-separated parts")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a JWT: the payload is not base64url-encoded JSON") from exc
    if not isinstance(claims, dict):
        raise ValueError("not a JWT: the payload is not a JSON object")
    return claims


def audiences(claims: Mapping[str, Any]) -> list[str]:
    """The ``aud`` claim as a list (it may be a string or an array)."""
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []


class GitHubActionsOidc:
    """GitHub Actions' token endpoint: ``GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud>``.

    The two request variables exist only when the workflow grants ``id-token: write``; without
    them ``token()`` says so (this source is still returned, so only a provider that needs a
    token fails, and it fails naming the permission).
    """

    name = "GitHub Actions OIDC"

    def __init__(
        self,
        request_url: str | None,
        request_token: str | None,
        *,
        timeout_s: float = 10.0,
        on_token: OnToken = _ignore,
    ) -> None:
        self.request_url = (request_url or "").strip() or None
        self._request_token = (request_token or "").strip() or None
        self.timeout_s = timeout_s
        self._on_token = on_token

    def token(self, audience: str) -> str:
        """A fresh token for ``audience`` from GitHub's token endpoint."""
        # Imported here: urllib.request pulls in http.client and ssl, which only this call needs.
        import urllib.error
        import urllib.parse
        import urllib.request

        if self.request_url is None:
            raise CredentialsError(
                "ACTIONS_ID_TOKEN_REQUEST_URL is not set: the workflow lacks `permissions: id-token: write`",
                GITHUB_PERMISSION_FIX,
            )
        if self._request_token is None:
            raise CredentialsError(
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set: "
                "the workflow lacks `permissions: id-token: write`",
                GITHUB_PERMISSION_FIX,
            )
        sep = "&" if "?" in self.request_url else "?"
        url = f"{self.request_url}{sep}{urllib.parse.urlencode({'audience': audience})}"
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        # Unredirected: urllib would otherwise copy the header to wherever a redirect points.
        request.add_unredirected_header("Authorization", f"Bearer {self._request_token}")
        host = urllib.parse.urlsplit(self.request_url).netloc  # never the URL: it identifies the job
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read(_MAX_RESPONSE)
        except urllib.error.HTTPError as exc:
            raise CredentialsError(
                f"GitHub's OIDC token endpoint ({host}) answered HTTP {exc.code} {exc.reason}".rstrip(),
                "the request token is valid only while its job runs; re-run the job, and check "
                "`permissions: id-token: write`",
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CredentialsError(
                f"could not reach GitHub's OIDC token endpoint ({host}): {reason}",
                "check the runner's network access to GitHub (proxy settings)",
            ) from None
        try:
            value = json.loads(raw).get("value")
        except (ValueError, AttributeError):
            value = None
        if not isinstance(value, str) or not value:
            raise CredentialsError(
                f"GitHub's OIDC token endpoint ({host}) answered without a token",
                "re-run the job; if it persists, check GitHub's status page",
            )
        self._on_token(value)
        return value


class GitLabIdToken:
    """A token GitLab minted for the job from its ``id_tokens:`` block.

    GitLab fixes the ``aud`` in ``.gitlab-ci.yml`` when the job starts, so the requested
    audience cannot be chosen here: it is checked against the token's ``aud`` claim instead,
    and a mismatch says exactly what to write in ``.gitlab-ci.yml``.
    """

    def __init__(
        self,
        variable: str,
        value: str | None,
        *,
        clock: Callable[[], float] = time.time,
        on_token: OnToken = _ignore,
    ) -> None:
        self.variable = variable
        self.name = f"GitLab id_tokens ({variable})"
        self._value = (value or "").strip() or None
        self._clock = clock
        self._on_token = on_token

    def token(self, audience: str) -> str:
        """The job's token, once its ``aud`` is checked against ``audience``."""
        snippet = f'id_tokens: {{ {self.variable}: {{ aud: "{audience}" }} }}'
        if self._value is None:
            raise CredentialsError(
                f"{self.variable} is not set: the job has no `id_tokens:` entry for it",
                f"add `{snippet}` to the job in .gitlab-ci.yml",
            )
        claims = _claims_or_error(self._value, self.variable)
        found = audiences(claims)
        if audience not in found:
            raise CredentialsError(
                f"{self.variable} was minted for aud {', '.join(found) or '(none)'} but the provider "
                f"needs aud {audience}",
                f"set `{snippet}` in .gitlab-ci.yml",
            )
        _check_expiry(claims, self.variable, self._clock, "re-run the job (its id_tokens expired)")
        self._on_token(self._value)
        return self._value


class FileToken:
    """A token in a file, re-read on every call: projected tokens are rotated in place."""

    def __init__(
        self, path: Path, *, clock: Callable[[], float] = time.time, on_token: OnToken = _ignore
    ) -> None:
        self.path = path
        self.name = f"token file {path}"
        self._clock = clock
        self._on_token = on_token

    def token(self, audience: str) -> str:
        """The file's current token, once its ``aud`` (when it has one) matches ``audience``."""
        try:
            value = self.path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CredentialsError(
                f"cannot read the OIDC token file {self.path}: {exc.strerror or exc}",
                f"check {TOKEN_FILE_VAR} (the file must exist and be readable by the runner)",
            ) from None
        if not value:
            raise CredentialsError(f"the OIDC token file {self.path} is empty", f"check {TOKEN_FILE_VAR}")
        claims = _claims_or_error(value, str(self.path))
        found = audiences(claims)
        if found and audience not in found:
            raise CredentialsError(
                f"the token in {self.path} was minted for aud {', '.join(found)} but the provider "
                f"needs aud {audience}",
                f"configure the token's audience as {audience} (e.g. serviceAccountToken.audience)",
            )
        _check_expiry(claims, str(self.path), self._clock, "refresh the file before it expires")
        self._on_token(value)
        return value


def _claims_or_error(token: str, where: str) -> dict[str, Any]:
    try:
        return jwt_claims(token)
    except ValueError as exc:
        raise CredentialsError(f"{where} does not hold an OIDC token ({exc})", "check its value") from None


def _check_expiry(claims: Mapping[str, Any], where: str, clock: Callable[[], float], fix: str) -> None:
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool) and exp <= clock():
        raise CredentialsError(f"the OIDC token in {where} expired {int(clock() - exp)} s ago", fix)


def _checked_variable(name: str) -> str:
    """The GitLab job variable holding the token (``CLAUDE_OIDC_TOKEN_VARIABLE``), validated."""
    if not _VARIABLE_NAME.fullmatch(name):
        raise UsageError(
            f"{TOKEN_VARIABLE_VAR} must be a variable name like CLAUDE_OIDC_TOKEN (got {name!r})",
            "use the name given under id_tokens: in .gitlab-ci.yml",
        )
    return name


def token_source(
    settings: OidcSettings,
    *,
    on_token: OnToken = _ignore,
    clock: Callable[[], float] = time.time,
    timeout_s: float = 10.0,
) -> TokenSource | None:
    """The token source this job can use, or None when it has none. No network.

    ``CLAUDE_OIDC_SOURCE`` wins; then ``CLAUDE_OIDC_TOKEN_FILE`` (setting a path is a deliberate
    choice, e.g. a self-hosted runner on Kubernetes, even inside a CI job); then GitHub Actions
    (``GITHUB_ACTIONS=true``), then GitLab CI (``GITLAB_CI=true``).
    """
    source, path = settings.source, settings.token_file
    if source and source not in SOURCES:
        raise UsageError(f"{SOURCE_VAR} must be one of {', '.join(SOURCES)} (got {source!r})")
    if source == "none":
        return None
    if source == "file" or (not source and path):
        if not path:
            raise UsageError(f"{SOURCE_VAR}=file needs {TOKEN_FILE_VAR}", f"set {TOKEN_FILE_VAR} to the path")
        return FileToken(Path(path).expanduser(), clock=clock, on_token=on_token)
    if source == "github" or (not source and settings.in_github_actions):
        return GitHubActionsOidc(
            settings.request_url, settings.request_token, timeout_s=timeout_s, on_token=on_token
        )
    if source == "gitlab" or (not source and settings.in_gitlab_ci):
        variable = _checked_variable(settings.token_variable)
        return GitLabIdToken(variable, settings.token_value, clock=clock, on_token=on_token)
    return None


__all__ = [
    "GITHUB_ISSUER",
    "FileToken",
    "GitHubActionsOidc",
    "GitLabIdToken",
    "audiences",
    "jwt_claims",
    "token_source",
]
