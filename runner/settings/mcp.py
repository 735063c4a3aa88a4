"""What MCP servers take from the process environment, read once at the edge.

``MCP_TIMEOUT`` (a server's start, ms; default 30000), ``MCP_TOOL_TIMEOUT`` (one tool call, ms;
unset: only the run's own limit), ``MAX_MCP_OUTPUT_TOKENS`` (a tool's answer; default 25000), as
Claude Code reads them, and a copy of the environment that ``${VAR}`` in a server's configuration
is expanded from. A bad value is a warning and the default, not a failed job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_STARTUP_TIMEOUT_S = 30.0
DEFAULT_MAX_OUTPUT_TOKENS = 25_000


@dataclass(frozen=True)
class McpRuntime:
    """The MCP settings of this process."""

    expand_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S
    tool_timeout_s: float | None = None
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    warnings: tuple[str, ...] = ()


def read_mcp_runtime(env: Mapping[str, str]) -> McpRuntime:
    """The ``McpRuntime`` of ``env`` (the process environment)."""
    warnings: list[str] = []

    def positive(name: str) -> int | None:
        raw = env.get(name, "").strip()
        if not raw:
            return None
        if raw.isdigit() and int(raw) > 0:
            return int(raw)
        warnings.append(f"{name} must be a whole number greater than 0 (got {raw!r}); using the default")
        return None

    startup = positive("MCP_TIMEOUT")
    tool = positive("MCP_TOOL_TIMEOUT")
    tokens = positive("MAX_MCP_OUTPUT_TOKENS")
    return McpRuntime(
        expand_env=dict(env),
        startup_timeout_s=startup / 1000 if startup else DEFAULT_STARTUP_TIMEOUT_S,
        tool_timeout_s=tool / 1000 if tool else None,
        max_output_tokens=tokens or DEFAULT_MAX_OUTPUT_TOKENS,
        warnings=tuple(warnings),
    )
