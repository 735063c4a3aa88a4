"""The ``hooks`` key of Claude Code's settings, parsed and matched; pure (no I/O).

    "hooks": {"PreToolUse": [{"matcher": "Bash|Edit", "hooks": [{"type": "command",
              "command": "./guard.sh", "timeout": 30}]}]}

A matcher is a tool name, a regular expression matched against the whole name (``Edit|Write``,
``mcp__.*``), or ``*`` / empty / absent for every tool. Events without tools (``Stop``,
``UserPromptSubmit``) take no matcher; ``SessionStart`` matches its source (``startup``,
``resume``), ``PreCompact`` and ``PostCompact`` their trigger (``manual``, ``auto``),
``StopFailure`` its error type (``rate_limit``, ``server_error``...), ``SubagentStart`` and
``SubagentStop`` the agent type (``code-reviewer``, ``plugin:agent``). ``command`` and ``http`` hooks
run here (``{"type": "http", "url": "https://...", "headers": {"Authorization": "Bearer $TOKEN"},
"allowedEnvVars": ["TOKEN"]}``); other types (``prompt``, ``agent``) are named in a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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
# ``$VAR`` or ``${VAR}`` in an HTTP hook's header value.
HEADER_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token


@dataclass(frozen=True)
class HookCommand:
    """One command hook, and the settings source it came from (for messages)."""

    command: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    source: str = ""


@dataclass(frozen=True)
class HttpHook:
    """One HTTP hook: the event's JSON is POSTed to ``url``. Header values may name the variables
    in ``allowed_env_vars`` (``$VAR``, ``${VAR}``); they are never shown (they may hold tokens)."""

    url: str
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    allowed_env_vars: tuple[str, ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S
    source: str = ""


Hook = HookCommand | HttpHook


def hook_key(hook: Hook) -> tuple[str, str]:
    """What makes two hooks the same hook: the command, or the URL (as Claude Code dedupes them)."""
    return ("command", hook.command) if isinstance(hook, HookCommand) else ("http", hook.url)


@dataclass(frozen=True)
class HookGroup:
    """A matcher and the hooks it runs."""

    event: str
    matcher: str  # "" matches everything
    commands: tuple[Hook, ...]

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

    def commands(self, event: str, target: str | None = None) -> list[Hook]:
        """The hooks for ``event`` whose matcher takes ``target``; the same command or URL runs once."""
        found: dict[tuple[str, str], Hook] = {}
        for group in self.groups:
            if group.event == event and group.matches(target):
                for command in group.commands:
                    found.setdefault(hook_key(command), command)
        return list(found.values())

    def allowed_env_vars(self) -> tuple[str, ...]:
        """Every variable name an HTTP hook may put in its headers (``allowedEnvVars``)."""
        names = (
            n for g in self.groups for h in g.commands if isinstance(h, HttpHook) for n in h.allowed_env_vars
        )
        return tuple(dict.fromkeys(names))

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


def _commands(hooks: Sequence[Any], where: str, source: str, warnings: list[str]) -> list[Hook]:
    commands: list[Hook] = []
    for j, hook in enumerate(hooks):
        if not isinstance(hook, Mapping):
            raise SettingsError(f"{where}.hooks[{j}] must be an object")
        kind = hook.get("type", "command")
        if kind not in ("command", "http"):
            warnings.append(f"{where}.hooks[{j}]: {kind} hooks are not supported by claude-runner; ignored")
            continue
        timeout = hook.get("timeout", DEFAULT_TIMEOUT_S)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise SettingsError(f"{where}.hooks[{j}].timeout must be a number of seconds")
        if kind == "http":
            commands.append(_http_hook(hook, f"{where}.hooks[{j}]", float(timeout), source, warnings))
            continue
        command = hook.get("command")
        if not isinstance(command, str) or not command.strip():
            raise SettingsError(f"{where}.hooks[{j}].command must be a non-empty string")
        commands.append(HookCommand(command, float(timeout), source))
    return commands


def _http_hook(
    hook: Mapping[str, Any], where: str, timeout: float, source: str, warnings: list[str]
) -> HttpHook:
    url = hook.get("url")
    if not isinstance(url, str) or not url.strip():
        raise SettingsError(f"{where}.url must be a non-empty http:// or https:// URL")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - a bad port raises here, not at the first request
    except ValueError as exc:
        raise SettingsError(f"{where}.url is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{where}.url must be an http:// or https:// URL with a host")
    names = hook.get("allowedEnvVars", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise SettingsError(f"{where}.allowedEnvVars must be a list of variable names")
    for bad in (n for n in names if not _VARIABLE_NAME.fullmatch(n)):
        warnings.append(f"{where}.allowedEnvVars: {bad!r} is not a variable name (no $): it matches nothing")
    headers = hook.get("headers", {})
    if not isinstance(headers, Mapping) or not all(isinstance(v, str) for v in headers.values()):
        raise SettingsError(f"{where}.headers must be an object of header names and string values")
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name) or "\r" in value or "\n" in value:
            raise SettingsError(f"{where}.headers: {name!r} is not a valid header name and one-line value")
        for match in HEADER_VARIABLE.finditer(value):
            if (var := match.group(1) or match.group(2)) not in names:
                warnings.append(
                    f"{where}.headers.{name} uses ${var}, which allowedEnvVars does not list: sent empty"
                )
    return HttpHook(url.strip(), tuple(headers.items()), tuple(dict.fromkeys(names)), timeout, source)
