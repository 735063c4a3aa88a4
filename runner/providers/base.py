"""What every provider module shares: the OIDC token source protocol and the client options.

Provider modules (``bedrock.py``, ``vertex.py``, ``foundry.py``) take settings and read no
environment. Their settings are frozen dataclasses read once at the edge by
``runner.settings.<name>`` (``read_bedrock_settings(env) -> BedrockSettings``, ...): validated, no
network; a missing or malformed value raises ``CredentialsError`` / ``UsageError`` naming the
variable and the fix; ``runner.settings.provider`` maps each provider's name to its reader
(``CLOUD_SETTINGS_READERS``). Each provider module offers:

- ``build_client(settings, options) -> client``: an ``anthropic`` SDK client whose credentials
  refresh themselves before they expire (may call the cloud's token services);
- ``secrets(settings) -> list[str]``: values the redactor must hide.

Attributes a provider's settings object may carry (read with ``getattr`` and these defaults, so
a module that lacks one still works); ``claude-runner doctor`` and the flow's pre-flight read them:

- ``needs_oidc: bool = False``: ``build_client`` will call ``options.oidc.token(oidc_audience)``
  (role assumption or workload identity federation from the CI job's OIDC token). The doctor
  fetches one token first, so a missing ``id-token: write`` is reported as its own step;
- ``oidc_audience: str | None = None``: the ``aud`` that token must carry (``sts.amazonaws.com``
  for AWS; the workload identity provider's full resource name for Google; ...);
- ``is_gateway: bool = False``: requests go to a base-URL override (``ANTHROPIC_BEDROCK_BASE_URL``,
  ``ANTHROPIC_VERTEX_BASE_URL``, ``ANTHROPIC_FOUNDRY_BASE_URL``) rather than the cloud's endpoint;
- ``key_source: str``: where the credential comes from, for the ``system/init`` event and the
  doctor (``"AWS_ROLE_TO_ASSUME via OIDC"``, ``"AWS_BEARER_TOKEN_BEDROCK"``, ...), never a value;
- ``describe() -> str``: one line for the doctor (region, project, endpoint), never a secret.

``build_client`` is expected to obtain credentials eagerly (one STS / token exchange), so the
doctor's "credentials" step and the flow's pre-flight catch a refused role before anything is
posted. Errors are ``RunnerError`` subclasses with a one-line fix; they never quote a token.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol


class TokenSource(Protocol):
    """Where the CI job's OIDC token comes from (GitHub Actions, GitLab id_tokens, a file)."""

    name: str  # for messages: "GitHub Actions OIDC", "GitLab id_tokens (CLAUDE_OIDC_TOKEN)", ...

    def token(self, audience: str) -> str:
        """A fresh OIDC JWT for ``audience``; raises ``CredentialsError`` with the fix when impossible."""
        ...


@dataclass(frozen=True)
class ClientOptions:
    """What every provider's client is built with."""

    timeout_s: float = 600.0
    headers: Mapping[str, str] = field(default_factory=dict)
    oidc: TokenSource | None = None
    clock: Callable[[], float] = time.time  # tests control expiry with their own clock
    # Called with each credential minted during the run (OIDC token, session keys) so the redactor
    # hides it from the transcript and comments; None when nobody listens.
    on_secret: Callable[[str], None] | None = None
