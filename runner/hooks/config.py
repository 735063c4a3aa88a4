"""The ``hooks`` key of Claude Code's settings, parsed and matched; pure (no I/O).

    "hooks": {"PreToolUse": [{"matcher": "Bash|Edit", "hooks": [{"type": "command",
              "command": "./guard.sh", "timeout": 30}]}]}

A matcher is a tool name, a regular expression matched against the whole name (``Edit|Write``,
``mcp__.*``), or ``*`` / empty / absent for every tool. Events without tools (``Stop``,
``UserPromptSubmit``) take no matcher; ``SessionStart`` matches its source (``startup``,
``resume``), ``PreCompact`` and ``PostCompact`` their trigger (``manual``, ``auto``),
``StopFailure`` its error type (``rate_limit``, ``server_error``...), ``SubagentStart`` and
``SubagentStop`` the agent type (``code-reviewer``, ``plugin:agent``). Only ``command`` hooks run here:
other types (``prompt``, ``agent``, ``http``) are named in a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.errors import SettingsError

EVENTS = (
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "UserPromptSubmit",
    "Stop",
    "StopFailure",
    "SubagentStart",
    "SubagentStop",
    "SessionStart",
    "SessionEnd",
    "PreCompact",
    "PostCompact",
)
# Claude Code events claude-runner has no moment for (a notification, a permission dialog...).
_NEVER_FIRED = frozenset(
    {
        "Notification",
        "PermissionRequest",
        "PermissionDenied",
        "Setup",
        "PostToolBatch",
        "UserPromptExpansion",
        "InstructionsLoaded",
        "ConfigChange",
        "CwdChanged",
        "FileChanged",
        "WorktreeCreate",
        "WorktreeRemove",
        "TaskCreated",
        "TaskCompleted",
        "TeammateIdle",
        "Elicitation",
        "ElicitationResult",
    }
)
DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class HookCommand:
    """One command hook, and the settings source it came from (for messages)."""

    command: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    source: str = ""


@dataclass(frozen=True)
class HookGroup:
    """A matcher and the commands it runs."""

    event: str
    matcher: str  # "" matches everything
    commands: tuple[HookCommand, ...]

    def matches(self, target: str | None) -> bool:
        """Whether this group applies to ``target`` (a tool name, a session source...)."""
        if self.matcher in ("", "*") or target is None:
            return True
        if self.matcher == target:
            return True
        try:
            return re.fullmatch(self.matcher, target) is not None
        except re.error:
            return False


@dataclass(frozen=True)
class HooksConfig:
    """Every source's hooks, lowest precedence first (all of them run, as in Claude Code)."""

    groups: tuple[HookGroup, ...] = ()
    warnings: tuple[str, ...] = ()

    def commands(self, event: str, target: str | None = None) -> list[HookCommand]:
        """The commands for ``event`` whose matcher takes ``target``; the same command runs once."""
        found: dict[str, HookCommand] = {}
        for group in self.groups:
            if group.event == event and group.matches(target):
                for command in group.commands:
                    found.setdefault(command.command, command)
        return list(found.values())

    def __bool__(self) -> bool:
        return bool(self.groups)


def parse_hooks(value: Any, source: str) -> HooksConfig:
    """The ``hooks`` value of one settings source (``None``: absent); bad shapes are a ``SettingsError``."""
    if value is None:
        return HooksConfig()
    if not isinstance(value, dict):
        raise SettingsError(f"{source}: hooks must be an object of event names")
    groups: list[HookGroup] = []
    warnings: list[str] = []
    for event, entries in value.items():
        if event not in EVENTS:
            why = "claude-runner never fires it" if event in _NEVER_FIRED else "unknown event"
            warnings.append(f"{source}: hooks.{event} is ignored ({why})")
            continue
        if not isinstance(entries, list):
            raise SettingsError(f"{source}: hooks.{event} must be a list of {{matcher, hooks}} objects")
        for i, entry in enumerate(entries):
            where = f"{source}: hooks.{event}[{i}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("hooks"), list):
                raise SettingsError(f"{where} must be an object with a hooks list")
            matcher = entry.get("matcher", "")
            if not isinstance(matcher, str):
                raise SettingsError(f"{where}.matcher must be a string")
            commands = _commands(entry["hooks"], where, source, warnings)
            if commands:
                groups.append(HookGroup(event, matcher.strip(), tuple(commands)))
    return HooksConfig(tuple(groups), tuple(warnings))


def merge_hooks(configs: Iterable[HooksConfig]) -> HooksConfig:
    """Every source's hooks together (they add up; none replaces another)."""
    configs = list(configs)
    return HooksConfig(
        tuple(g for c in configs for g in c.groups),
        tuple(dict.fromkeys(w for c in configs for w in c.warnings)),
    )


def _commands(hooks: Sequence[Any], where: str, source: str, warnings: list[str]) -> list[HookCommand]:
    commands = []
    for j, hook in enumerate(hooks):
        if not isinstance(hook, Mapping):
            raise SettingsError(f"{where}.hooks[{j}] must be an object")
        kind = hook.get("type", "command")
        if kind != "command":
            warnings.append(f"{where}.hooks[{j}]: {kind} hooks are not supported by claude-runner; ignored")
            continue
        command = hook.get("command")
        if not isinstance(command, str) or not command.strip():
            raise SettingsError(f"{where}.hooks[{j}].command must be a non-empty string")
        timeout = hook.get("timeout", DEFAULT_TIMEOUT_S)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise SettingsError(f"{where}.hooks[{j}].timeout must be a number of seconds")
        commands.append(HookCommand(command, float(timeout), source))
    return commands
