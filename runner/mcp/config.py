"""MCP server configurations as Claude Code reads them; pure (texts and the environment are passed in).

Sources: ``--mcp-config`` values (a file's text or inline JSON, ``{"mcpServers": {...}}``) and the
project's ``.mcp.json``, whose servers run only when the trusted settings approve them
(``enableAllProjectMcpServers``, ``enabledMcpjsonServers``; ``disabledMcpjsonServers`` wins), as in
a non-interactive Claude Code. ``${VAR}`` and ``${VAR:-default}`` are expanded in ``command``,
``args``, ``env``, ``url`` and ``headers``; an unset variable without a default stays as written
and is warned about.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from runner.errors import SettingsError

TRANSPORTS = ("stdio", "http", "sse")
_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_-]")
PROJECT_FILE = ".mcp.json"


class McpConfigError(ValueError):
    """A configuration text that cannot be used at all (not JSON, no ``mcpServers`` object)."""


@dataclass(frozen=True)
class ServerConfig:
    """One server, expanded and checked: how to reach it, and where it was configured."""

    name: str
    transport: str  # one of TRANSPORTS
    source: str  # "--mcp-config <value>", ".mcp.json", for messages
    command: str = ""
    args: tuple[str, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict, repr=False)  # its `env` key
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    substituted: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # (VAR, value) expanded

    @property
    def tool_prefix(self) -> str:
        """What the names of this server's tools start with: ``mcp__<server>__``."""
        return f"mcp__{normalize_name(self.name)}__"


@dataclass(frozen=True)
class ProjectApproval:
    """The settings keys that decide which ``.mcp.json`` servers run."""

    enable_all: bool | None = None  # enableAllProjectMcpServers
    enabled: tuple[str, ...] = ()  # enabledMcpjsonServers
    disabled: tuple[str, ...] = ()  # disabledMcpjsonServers


def normalize_name(name: str) -> str:
    """A server or tool name as it appears in a tool name (Claude Code's rule: ``[A-Za-z0-9_-]``)."""
    return _NOT_NAME.sub("_", name)


def parse_project_approval(data: Mapping[str, Any], source: str) -> ProjectApproval:
    """The approval keys of one settings file's JSON object; a wrong type is a ``SettingsError``."""
    enable_all = data.get("enableAllProjectMcpServers")
    if enable_all is not None and not isinstance(enable_all, bool):
        raise SettingsError(f"{source}: enableAllProjectMcpServers must be true or false")
    lists = {}
    for key in ("enabledMcpjsonServers", "disabledMcpjsonServers"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{source}: {key} must be a list of server names")
        lists[key] = tuple(value)
    return ProjectApproval(enable_all, lists["enabledMcpjsonServers"], lists["disabledMcpjsonServers"])


def merge_approvals(approvals: Iterable[ProjectApproval]) -> ProjectApproval:
    """Several settings sources, lowest precedence first: lists add up, the last boolean set wins."""
    enable_all: bool | None = None
    enabled: list[str] = []
    disabled: list[str] = []
    for approval in approvals:
        enable_all = approval.enable_all if approval.enable_all is not None else enable_all
        enabled += approval.enabled
        disabled += approval.disabled
    return ProjectApproval(enable_all, tuple(dict.fromkeys(enabled)), tuple(dict.fromkeys(disabled)))


def project_status(name: str, approval: ProjectApproval) -> str:
    """``rejected``, ``approved`` or ``pending`` (nobody approved it: it does not run in CI)."""
    key = normalize_name(name)
    if any(normalize_name(n) == key for n in approval.disabled):
        return "rejected"
    if approval.enable_all or any(normalize_name(n) == key for n in approval.enabled):
        return "approved"
    return "pending"


def parse_servers(text: str, source: str) -> dict[str, Any]:
    """The ``mcpServers`` object of a configuration text (entries unchecked)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise McpConfigError(
            f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise McpConfigError(f'{source}: expected a JSON object with an "mcpServers" object')
    return servers


def expand(
    value: str, values: Mapping[str, str], used: list[tuple[str, str]] | None = None
) -> tuple[str, list[str]]:
    """``value`` with ``${VAR}`` / ``${VAR:-default}`` replaced from ``values``, and the names that
    were unset with no default (those stay as written). ``used`` collects ``(VAR, value)`` taken."""
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name, sep, default = match.group(1).partition(":-")
        if name in values:
            if used is not None:
                used.append((name, values[name]))
            return values[name]
        if sep:
            return default
        missing.append(name)
        return match.group(0)

    return _VARIABLE.sub(substitute, value), missing


def build_server(
    name: str, raw: Any, source: str, expansion: Mapping[str, str]
) -> tuple[ServerConfig | None, list[str]]:
    """One ``mcpServers`` entry, expanded; ``None`` and the reason when it cannot be used."""
    where = f"MCP server {name!r} ({source})"
    if not isinstance(raw, dict):
        return None, [f"{where} is skipped: its configuration must be a JSON object"]
    kind = raw.get("type", "stdio" if "command" in raw else None)
    if kind == "streamable-http":
        kind = "http"
    if kind not in TRANSPORTS:
        if kind is None:
            return None, [f'{where} is skipped: give "command" (stdio) or "type": "http"/"sse" and "url"']
        return None, [f"{where} is skipped: type {kind!r} is not supported (stdio, http, sse are)"]
    missing: list[str] = []
    used: list[tuple[str, str]] = []

    def text(value: Any, what: str) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{what} must be a string")
        expanded, unset = expand(value, expansion, used)
        missing.extend(unset)
        return expanded

    def table(value: Any, what: str) -> dict[str, str]:
        if not isinstance(value, dict):
            raise TypeError(f"{what} must be an object of strings")
        return {str(k): text(v, f"{what}.{k}") for k, v in value.items()}

    try:
        if kind == "stdio":
            args = raw.get("args", [])
            if not isinstance(args, list):
                raise TypeError("args must be a list of strings")
            config = ServerConfig(
                name,
                kind,
                source,
                command=text(raw.get("command"), "command"),
                args=tuple(text(a, "args") for a in args),
                variables=table(raw.get("env", {}), "env"),
            )
            if not config.command:
                raise TypeError("command is empty")
        else:
            config = ServerConfig(
                name,
                kind,
                source,
                url=text(raw.get("url"), "url"),
                headers=table(raw.get("headers", {}), "headers"),
            )
            if not config.url.startswith(("http://", "https://")):
                raise TypeError("url must start with http:// or https://")
    except TypeError as exc:
        return None, [f"{where} is skipped: {exc}"]
    warnings = [f"{where}: ${{{v}}} is not set and has no default" for v in dict.fromkeys(missing)]
    return replace(config, substituted=tuple(dict.fromkeys(used))), warnings


def resolve_servers(
    flag_configs: Sequence[tuple[str, str]],
    project: str | None,
    approval: ProjectApproval,
    *,
    strict: bool,
    expansion: Mapping[str, str],
) -> tuple[list[ServerConfig], list[str]]:
    """The servers a run starts, and warnings.

    ``flag_configs``: ``(source, text)`` per ``--mcp-config``, in order (a later one wins a name);
    their errors raise ``McpConfigError``. ``project``: the trusted ``.mcp.json`` text, or None;
    a broken one is a warning. ``strict``: ``--strict-mcp-config``, only the flags' servers.
    ``expansion``: the values of ``${VAR}`` (the process environment, read at the edge).
    """
    chosen: dict[str, tuple[str, Any]] = {}
    warnings: list[str] = []
    if project is not None and not strict:
        try:
            entries = parse_servers(project, PROJECT_FILE)
        except McpConfigError as exc:
            entries = {}
            warnings.append(f"{exc}; its servers are not started")
        for name, raw in entries.items():
            status = project_status(name, approval)
            if status == "approved":
                chosen[name] = (PROJECT_FILE, raw)
            elif status == "pending":
                warnings.append(
                    f"MCP server {name!r} ({PROJECT_FILE}) is not started: nobody approved it; list it in "
                    "enabledMcpjsonServers (or set enableAllProjectMcpServers) in the trusted settings"
                )
    for source, text in flag_configs:
        for name, raw in parse_servers(text, source).items():
            chosen[name] = (source, raw)
    servers: list[ServerConfig] = []
    for name, (source, raw) in chosen.items():
        server, notes = build_server(name, raw, source, expansion)
        warnings += notes
        if server is not None:
            servers.append(server)
    return servers, warnings
