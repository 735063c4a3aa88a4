"""What the built-in tools take from the environment: Claude Code's Bash timeouts, and the
test-only switch that lets WebFetch reach loopback servers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runner.errors import UsageError
from runner.settings.run import env_int

# Claude Code's defaults; the tools take them from here so that reading settings loads no tool.
BASH_DEFAULT_TIMEOUT_MS = 120_000
BASH_MAX_TIMEOUT_MS = 600_000
# Tests only: WebFetch may then reach private and loopback addresses over plain http.
WEBFETCH_PRIVATE_VAR = "CLAUDE_RUNNER_TEST_WEBFETCH_ALLOW_PRIVATE"


@dataclass(frozen=True)
class ToolSettings:
    """``BASH_DEFAULT_TIMEOUT_MS``, ``BASH_MAX_TIMEOUT_MS``, and the WebFetch test switch."""

    bash_default_timeout_ms: int = BASH_DEFAULT_TIMEOUT_MS
    bash_max_timeout_ms: int = BASH_MAX_TIMEOUT_MS
    webfetch_allow_private: bool = False


def read_tool_settings(env: Mapping[str, str]) -> ToolSettings:
    """The tools' settings; a timeout that is not a positive whole number is a usage error."""
    default_ms = env_int(env, "BASH_DEFAULT_TIMEOUT_MS", BASH_DEFAULT_TIMEOUT_MS)
    max_ms = env_int(env, "BASH_MAX_TIMEOUT_MS", max(BASH_MAX_TIMEOUT_MS, default_ms))
    if default_ms <= 0 or max_ms <= 0:
        raise UsageError("BASH_DEFAULT_TIMEOUT_MS and BASH_MAX_TIMEOUT_MS must be greater than 0")
    return ToolSettings(
        bash_default_timeout_ms=min(default_ms, max_ms),
        bash_max_timeout_ms=max_ms,
        webfetch_allow_private=env.get(WEBFETCH_PRIVATE_VAR, "") == "1",
    )
