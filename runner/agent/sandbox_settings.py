"""The ``sandbox`` key of Claude Code's settings, parsed and merged; pure (no I/O).

The keys mean what Claude Code's settings reference says:

- ``enabled``: run Bash commands in the OS sandbox; ``failIfUnavailable``: stop instead of
  warning when it cannot start;
- ``excludedCommands``: commands that run outside it (Bash rule patterns: ``docker *``);
- ``filesystem.allowWrite`` / ``denyWrite`` / ``denyRead`` / ``allowRead``: paths (``/abs``,
  ``//abs``, ``~/home``, ``./relative`` or bare: relative to the project the settings belong to);
- ``network.allowedDomains`` / ``deniedDomains``: ``example.com`` or ``*.example.com``; either
  one set sends the sandbox's traffic through a filtering proxy;
- ``network.allowUnixSockets`` / ``allowAllUnixSockets``: container-runtime sockets stay hidden
  unless listed.

Keys Claude Code has that change nothing here (``allowUnsandboxedCommands``: the model never
gets a way out; ``allowLocalBinding``: the sandbox has its own loopback) are accepted silently;
ones we do not implement warn, never fail.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from runner.agent.permission_rules import parse_rule
from runner.errors import SettingsError

_FS_KEYS = ("allowWrite", "denyWrite", "denyRead", "allowRead")
_NET_LISTS = ("allowedDomains", "deniedDomains", "allowUnixSockets")
_IGNORED = frozenset({"allowUnsandboxedCommands", "allowLocalBinding", "allowManagedDomainsOnly"})
_UNSUPPORTED = frozenset({"enableWeakerNestedSandbox", "credentials"})
_KNOWN = frozenset(
    {"enabled", "failIfUnavailable", "excludedCommands", "filesystem", "network", "autoAllowBashIfSandboxed"}
)
_T = TypeVar("_T")
_DOMAIN = re.compile(r"(?:\*\.)?[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[?[0-9A-Fa-f:.]+\]?")


@dataclass(frozen=True)
class SandboxSettings:
    """One settings source's ``sandbox`` key, validated; paths still as written."""

    source: str = ""
    base_dir: Path | None = None  # where relative paths are anchored (the project); None: the cwd
    enabled: bool | None = None
    fail_if_unavailable: bool | None = None
    excluded_commands: tuple[str, ...] = ()
    filesystem: Mapping[str, tuple[str, ...]] | None = None  # allowWrite, denyWrite, denyRead, allowRead
    allowed_domains: tuple[str, ...] = ()
    denied_domains: tuple[str, ...] = ()
    allow_unix_sockets: tuple[str, ...] = ()
    allow_all_unix_sockets: bool | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SandboxConfig:
    """Every source merged (later sources win for flags; lists add up), paths made absolute."""

    enabled: bool | None = None  # None: the command's default (on in the CI flows, off for `run`)
    fail_if_unavailable: bool = False
    excluded_commands: tuple[str, ...] = ()
    allow_write: tuple[Path, ...] = ()
    deny_write: tuple[Path, ...] = ()
    deny_read: tuple[Path, ...] = ()
    allow_read: tuple[Path, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    denied_domains: tuple[str, ...] = ()
    allow_unix_sockets: tuple[Path, ...] = ()
    allow_all_unix_sockets: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def filters_network(self) -> bool:
        """Whether any network rule is set: without one, the sandbox keeps the machine's network."""
        return bool(self.allowed_domains or self.denied_domains)


def parse_sandbox(value: Any, source: str, *, base_dir: Path | None = None) -> SandboxSettings:
    """The ``sandbox`` value of one settings file (``None``: absent); bad types are a ``SettingsError``."""
    if value is None:
        return SandboxSettings(source, base_dir)
    data = _object(value, "sandbox", source)
    warnings = [
        f"{source}: sandbox.{key} is not supported by claude-runner; it has no effect"
        for key in sorted(set(data) & _UNSUPPORTED)
    ]
    if data.get("autoAllowBashIfSandboxed") is True:
        warnings.append(
            f"{source}: sandbox.autoAllowBashIfSandboxed is not supported by claude-runner: "
            "Bash commands still need allow rules"
        )
    unknown = set(data) - _UNSUPPORTED - _IGNORED - _KNOWN
    warnings += [f"{source}: unknown key sandbox.{key} is ignored" for key in sorted(unknown)]
    excluded = _strings(data, "excludedCommands", source, "sandbox")
    for i, pattern in enumerate(excluded):
        try:
            parse_rule(f"Bash({pattern})", base_dir=base_dir or Path("/"))
        except ValueError as exc:
            raise SettingsError(f"{source}: sandbox.excludedCommands[{i}] `{pattern}`: {exc}") from exc
    fs = _object(data.get("filesystem", {}), "sandbox.filesystem", source)
    net = _object(data.get("network", {}), "sandbox.network", source)
    warnings += [
        f"{source}: sandbox.network.{key} is not supported by claude-runner; it has no effect"
        for key in ("httpProxyPort", "socksProxyPort")
        if key in net
    ]
    lists = {key: _strings(net, key, source, "sandbox.network") for key in _NET_LISTS}
    for key in ("allowedDomains", "deniedDomains"):
        for domain in lists[key]:
            if not _DOMAIN.fullmatch(domain.strip()):
                raise SettingsError(
                    f"{source}: sandbox.network.{key}: `{domain}` is not a domain",
                    "write example.com or *.example.com (no scheme, path or port)",
                )
    return SandboxSettings(
        source=source,
        base_dir=base_dir,
        enabled=_bool(data, "enabled", source),
        fail_if_unavailable=_bool(data, "failIfUnavailable", source),
        excluded_commands=excluded,
        filesystem={key: _strings(fs, key, source, "sandbox.filesystem") for key in _FS_KEYS},
        allowed_domains=tuple(d.strip().lower() for d in lists["allowedDomains"]),
        denied_domains=tuple(d.strip().lower() for d in lists["deniedDomains"]),
        allow_unix_sockets=lists["allowUnixSockets"],
        allow_all_unix_sockets=_bool(net, "allowAllUnixSockets", source, "sandbox.network"),
        warnings=tuple(warnings),
    )


def merge_sandbox(sources: Sequence[SandboxSettings], *, cwd: Path, home: Path) -> SandboxConfig:
    """Merge sources, lowest precedence first, resolving their paths against ``cwd`` and ``home``."""
    enabled: bool | None = None
    fail = False
    every_socket = False
    paths: dict[str, list[Path]] = {key: [] for key in _FS_KEYS}
    sockets: list[Path] = []
    for s in sources:
        enabled = s.enabled if s.enabled is not None else enabled
        fail = s.fail_if_unavailable if s.fail_if_unavailable is not None else fail
        every_socket = s.allow_all_unix_sockets if s.allow_all_unix_sockets is not None else every_socket
        base = s.base_dir or cwd
        for key, texts in (s.filesystem or {}).items():
            paths[key] += [resolve_path(t, base=base, home=home) for t in texts]
        sockets += [resolve_path(t, base=base, home=home) for t in s.allow_unix_sockets]
    return SandboxConfig(
        enabled=enabled,
        fail_if_unavailable=fail,
        excluded_commands=_unique(c for s in sources for c in s.excluded_commands),
        allow_write=_unique(paths["allowWrite"]),
        deny_write=_unique(paths["denyWrite"]),
        deny_read=_unique(paths["denyRead"]),
        allow_read=_unique(paths["allowRead"]),
        allowed_domains=_unique(d for s in sources for d in s.allowed_domains),
        denied_domains=_unique(d for s in sources for d in s.denied_domains),
        allow_unix_sockets=_unique(sockets),
        allow_all_unix_sockets=every_socket,
        warnings=_unique(w for s in sources for w in s.warnings),
    )


def resolve_path(text: str, *, base: Path, home: Path) -> Path:
    """A sandbox path as Claude Code writes them: ``/abs`` or ``//abs``, ``~/...``, else relative."""
    text = text.strip()
    if text.startswith("//"):
        text = text[1:]
    elif text == "~" or text.startswith("~/"):
        text = str(home) + text[1:]
    return Path(posixpath.normpath(posixpath.join(str(base), text)))


def _unique(items: Iterable[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items))


def _object(value: Any, key: str, source: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SettingsError(f"{source}: {key} must be an object")
    return value


def _bool(data: Mapping[str, Any], key: str, source: str, where: str = "sandbox") -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise SettingsError(f"{source}: {where}.{key} must be true or false")
    return value


def _strings(data: Mapping[str, Any], key: str, source: str, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SettingsError(f"{source}: {where}.{key} must be a list of non-empty strings")
    return tuple(value)


def parse_env(value: Any, source: str) -> tuple[tuple[str, str], ...]:
    """The ``env`` key of a settings file: variables for the tools (strings, numbers, booleans)."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise SettingsError(f"{source}: env must be an object of variable names and values")
    pairs = []
    for name, raw in value.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise SettingsError(f"{source}: env: `{name}` is not a variable name")
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        elif isinstance(raw, int | float):
            raw = str(raw)
        elif not isinstance(raw, str):
            raise SettingsError(f"{source}: env.{name} must be a string")
        pairs.append((name, raw))
    return tuple(pairs)
