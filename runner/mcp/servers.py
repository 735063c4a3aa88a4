"""A run's MCP servers, from its settings to its tools: ``plan_mcp`` decides (while the run is
prepared: a bad ``--mcp-config`` is the user's error there), ``running_mcp`` starts them around the
agent turn and stops them, with their children, on every way out.

A stdio server gets the tools' environment (the allowlist) and the ``env`` its configuration
names, never more; with the OS sandbox on it runs inside it, like a Bash command. Values that may
be secrets (in a server's ``env``, its ``headers``, what ``${VAR}`` put in its command line) are
redacted from everything the runner writes.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.agent import permissions
from runner.agent.env import is_secret_name, is_secret_value
from runner.agent.tools.base import CommandSandbox, Tool
from runner.errors import UsageError
from runner.mcp.config import (
    McpConfigError,
    ProjectApproval,
    ServerConfig,
    merge_approvals,
    resolve_servers,
)
from runner.sanitize import looks_secret
from runner.settings.mcp import McpRuntime

if TYPE_CHECKING:
    from runner.agent.loop import AgentSpec
    from runner.mcp.client import ServerState

MAX_INSTRUCTIONS = 2048  # characters of one server's instructions in the system prompt


@dataclass(frozen=True)
class McpPlan:
    """The servers a run starts and how long it waits for them."""

    servers: tuple[ServerConfig, ...]
    startup_timeout_s: float
    tool_timeout_s: float | None
    max_output_tokens: int
    secret_values: tuple[str, ...] = dataclasses.field(default=(), repr=False)


def plan_mcp(
    flag_values: Sequence[str],
    *,
    strict: bool,
    project_json: str | None,
    approvals: Sequence[ProjectApproval],
    runtime: McpRuntime,
    base_dir: Path,
) -> tuple[McpPlan | None, list[str]]:
    """The run's servers (None: there are none) and warnings; a bad ``--mcp-config`` raises
    ``UsageError``. ``project_json``: the trusted ``.mcp.json`` text (None: none)."""
    flags = [_flag_config(value, base_dir) for value in flag_values]
    try:
        servers, warnings = resolve_servers(
            flags, project_json, merge_approvals(approvals), strict=strict, expansion=runtime.expand_env
        )
    except McpConfigError as exc:
        raise UsageError(str(exc), "pass a JSON file or inline JSON with an mcpServers object") from exc
    warnings = [*runtime.warnings, *warnings] if servers else warnings
    if not servers:
        return None, warnings
    plan = McpPlan(
        tuple(servers),
        runtime.startup_timeout_s,
        runtime.tool_timeout_s,
        runtime.max_output_tokens,
        _secrets(servers),
    )
    return plan, warnings


def _flag_config(value: str, base_dir: Path) -> tuple[str, str]:
    """``(source, text)`` of one ``--mcp-config`` value: inline JSON or a file."""
    raw = value.strip()
    if raw.startswith("{"):
        return "--mcp-config (inline JSON)", raw
    path = Path(raw).expanduser()
    path = path if path.is_absolute() else base_dir / path
    try:
        return f"--mcp-config {raw}", path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"--mcp-config {raw}: cannot read the file: {exc.strerror or exc}",
            "pass a JSON file path or inline JSON",
        ) from exc


def _secrets(servers: Sequence[ServerConfig]) -> tuple[str, ...]:
    found: set[str] = set()
    for server in servers:
        pairs = [(n, v) for n, v in server.variables.items() if is_secret_name(n) or looks_secret(v)]
        pairs += [(n, v) for n, v in server.substituted if is_secret_name(n) or looks_secret(v)]
        pairs += list(server.headers.items())  # headers carry credentials, whatever they are called
        for _, value in pairs:
            if len(value) >= 8:
                found.add(value)
                found.update(part for part in value.split() if len(part) >= 8)  # "Bearer <token>"
        found.update(v for v in (*server.variables.values(), server.url) if is_secret_value(v))
    return tuple(sorted(found, key=lambda v: (-len(v), v)))


@contextmanager
def running_mcp(
    plan: McpPlan | None, spec: AgentSpec, warn: Callable[[str], None] | None = None
) -> Iterator[AgentSpec]:
    """``spec`` with the servers' tools and their report in it, while they run; all are stopped,
    with their children, when the block ends however it ends."""
    if plan is None:
        yield spec
        return
    from runner.mcp.client import McpClient, server_report
    from runner.mcp.tools import resource_tools, server_tools

    say = warn or _stderr
    workspace = spec.workspace
    client = McpClient(
        startup_timeout_s=plan.startup_timeout_s,
        launch=lambda config: _launch(config, workspace.subprocess_env, workspace.sandbox),
        cwd=workspace.cwd,
    )
    try:
        client.start(plan.servers)
        tools: list[Tool] = []
        for state in client.servers.values():
            if state.status != "connected":
                name = state.config.name
                say(f"warning: MCP server {name!r} failed: {state.error}; the run goes on without it")
                continue
            offered, notes = server_tools(
                client, state, timeout_s=plan.tool_timeout_s, max_tokens=plan.max_output_tokens
            )
            tools += offered
            for note in notes:
                say(f"warning: {note}")
        tools += resource_tools(client, timeout_s=plan.tool_timeout_s, max_tokens=plan.max_output_tokens)
        taken = {t.name for t in spec.tools}  # the runner's own tools (mcp__github_ci__...) win a name
        for tool in tools:
            if tool.name in taken:
                say(f"warning: MCP tool {tool.name} is not offered: the runner has a tool of that name")
        allowed = [t for t in tools if t.name not in taken and _can_be_allowed(spec.policy, t)]
        yield dataclasses.replace(
            spec,
            tools=[*spec.tools, *allowed],
            mcp_servers=server_report(client.servers),
            system_prompt=spec.system_prompt + _instructions(client.servers),
        )
    finally:
        client.close()


def _instructions(servers: Mapping[str, ServerState]) -> str:
    """The connected servers' ``instructions``, as Claude Code adds them to the system prompt."""
    given = [(name, s.instructions.strip()) for name, s in servers.items() if s.status == "connected"]
    sections = [f"## {name}\n{text[:MAX_INSTRUCTIONS]}" for name, text in given if text]
    if not sections:
        return ""
    return (
        "\n\n# MCP Server Instructions\n\nThe following MCP servers have provided instructions for how "
        "to use their tools and resources:\n\n" + "\n\n".join(sections)
    )


def _can_be_allowed(policy: permissions.PermissionPolicy, tool: Tool) -> bool:
    """Only tools a rule can allow are offered (in CI an MCP tool needs an allow rule)."""
    return permissions.can_ever_allow(policy, tool.name, read_only=tool.read_only, edits_files=False)


def _launch(
    config: ServerConfig, tool_env: Mapping[str, str], sandbox: CommandSandbox | None
) -> tuple[list[str], dict[str, str]]:
    argv = [config.command, *config.args]
    server_env = {**tool_env, **config.variables}
    if sandbox is None:
        return argv, server_env
    return sandbox.wrap(shlex.join(argv), argv, server_env)


def failed_servers_note(result: Mapping[str, Any] | None) -> str:
    """A line for the final comment naming the servers that failed (empty: none did)."""
    failed = [s for s in (result or {}).get("mcp_servers") or () if s.get("status") == "failed"]
    if not failed:
        return ""
    lines = [f"- `{s.get('name')}`: {s.get('error') or 'failed'}" for s in failed]
    return "⚠️ MCP servers that could not be used in this run:\n" + "\n".join(lines)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
