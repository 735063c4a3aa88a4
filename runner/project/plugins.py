"""A Claude Code plugin directory, read: its manifest (``.claude-plugin/plugin.json``, optional) and
its parts, each under the plugin's name: commands (``commands/``, ``/plugin:name``), skills
(``skills/<name>/SKILL.md``), agents (``agents/``), hooks (``hooks/hooks.json``) and MCP servers
(``.mcp.json``); a manifest's ``commands``, ``agents``, ``skills``, ``hooks`` and ``mcpServers``
add paths (or inline objects) to the defaults. ``${CLAUDE_PLUGIN_ROOT}`` in hook commands and
server definitions is the plugin's directory. Pure but for reading the directory."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import SettingsError
from runner.project.commands import CommandDef, load_commands, load_skills, parse_command

MANIFEST = ".claude-plugin/plugin.json"
MAX_JSON_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Plugin:
    """One loaded plugin: its parts, namespaced by ``name``."""

    name: str
    root: Path
    origin: str  # "name@marketplace", or the --plugin-dir path
    commands: tuple[CommandDef, ...] = ()  # commands and skills
    agent_dirs: tuple[Path, ...] = ()  # for the subagents: runner/agent/agent_defs.load_agent_dir
    hooks: dict[str, Any] = field(default_factory=dict)  # the `hooks` object, as in settings
    mcp_servers: dict[str, Any] = field(default_factory=dict)  # server name -> definition


def load_plugin(root: Path, *, name: str | None, origin: str, warn: Callable[[str], None]) -> Plugin:
    """The plugin in ``root``; ``name``: the marketplace's name for it (else the manifest's, else the
    directory's). A manifest that is not valid JSON is a ``SettingsError``."""
    manifest = _json_file(root / MANIFEST, f"plugin {origin}") if (root / MANIFEST).is_file() else {}
    if not isinstance(manifest, dict):
        raise SettingsError(f"plugin {origin}: {MANIFEST} must be a JSON object")
    name = name or str(manifest.get("name") or root.name)
    commands: list[CommandDef] = []
    for path in _paths(root, "commands", manifest.get("commands"), origin, warn):
        if path.is_file() and path.suffix == ".md":
            text = path.read_text(encoding="utf-8", errors="replace")
            commands.append(parse_command(text, name=f"{name}:{path.stem}", source=path))
        else:
            commands += load_commands(path, namespace=name, warn=warn)
    for path in _paths(root, "skills", manifest.get("skills"), origin, warn):
        one = (path / "SKILL.md").is_file()  # a path to one skill's directory
        skills = load_skills(path.parent if one else path, namespace=name, warn=warn)
        commands += [s for s in skills if not one or s.skill_dir == path]
    agent_dirs = tuple(p for p in _paths(root, "agents", manifest.get("agents"), origin, warn) if p.is_dir())
    hooks = _hooks(root, manifest.get("hooks"), origin, warn)
    servers = _servers(root, manifest.get("mcpServers"), origin, warn)
    substituted = _substitute_root({"hooks": hooks, "servers": servers}, root)
    return Plugin(
        name, root, origin, tuple(commands), agent_dirs, substituted["hooks"], substituted["servers"]
    )


def _paths(root: Path, default: str, extra: Any, origin: str, warn: Callable[[str], None]) -> list[Path]:
    """The default directory (when it exists) and the manifest's paths, each inside the plugin."""
    found = [root / default] if (root / default).exists() else []
    values = [extra] if isinstance(extra, str) else extra if isinstance(extra, list) else []
    for value in values:
        path = _inside(root, value)
        if path is None:
            warn(f"warning: plugin {origin}: {value!r} is not a path inside the plugin; ignored")
        elif path.exists() and path not in found:
            found.append(path)
    return found


def _inside(root: Path, value: Any) -> Path | None:
    if not isinstance(value, str) or not value.strip():
        return None
    path = Path(os.path.normpath(root / value))
    real_root = root.resolve()
    real = path.resolve()
    return path if real == real_root or real_root in real.parents else None


def _component_files(
    root: Path, default: Path, value: Any, key: str, origin: str, warn: Callable[[str], None]
) -> list[Any]:
    """The JSON of a component (hooks, MCP servers): its default file when the plugin has one, then
    the manifest's ``key`` entries, inline objects or paths inside the plugin (once each)."""
    sources: list[Any] = [default] if default.is_file() else []
    for item in value if isinstance(value, list) else [value] if value is not None else []:
        if isinstance(item, dict):
            sources.append(item)
        else:
            path = _inside(root, item)
            if path is None or not path.is_file():
                warn(f"warning: plugin {origin}: {key} {item!r} is not a file inside the plugin; ignored")
            elif path not in sources:
                sources.append(path)
    return [_json_file(s, f"plugin {origin}") if isinstance(s, Path) else s for s in sources]


def _hooks(root: Path, value: Any, origin: str, warn: Callable[[str], None]) -> dict[str, Any]:
    """Every hook of the plugin: ``hooks/hooks.json`` and the manifest's (paths or inline)."""
    merged: dict[str, list[Any]] = {}
    for data in _component_files(root, root / "hooks" / "hooks.json", value, "hooks", origin, warn):
        events = data.get("hooks", data) if isinstance(data, dict) else None
        if not isinstance(events, dict):
            raise SettingsError(f"plugin {origin}: hooks must be an object of event names")
        for event, groups in events.items():
            if event != "description":
                merged.setdefault(event, []).extend(groups if isinstance(groups, list) else [groups])
    return merged


def _servers(root: Path, value: Any, origin: str, warn: Callable[[str], None]) -> dict[str, Any]:
    """The plugin's MCP servers: ``.mcp.json`` and the manifest's ``mcpServers`` (paths or inline)."""
    servers: dict[str, Any] = {}
    for data in _component_files(root, root / ".mcp.json", value, "mcpServers", origin, warn):
        entries = data.get("mcpServers", data) if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            raise SettingsError(f"plugin {origin}: mcpServers must be an object of server names")
        servers.update(entries)
    return servers


def _substitute_root(value: Any, root: Path) -> Any:
    if isinstance(value, str):
        return value.replace("${CLAUDE_PLUGIN_ROOT}", str(root))
    if isinstance(value, list):
        return [_substitute_root(v, root) for v in value]
    if isinstance(value, dict):
        return {k: _substitute_root(v, root) for k, v in value.items()}
    return value


def _json_file(path: Path, what: str) -> Any:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise SettingsError(f"{what}: {path.name} is larger than {MAX_JSON_BYTES // 1024} KiB")
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{what}: cannot read {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{what}: {path} is not valid JSON ({exc.msg}, line {exc.lineno})") from exc
