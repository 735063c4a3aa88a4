"""The environment tools run with: an allowlist, never the runner's credentials.

The runner keeps its tokens for the API calls, pushes and comments it makes itself; the
agent's subprocesses (Bash, rg) get only what is on the allowlist below (the locale, ``PATH``,
``HOME``, the CI's non-secret metadata), the names the user passes on purpose
(``tool_env_passthrough`` / ``TOOL_ENV_PASSTHROUGH``) and the trusted settings' ``env`` key. An
unknown variable never reaches a tool, so a prompt injection that runs ``env`` or
``curl -d "$DB_PASS"`` finds nothing.

What is withheld may still be a secret the runner itself prints by accident (a tool might find a
copy in a file): every withheld value that may be a secret (``runner.sanitize.looks_secret``:
8+ characters and not obviously a plain word, number, path or URL without credentials, and
everything whose name or value matches the credential patterns here) is redacted from
everything the runner writes.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runner.sanitize import looks_secret

# Names that hold a credential, matched case-insensitively against the whole name.
SECRET_NAME_PATTERN = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|PRIVATE_?KEY|API_?KEY|CREDENTIAL|CREDS|COOKIE|WEBHOOK"
    r"|(?:^|_)(?:KEY|PAT|JWT|DSN|AUTH|PASS|SIG|SIGNATURE|SALT)(?:_|$)"  # DEPLOY_KEY, DB_PASS; not PWD
    r"|CONNECTION_?STRING|^CI_JOB_JWT",
    re.IGNORECASE,
)

# Credentials whose names the pattern above would not catch on its own.
SECRET_NAMES = frozenset(
    {
        "ANTHROPIC_CUSTOM_HEADERS",  # usually carries an Authorization header for a gateway
        "OTEL_EXPORTER_OTLP_HEADERS",  # the telemetry collector's Authorization header
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
        "AWS_ACCESS_KEY_ID",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "ACTIONS_ID_TOKEN_REQUEST_URL",  # with the request token, mints OIDC tokens for cloud roles
        "DOCKER_AUTH_CONFIG",
        "NETRC",
    }
)

# Values that are credentials whatever the variable is called (e.g. PIP_INDEX_URL with a password).
_SECRET_VALUE_PATTERN = re.compile(
    r"sk-ant-[A-Za-z0-9_-]{16,}"
    r"|\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"
    r"|\bgl(?:pat|cbt|dt|ptt|rt|soat|ft)-[A-Za-z0-9_-]{20,}"
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"  # URL with user:password
)

# --- The allowlist -------------------------------------------------------------------------------
# What a tool needs to behave as in a terminal, and the CI's non-secret metadata. A name here is
# still withheld when its value looks like a credential.
TOOL_ENV_NAMES = frozenset(
    {
        *("PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TZ", "TMPDIR", "LANG", "LANGUAGE"),
        *("CI", "NO_COLOR", "FORCE_COLOR", "COLORTERM"),
        # A proxy the machine needs (one with a password is withheld by its value), and CA bundles.
        *("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"),
        *("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"),
        # Where toolchains live (set by setup-* actions and images).
        *("JAVA_HOME", "GOROOT", "GOPATH", "CARGO_HOME", "RUSTUP_HOME", "NVM_DIR", "PNPM_HOME"),
        *("VIRTUAL_ENV", "pythonLocation", "PKG_CONFIG_PATH", "LD_LIBRARY_PATH"),
        # GitHub Actions
        *("GITHUB_ACTIONS", "GITHUB_REPOSITORY", "GITHUB_REPOSITORY_OWNER", "GITHUB_SHA", "GITHUB_WORKSPACE"),
        *("GITHUB_RUN_ID", "GITHUB_RUN_NUMBER", "GITHUB_RUN_ATTEMPT", "GITHUB_JOB", "GITHUB_WORKFLOW"),
        *("GITHUB_EVENT_NAME", "GITHUB_ACTOR", "GITHUB_HEAD_REF", "GITHUB_BASE_REF"),
        *("GITHUB_SERVER_URL", "GITHUB_API_URL", "GITHUB_GRAPHQL_URL"),
        *("RUNNER_OS", "RUNNER_ARCH", "RUNNER_TEMP", "RUNNER_TOOL_CACHE", "RUNNER_DEBUG"),
        # GitLab CI
        *("GITLAB_CI", "CI_PIPELINE_ID", "CI_PIPELINE_IID", "CI_PIPELINE_SOURCE", "CI_PIPELINE_URL"),
        *("CI_JOB_ID", "CI_JOB_NAME", "CI_JOB_STAGE", "CI_JOB_URL", "CI_DEFAULT_BRANCH"),
        *("CI_SERVER_URL", "CI_SERVER_HOST", "CI_API_V4_URL", "CI_MERGE_REQUEST_IID"),
        *("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"),
        *("AWS_REGION", "AWS_DEFAULT_REGION"),  # harmless, often needed
    }
)
TOOL_ENV_PREFIXES = ("LC_", "GITHUB_REF", "CI_COMMIT_", "CI_PROJECT_", "JAVA_HOME_")

# The runner's own credentials: never passed to a tool, whatever passthrough or settings say.
RUNNER_CREDENTIALS = frozenset(
    {
        "GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "CI_JOB_TOKEN", "GITLAB_ACCESS_TOKEN", "CLAUDE_OIDC_TOKEN",
        "GITLAB_WEBHOOK_SECRET", "GITLAB_TRIGGER_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK",
        "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    }
)  # fmt: skip
_RUNNER_PREFIXES = ("ANTHROPIC_", "CLAUDE_CODE_OAUTH", "INPUT_", "ACTIONS_ID_TOKEN_", "CI_JOB_JWT")


def is_secret_name(name: str) -> bool:
    """Whether a variable called ``name`` holds a credential (its value must never reach the agent)."""
    return name.upper() in SECRET_NAMES or SECRET_NAME_PATTERN.search(name) is not None


def is_secret_value(value: str) -> bool:
    """Whether ``value`` looks like a well-known token format or a URL with a password."""
    return _SECRET_VALUE_PATTERN.search(value) is not None


def is_runner_credential(name: str) -> bool:
    """Whether ``name`` is one of the runner's own credentials (or provider settings)."""
    upper = name.upper()
    return upper in RUNNER_CREDENTIALS or upper.startswith(_RUNNER_PREFIXES)


def on_allowlist(name: str) -> bool:
    """Whether the variable ``name`` is passed to tools by default (its value permitting)."""
    return name in TOOL_ENV_NAMES or name.startswith(TOOL_ENV_PREFIXES)


def _credential(name: str, value: str) -> bool:
    return is_secret_name(name) or is_secret_value(value)


def scrub_env(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``environ`` without credentials (by name, namespace and value): for the processes
    the runner starts itself (git), never for tools (they get ``tool_environment``)."""
    return {
        name: value
        for name, value in environ.items()
        if name.upper() in ("AWS_REGION", "AWS_DEFAULT_REGION")
        or not (_credential(name, value) or is_runner_credential(name) or name.upper().startswith("AWS_"))
    }


def secret_env_values(environ: Mapping[str, str]) -> list[str]:
    """Values of the credential variables of ``environ`` (by name or value), longest first."""
    values = {v for n, v in environ.items() if len(v) >= 8 and _credential(n, v) and not on_allowlist(n)}
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
    warnings: tuple[str, ...] = ()  # passthrough names refused or not set


def tool_environment(
    environ: Mapping[str, str],
    *,
    withheld: Mapping[str, str] | None = None,
    passthrough: Iterable[str] = (),
) -> ToolEnvironment:
    """The ``ToolEnvironment`` of ``environ``.

    ``withheld``: OIDC material of any name, never passed and always redacted. ``passthrough``:
    names the user passes on purpose (never the runner's own credentials).
    """
    extra = dict(withheld or {})
    variables: dict[str, str] = {}
    warnings: list[str] = []
    for name, value in environ.items():
        if name not in extra and on_allowlist(name) and not _credential(name, value):
            variables[name] = value
    for name in dict.fromkeys(passthrough):
        if is_runner_credential(name) or name in extra:
            warnings.append(f"{name} is not passed to tools: it is one of the runner's own credentials")
        elif name not in environ:
            warnings.append(f"{name} is listed to pass to tools but is not set")
        else:
            variables[name] = environ[name]
    passed = set(variables.values())
    secrets = {
        value
        for name, value in environ.items()
        if len(value) >= 8
        and (name in extra or _credential(name, value) or (name not in variables and looks_secret(value)))
        and not (value in passed and not _credential(name, value))
    }
    secrets.update(v for v in extra.values() if v)
    return ToolEnvironment(
        variables=variables,
        secret_values=tuple(sorted(secrets, key=lambda v: (-len(v), v))),
        secret_names=frozenset(name for name, value in environ.items() if value in secrets),
        home=Path(environ.get("HOME") or Path.home()),
        warnings=tuple(warnings),
    )


def with_settings_env(tools: ToolEnvironment, pairs: Iterable[tuple[str, str]]) -> ToolEnvironment:
    """``tools`` with the trusted settings' ``env`` key applied (later pairs win); values that may
    be secrets are redacted too. The runner's own credentials are refused with a warning."""
    variables = dict(tools.variables)
    secrets = set(tools.secret_values)
    warnings = list(tools.warnings)
    for name, value in pairs:
        if is_runner_credential(name):
            warnings.append(f"settings env {name} is not passed to tools: it is a runner credential")
            continue
        variables[name] = value
        if len(value) >= 8 and (_credential(name, value) or looks_secret(value)):
            secrets.add(value)
    return ToolEnvironment(
        variables=variables,
        secret_values=tuple(sorted(secrets, key=lambda v: (-len(v), v))),
        secret_names=tools.secret_names,
        home=tools.home,
        warnings=tuple(warnings),
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
