"""What every provider module shares: the OIDC token source protocol and the client options.

Provider modules (``bedrock.py``, ``vertex.py``, ``foundry.py``) each offer:

- ``settings_from_env(env) -> <Name>Settings``: validated settings, no network; a missing or
  malformed value raises ``CredentialsError`` / ``UsageError`` naming the variable and the fix;
- ``build_client(settings, options) -> client``: an ``anthropic`` SDK client whose credentials
  refresh themselves before they expire (may call the cloud's token services);
- ``secrets(settings) -> list[str]``: values the redactor must hide.
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
