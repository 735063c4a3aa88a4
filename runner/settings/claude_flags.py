"""The flags of ``claude -p`` beyond the basics, checked and turned into ``RunSettings`` fields.

Pure: ``claude_flag_fields`` takes the parsed flags (CLI or ``claude_args``) and returns the
fields, or raises ``UsageError`` with one line saying what to fix. Flags claude-runner accepts
without implementing them become warning lines (``flag_warnings``), never errors.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.errors import UsageError

SETTING_SOURCES = ("user", "project", "local")
_AGENT_KEYS = frozenset({"description", "prompt", "tools", "disallowedTools", "model", "permissionMode"})


@dataclass(frozen=True)
class AgentDefinition:
    """One subagent from ``--agents`` (Claude Code's format), validated; the Agent tool offers it
    (``runner/agent/agent_sources.py``)."""

    name: str
    description: str
    prompt: str
    tools: tuple[str, ...] | None = None  # None: the parent's tools
    disallowed_tools: tuple[str, ...] = ()
    model: str | None = None
    permission_mode: str | None = None


def claude_flag_fields(params: Mapping[str, Any]) -> dict[str, Any]:
    """``RunSettings`` fields from the Claude Code flags in ``params``."""
    warnings = [
        f"warning: --{key.removeprefix('unsupported_').replace('_', '-')} is not supported by "
        "claude-runner yet; it is ignored"
        for key, value in params.items()
        if key.startswith("unsupported_") and value not in (None, (), False)
    ]
    agents = parse_agents(params.get("agents_json"))
    session_id = params.get("session_id")
    if session_id is not None:
        session_id = _uuid(session_id)
    resume = params.get("resume")
    continue_session = bool(params.get("continue_session"))
    if resume is not None and not resume.strip():  # Claude Code's session picker: nobody to pick in CI
        warnings.append("warning: --resume without a session id continues the latest session (--continue)")
        resume, continue_session = None, True
    return {
        "setting_sources": parse_setting_sources(params.get("setting_sources")),
        "builtin_tools": parse_tools(params.get("builtin_tools")),
        "agents": agents,
        "betas": tuple(b for value in params.get("betas") or () for b in _split(value)),
        "session_id": session_id,
        "system_prompt_file": params.get("system_prompt_file"),
        "append_system_prompt_file": params.get("append_system_prompt_file"),
        "resume": resume.strip() if resume else None,
        "continue_session": continue_session,
        "fork_session": bool(params.get("fork_session")),
        "debug": params.get("debug"),
        "debug_file": params.get("debug_file"),
        "verbose": bool(params.get("verbose")),
        "flag_warnings": tuple(warnings),
    }


def parse_setting_sources(value: str | None) -> tuple[str, ...]:
    """``--setting-sources user,project,local`` (any subset; empty: none). Default: all three."""
    if value is None:
        return SETTING_SOURCES
    names = _split(value)
    unknown = [n for n in names if n not in SETTING_SOURCES]
    if unknown:
        raise UsageError(
            f"--setting-sources: unknown source {unknown[0]!r}", f"use any of {', '.join(SETTING_SOURCES)}"
        )
    return tuple(dict.fromkeys(names))


def parse_tools(value: str | None) -> tuple[str, ...] | None:
    """``--tools``: None (not given, or ``default``: every built-in tool), or the names offered."""
    if value is None or value.strip() == "default":
        return None
    return tuple(dict.fromkeys(_split(value)))


def parse_agents(text: str | None) -> tuple[AgentDefinition, ...]:
    """``--agents`` JSON: ``{"name": {"description": ..., "prompt": ..., "tools": [...], ...}}``."""
    if text is None:
        return ()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--agents: invalid JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(data, dict):
        raise UsageError("--agents must be a JSON object of agent names to definitions")
    agents = []
    for name, spec in data.items():
        if not isinstance(spec, dict):
            raise UsageError(f"--agents: {name} must be an object with description and prompt")
        for key in ("description", "prompt"):
            if not isinstance(spec.get(key), str) or not spec[key].strip():
                raise UsageError(f"--agents: {name}.{key} must be a non-empty string")
        unknown = sorted(set(spec) - _AGENT_KEYS)
        if unknown:
            raise UsageError(
                f"--agents: {name}: unknown key {unknown[0]!r}", f"use {', '.join(sorted(_AGENT_KEYS))}"
            )
        agents.append(
            AgentDefinition(
                name=name,
                description=spec["description"],
                prompt=spec["prompt"],
                tools=_names(spec, "tools", name),
                disallowed_tools=_names(spec, "disallowedTools", name) or (),
                model=_optional_str(spec, "model", name),
                permission_mode=_optional_str(spec, "permissionMode", name),
            )
        )
    return tuple(agents)


def _names(spec: Mapping[str, Any], key: str, agent: str) -> tuple[str, ...] | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(_split(value))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"--agents: {agent}.{key} must be a list of tool names")
    return tuple(value)


def _optional_str(spec: Mapping[str, Any], key: str, agent: str) -> str | None:
    value = spec.get(key)
    if value is not None and not isinstance(value, str):
        raise UsageError(f"--agents: {agent}.{key} must be a string")
    return value


def _uuid(text: str) -> str:
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError as exc:
        raise UsageError(f"--session-id must be a UUID (got {text!r})") from exc


def _split(value: str) -> list[str]:
    return [part for part in value.replace(",", " ").split() if part]
