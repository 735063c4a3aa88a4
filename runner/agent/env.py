"""The environment tools run with: the runner's own, minus every credential.

The runner keeps its tokens for the API calls, pushes and comments it makes itself; the
agent's subprocesses (Bash, rg) never see them, so a prompt injection that runs ``env`` or
``curl -d "$GITHUB_TOKEN"`` finds nothing. A variable is withheld when its name looks like a
credential, when it belongs to a provider namespace (``ANTHROPIC_*``, most of ``AWS_*``),
or when its value looks like a well-known token format.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Names that hold a credential, matched case-insensitively against the whole name.
SECRET_NAME_PATTERN = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|PRIVATE_?KEY|API_?KEY|CREDENTIAL|CREDS|COOKIE"
    r"|(?:^|_)(?:KEY|PAT|JWT|DSN|AUTH)(?:_|$)"  # AWS_ACCESS_KEY_ID, DEPLOY_KEY, GITLAB_PAT, SSH_AUTH_SOCK
    r"|^CI_JOB_JWT",
    re.IGNORECASE,
)

# Credentials whose names the pattern above would not catch on its own.
SECRET_NAMES = frozenset(
    {
        "ANTHROPIC_CUSTOM_HEADERS",  # usually carries an Authorization header for a gateway
        "AWS_ACCESS_KEY_ID",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "ACTIONS_ID_TOKEN_REQUEST_URL",  # with the request token, mints OIDC tokens for cloud roles
        "DOCKER_AUTH_CONFIG",
        "NETRC",
    }
)

# Whole namespaces withheld from tools: provider configuration is the runner's business, and
# new credential variables appear there first. Region names are kept (harmless, often needed).
_WITHHELD_PREFIXES = ("ANTHROPIC_", "AWS_", "CLAUDE_CODE_OAUTH")
_KEPT_NAMES = frozenset({"AWS_REGION", "AWS_DEFAULT_REGION"})

# Values that are credentials whatever the variable is called (e.g. PIP_INDEX_URL with a password).
_SECRET_VALUE_PATTERN = re.compile(
    r"sk-ant-[A-Za-z0-9_-]{16,}"
    r"|\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"
    r"|\bgl(?:pat|cbt|dt|ptt|rt|soat|ft)-[A-Za-z0-9_-]{20,}"
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"  # URL with user:password
)

MIN_SECRET_LENGTH = 8  # shorter values ("1", "true") would make the redactor mangle ordinary text


def is_secret_name(name: str) -> bool:
    """Whether a variable called ``name`` holds a credential (its value must never reach the agent)."""
    return name.upper() in SECRET_NAMES or SECRET_NAME_PATTERN.search(name) is not None


def is_secret_value(value: str) -> bool:
    """Whether ``value`` looks like a well-known token format or a URL with a password."""
    return _SECRET_VALUE_PATTERN.search(value) is not None


def _withheld(name: str, value: str) -> bool:
    upper = name.upper()
    if upper in _KEPT_NAMES:
        return False
    return is_secret_name(name) or upper.startswith(_WITHHELD_PREFIXES) or is_secret_value(value)


def scrub_env(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``environ`` without credentials, for every subprocess the agent starts."""
    return {name: value for name, value in environ.items() if not _withheld(name, value)}


def _is_credential(name: str, value: str) -> bool:
    return name.upper() not in _KEPT_NAMES and (is_secret_name(name) or is_secret_value(value))


def secret_env_values(environ: Mapping[str, str]) -> list[str]:
    """Values of the withheld credential variables, for the redactor (longest first).

    Configuration withheld only for its namespace (``ANTHROPIC_MODEL``, ``ANTHROPIC_BASE_URL``)
    is left out: redacting a model name or a public URL would mangle ordinary transcript text.
    """
    values = {
        value
        for name, value in environ.items()
        if len(value) >= MIN_SECRET_LENGTH and _is_credential(name, value)
    }
    return sorted(values, key=lambda v: (-len(v), v))


@dataclass(frozen=True)
class ToolEnvironment:
    """What the tools get from the process environment, and what the runner must hide.

    Built once at the edge (this module is the one place below the CLI that reads the process
    environment for the tools); everything else receives this value.
    """

    variables: Mapping[str, str] = field(default_factory=dict, repr=False)  # for every subprocess
    secret_values: tuple[str, ...] = field(default=(), repr=False)  # for the redactor, longest first
    secret_names: frozenset[str] = frozenset()  # to overwrite in the start-up environment block
    home: Path = field(default_factory=Path.home)


def tool_environment(
    environ: Mapping[str, str], *, withheld: Mapping[str, str] | None = None
) -> ToolEnvironment:
    """The ``ToolEnvironment`` of ``environ``; ``withheld`` (OIDC material of any name) is kept
    from the tools and redacted too."""
    extra = dict(withheld or {})
    return ToolEnvironment(
        variables=scrub_env({k: v for k, v in environ.items() if k not in extra}),
        secret_values=tuple(
            sorted({*secret_env_values(environ), *extra.values()}, key=lambda v: (-len(v), v))
        ),
        secret_names=frozenset(name for name, value in environ.items() if _is_credential(name, value)),
        home=Path(environ.get("HOME") or Path.home()),
    )


def scrubbed_process_environ() -> dict[str, str]:
    """This process's environment without credentials, for the subprocesses the runner starts
    itself (git)."""
    return scrub_env(os.environ)


def protect_process_environ() -> bool:
    """Make this process's ``/proc/<pid>/environ`` and memory unreadable by its own subprocesses.

    Scrubbing the child environment is not enough on Linux: a child running as the same user
    can read ``/proc/$PPID/environ`` (the runner's environment at start, tokens included).
    ``PR_SET_DUMPABLE=0`` makes those files root-owned; it does not help when tools run as
    root. Returns whether the protection is in place; a no-op off Linux.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # lazily: only the runner's entry point calls this

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_dumpable = 4
        return int(libc.prctl(pr_set_dumpable, 0, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def wipe_process_environ(secret_names: Collection[str]) -> int:
    """Overwrite credential values in this process's start-up environment block.

    ``/proc/<pid>/environ`` shows the block the process was started with, whatever Python's
    ``os.environ`` holds later; a tool running as root (common in CI containers) can read
    it even when the process is not dumpable. The runner has already copied what it needs,
    so the values are replaced with ``*`` in place. Python's ``os.environ`` is a separate
    copy and keeps them. ``secret_names``: ``ToolEnvironment.secret_names``. Returns how many
    variables were wiped; a no-op off Linux.
    """
    if not sys.platform.startswith("linux"):
        return 0
    import ctypes

    names = {name.encode() for name in secret_names}
    try:
        block = ctypes.POINTER(ctypes.c_void_p).in_dll(ctypes.CDLL(None), "environ")
    except (OSError, ValueError):
        return 0
    wiped, index = 0, 0
    while block[index]:
        address = int(block[index] or 0)
        entry = ctypes.string_at(address)
        name, _, value = entry.partition(b"=")
        if name in names and value:
            ctypes.memset(address + len(name) + 1, ord("*"), len(value))
            wiped += 1
        index += 1
    return wiped
