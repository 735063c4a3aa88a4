"""Where the CI job's OIDC token would come from, read once from the environment (no network).

The variables (the flows set the first three from their inputs):

- ``CLAUDE_OIDC_SOURCE``: ``github``, ``gitlab``, ``file`` or ``none``; otherwise detected;
- ``CLAUDE_OIDC_TOKEN_VARIABLE``: the GitLab job variable named in ``id_tokens:`` (default
  ``CLAUDE_OIDC_TOKEN``);
- ``CLAUDE_OIDC_TOKEN_FILE``: a file holding the token, re-read on every call;
- ``GITHUB_ACTIONS`` / ``ACTIONS_ID_TOKEN_REQUEST_URL`` / ``_TOKEN`` and ``GITLAB_CI``: where we run.

Nothing is validated here: a bad value only matters when a provider needs a token, so
:func:`runner.providers.oidc.token_source` checks it then, with the fix in the message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_TOKEN_VARIABLE = "CLAUDE_OIDC_TOKEN"
SOURCE_VAR = "CLAUDE_OIDC_SOURCE"
TOKEN_VARIABLE_VAR = "CLAUDE_OIDC_TOKEN_VARIABLE"
TOKEN_FILE_VAR = "CLAUDE_OIDC_TOKEN_FILE"
GITHUB_REQUEST_VARS = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
# Three base64url segments, the first a JSON object: what an OIDC token (or any JWT) looks like.
_JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


def looks_like_jwt(value: str) -> bool:
    """Whether ``value`` is shaped like a JWT (an OIDC token), whatever its variable is called."""
    return _JWT_SHAPE.fullmatch(value.strip()) is not None


@dataclass(frozen=True)
class OidcSettings:
    """The OIDC token source settings, as given (validated when a token is needed)."""

    source: str = ""  # CLAUDE_OIDC_SOURCE, lower-cased
    token_file: str = ""  # CLAUDE_OIDC_TOKEN_FILE
    in_github_actions: bool = False
    in_gitlab_ci: bool = False
    request_url: str | None = field(default=None, repr=False)
    request_token: str | None = field(default=None, repr=False)
    token_variable: str = DEFAULT_TOKEN_VARIABLE  # as given; checked to be a variable name
    token_value: str | None = field(default=None, repr=False)  # the value of that variable
    # Variables holding OIDC material, by name: withheld from tools and redacted everywhere.
    withheld: Mapping[str, str] = field(default_factory=dict, repr=False)


def read_oidc_settings(env: Mapping[str, str]) -> OidcSettings:
    """The OIDC settings of this job, and every variable that holds OIDC material.

    The configured GitLab variable can have any name (``id_tokens: { MY_ID: ... }``), so the
    credential-name patterns may not catch it; a value shaped like a JWT is withheld whatever
    its name.
    """
    variable = env.get(TOKEN_VARIABLE_VAR, "").strip() or DEFAULT_TOKEN_VARIABLE
    names = {variable, *GITHUB_REQUEST_VARS}
    return OidcSettings(
        source=env.get(SOURCE_VAR, "").strip().lower(),
        token_file=env.get(TOKEN_FILE_VAR, "").strip(),
        in_github_actions=env.get("GITHUB_ACTIONS", "").lower() == "true",
        in_gitlab_ci=env.get("GITLAB_CI", "").lower() == "true",
        request_url=env.get(GITHUB_REQUEST_VARS[0]),
        request_token=env.get(GITHUB_REQUEST_VARS[1]),
        token_variable=variable,
        token_value=env.get(variable),
        withheld={
            name: value for name, value in env.items() if value and (name in names or looks_like_jwt(value))
        },
    )
