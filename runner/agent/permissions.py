"""Permission policy and decisions, with Claude Code's rule syntax and semantics, for CI.

Nobody can answer a prompt in CI, so "ask" means deny. Order: deny rules, then ask rules
(both in every mode, bypassPermissions included), then the mode: bypassPermissions allows;
plan allows read-only tools only; read-only tools are always allowed; file edits inside the
workspace are allowed in acceptEdits; everything else needs a matching allow rule.

A prefix rule such as ``Bash(git diff:*)`` allows the command's harmless arguments; options that
write files, run programs or leave the workspace (``git diff --output=x``, ``git -c ...``, ``find
-exec``; tables in ``runner/agent/commands/``) must be spelled out in the rule, and every file a
command writes or reads is checked against the workspace after resolving symlinks
(``bash_checks.py``).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.agent.bash_checks import bash_blocker, writable
from runner.agent.deny_checks import denied, deny_rules
from runner.agent.permission_rules import (
    Call,
    Rule,
    covers_command,
    join_argv,
    make_call,
    names_tool,
    parse_rule,
    path_hit,
    rule_matches,
    unnamed_hazards,
)
from runner.agent.sandbox_settings import SandboxSettings, parse_env, parse_sandbox
from runner.agent.settings_keys import SettingsKeys, parse_keys
from runner.errors import SettingsError, UsageError
from runner.mcp.config import ProjectApproval, parse_project_approval

__all__ = [
    "MODES",
    "Decision",
    "PermissionPolicy",
    "Rule",
    "SettingsPermissions",
    "build_policy",
    "can_ever_allow",
    "decide",
    "load_settings_permissions",
    "normalize_mode",
    "parse_rule",
    "parse_settings_json",
    "read_denied_by",
    "split_rule_list",
]

MODES = ("default", "acceptEdits", "dontAsk", "plan", "bypassPermissions")
_ALIASES = {"manual": "default"}


def normalize_mode(mode: str) -> str:
    """The canonical name of a permission mode; ValueError listing valid ones if unknown."""
    canonical = _ALIASES.get(mode, mode)
    if canonical not in MODES:
        raise ValueError(f"unknown permission mode `{mode}`; use one of: {', '.join(MODES)} (or manual)")
    return canonical


@dataclass(frozen=True, kw_only=True)
class PermissionPolicy:
    """Everything a decision depends on. ``roots`` always starts with ``cwd``."""

    mode: str = "default"
    allow: tuple[Rule, ...] = ()
    deny: tuple[Rule, ...] = ()
    ask: tuple[Rule, ...] = ()
    cwd: Path  # the workspace root; relative paths in tool input and rules resolve here
    roots: tuple[Path, ...] = ()  # cwd plus --add-dir / additionalDirectories
    home: Path  # for `~/` rules and redirections
    # Allow rules for commands that change nothing (the flows' read-only git): they hold in plan
    # mode too, where every other non-read-only call is denied.
    read_only_allow: tuple[Rule, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", normalize_mode(self.mode))
        if self.cwd not in self.roots:
            object.__setattr__(self, "roots", (self.cwd, *self.roots))


@dataclass(frozen=True)
class Decision:
    """Whether a call may run; ``reason`` is shown to the model when it may not."""

    allowed: bool
    reason: str
    rule: str | None = None  # the rule that decided, if one did


def decide(
    policy: PermissionPolicy,
    tool_name: str,
    tool_input: Mapping[str, Any],
    *,
    read_only: bool,
    edits_files: bool,
) -> Decision:
    """Decide one tool call. Deny beats ask beats allow; ask is a denial in CI."""
    call = make_call(tool_name, tool_input, edits_files=edits_files, cwd=policy.cwd, home=policy.home)
    what = _describe(call)
    for rule in policy.deny:
        if rule_matches(rule, call, for_deny=True):
            return Decision(
                False, f"Permission to use {what} has been denied by the deny rule `{rule.text}`.", rule.text
            )
    for rule in policy.ask:
        if rule_matches(rule, call, for_deny=True):
            return Decision(False, _ask_reason(what, rule), rule.text)
    if tool_name == "Bash" and (hit := denied(call, deny_rules((*policy.deny, *policy.ask)), policy.roots)):
        found, why = hit
        if found is not None and found in policy.deny:
            return Decision(
                False,
                f"Permission to use {what} has been denied by the deny rule `{found.text}`.",
                found.text,
            )
        if found is not None:
            return Decision(False, _ask_reason(what, found), found.text)
        names = ", ".join(f"`{r.text}`" for r in deny_rules((*policy.deny, *policy.ask))[:4])
        reason = (
            f"Permission to use {what} has been denied: {why}, so the deny rules ({names}) "
            "cannot be checked against it. Write the command out plainly."
        )
        return Decision(False, reason, names)
    if policy.mode == "bypassPermissions":
        return Decision(True, "bypassPermissions mode allows every tool that no deny or ask rule covers.")
    if policy.mode == "plan" and not read_only:
        if tool_name == "Bash" and (plan_rule := _read_only_rule(policy, call)):
            return Decision(True, f"Allowed by the read-only rule `{plan_rule}` (plan mode).", plan_rule)
        return Decision(
            False, f"Permission to use {what} has been denied: plan mode allows read-only tools only."
        )
    if read_only:
        return Decision(True, f"{tool_name} is read-only.")
    outside = [p for p in call.paths if not writable(p, policy.roots)]
    if edits_files and policy.mode == "acceptEdits" and call.paths and not outside:
        return Decision(True, "acceptEdits mode allows edits inside the workspace.")
    blocker = bash_blocker(call, policy.roots) if tool_name == "Bash" else None
    for rule in policy.allow:
        if rule_matches(rule, call, for_deny=False, blocked=blocker is not None):
            return Decision(True, f"Allowed by the rule `{rule.text}`.", rule.text)
    if blocker is None and call.commands:
        # `git diff | npm test`: each command of a compound may be allowed by a different rule
        used = [
            next((r.text for r in policy.allow if covers_command(r, cmd, call.cwd)), None)
            for cmd in call.commands
        ]
        if all(used):
            texts = ", ".join(dict.fromkeys(t for t in used if t))
            return Decision(True, f"Allowed by the rules {texts}.", texts)
    named = [r.text for r in policy.allow if names_tool(r, tool_name, edits_files=edits_files)]
    listed = ", ".join(named[:8]) + (", ..." if len(named) > 8 else "") if named else f"none for {tool_name}"
    why = ""
    if blocker and named:
        why = f"; {blocker}"
    elif tool_name == "Bash" and (unnamed := _unnamed_reason(policy, call)):
        why = f"; {unnamed}"
    elif edits_files and policy.mode == "acceptEdits" and outside:
        why = (
            f"; `{outside[0]}` is outside the workspace or in .git/.claude, which acceptEdits does not cover"
        )
    elif any(c.assignments for c in call.commands or ()):
        why = "; commands that set variables (`NAME=value cmd`) only match rules that include the assignment"
    reason = (
        f"Permission to use {what} has been denied: no allow rule matches{why} (allow rules: {listed}). "
        "In CI nobody can approve a prompt."
    )
    return Decision(False, reason)


def _read_only_rule(policy: PermissionPolicy, call: Call) -> str | None:
    """The read-only rule that allows a Bash call in plan mode (with the options hardening)."""
    blocked = bash_blocker(call, policy.roots) is not None
    for rule in policy.read_only_allow:
        if rule_matches(rule, call, for_deny=False, blocked=blocked):
            return rule.text
    return None


def can_ever_allow(policy: PermissionPolicy, tool_name: str, *, read_only: bool, edits_files: bool) -> bool:
    """False when no call of ``tool_name`` can be allowed, so it is left out of the model's tool list."""
    for rule in (*policy.deny, *policy.ask):
        if rule.specifier is None and names_tool(rule, tool_name, edits_files=edits_files):
            return False
    if policy.mode == "bypassPermissions":
        return True
    if policy.mode == "plan":
        return read_only or (tool_name == "Bash" and bool(policy.read_only_allow))
    if read_only or (edits_files and policy.mode == "acceptEdits"):
        return True
    return any(names_tool(r, tool_name, edits_files=edits_files) for r in policy.allow)


def read_denied_by(policy: PermissionPolicy, path: str) -> str | None:
    """The deny/ask rule that forbids reading ``path`` (absolute), if any.

    For tools that list or search many files (Glob, Grep) to drop the ones a ``Read(...)``
    deny rule covers: a decision about the searched directory cannot see them.
    """
    cwd, home = posixpath.normpath(str(policy.cwd)), posixpath.normpath(str(policy.home))
    target = posixpath.normpath(posixpath.join(cwd, path))
    for rule in (*policy.deny, *policy.ask):
        if rule.tool in ("*", "Read") and (
            rule.specifier is None or path_hit(rule, target, cwd=cwd, home=home)
        ):
            return rule.text
    return None


def _ask_reason(what: str, rule: Rule) -> str:
    return (
        f"Permission to use {what} has been denied: the ask rule `{rule.text}` requires approval, "
        "and in CI nobody can approve a prompt."
    )


def _unnamed_reason(policy: PermissionPolicy, call: Call) -> str | None:
    """For a rule whose words match but which does not name a hazardous option: which, and how to."""
    for cmd in call.commands or ():
        for rule in policy.allow:
            found = unnamed_hazards(rule, cmd, call.cwd)
            if found:
                h = found[0]
                whole = not re.fullmatch(r"[\w.+=:/@%,-]+", h.option)  # a script: allow the exact command
                example = join_argv(cmd.argv) if whole else join_argv((*cmd.argv[: h.index], h.option)) + ":*"
                return (
                    f"`{rule.text}` does not name {h.describe()}, and a rule must spell that out "
                    f"to allow it, e.g. `Bash({example})`"
                )
    return None


def _describe(call: Call) -> str:
    if call.command is not None:
        text = call.command if len(call.command) <= 200 else call.command[:200] + "…"
        return f"{call.tool_name} with command `{text}`"
    for key in ("file_path", "notebook_path", "path", "url"):
        value = call.tool_input.get(key)
        if isinstance(value, str) and value:
            return f"{call.tool_name} on `{value}`"
    return call.tool_name


# --- settings files and CLI flags -----------------------------------------------------------


@dataclass(frozen=True)
class SettingsPermissions:
    """The ``permissions`` block of one settings source (rules validated, kept as text), and its
    ``sandbox`` and ``env`` keys."""

    source: str  # file path or "--settings", for messages
    base_dir: Path | None = None  # where `/path` rules are anchored; None: the cwd
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    ask: tuple[str, ...] = ()
    default_mode: str | None = None
    additional_directories: tuple[str, ...] = ()
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    env: tuple[tuple[str, str], ...] = ()  # for the tools' environment
    mcp_json: ProjectApproval = field(default_factory=ProjectApproval)  # which .mcp.json servers run
    keys: SettingsKeys = field(default_factory=SettingsKeys)  # hooks, model, outputStyle...


def load_settings_permissions(path: Path) -> SettingsPermissions:
    """Read a Claude Code settings file; a missing file is empty, a bad one a ``SettingsError``."""
    # `/path` rules in <project>/.claude/settings.json are relative to <project>.
    base = path.parent.parent if path.parent.name == ".claude" else path.parent
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return SettingsPermissions(source=str(path), base_dir=base)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SettingsError(f"{path}: cannot read the settings file: {reason}") from exc
    return parse_settings_json(text, str(path), base_dir=base)


def parse_settings_json(text: str, source: str, *, base_dir: Path | None = None) -> SettingsPermissions:
    """Parse settings JSON (a file's text or an inline ``--settings '{...}'`` value)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(
            f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            "fix the JSON syntax (no comments or trailing commas)",
        ) from exc
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: settings must be a JSON object")
    perms = data.get("permissions", {})
    if not isinstance(perms, dict):
        raise SettingsError(f"{source}: permissions must be an object")
    lists = {
        key: _string_list(perms, key, source) for key in ("allow", "deny", "ask", "additionalDirectories")
    }
    for key in ("allow", "deny", "ask"):
        for i, rule in enumerate(lists[key]):
            try:
                parse_rule(rule, base_dir=base_dir or Path("/"))
            except ValueError as exc:
                raise SettingsError(f"{source}: permissions.{key}[{i}] `{rule}`: {exc}") from exc
    mode = perms.get("defaultMode")
    if mode is not None:
        if not isinstance(mode, str):
            raise SettingsError(f"{source}: permissions.defaultMode must be a string")
        try:
            mode = normalize_mode(mode)
        except ValueError as exc:
            raise SettingsError(f"{source}: permissions.defaultMode: {exc}") from exc
    return SettingsPermissions(
        source, base_dir, lists["allow"], lists["deny"], lists["ask"], mode, lists["additionalDirectories"],
        parse_sandbox(data.get("sandbox"), source, base_dir=base_dir), parse_env(data.get("env"), source),
        parse_project_approval(data, source),
        parse_keys(data, source),
    )  # fmt: skip


def _string_list(perms: dict[str, Any], key: str, source: str) -> tuple[str, ...]:
    value = perms.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"{source}: permissions.{key} must be a list of strings")
    return tuple(value)


def split_rule_list(value: str) -> list[str]:
    """Split a ``--allowedTools`` value on commas/whitespace outside parentheses.

    ``"Bash(git diff *),Read Edit"`` -> ``["Bash(git diff *)", "Read", "Edit"]``.
    """
    rules: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for c in value:
        if depth and quote:
            quote = "" if c == quote else quote
        elif depth and c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth = max(depth - 1, 0)
        elif depth == 0 and (c == "," or c.isspace()):
            rules.append("".join(current))
            current = []
            continue
        current.append(c)
    rules.append("".join(current))
    return [r.strip() for r in rules if r.strip()]


def build_policy(
    *,
    mode: str | None,
    allowed_tools: Sequence[str],
    disallowed_tools: Sequence[str],
    settings: Sequence[SettingsPermissions],
    cwd: Path,
    add_dirs: Sequence[Path],
    home: Path,
    read_only_rules: Sequence[str] = (),
) -> PermissionPolicy:
    """Merge settings sources (lowest precedence first) and CLI flags into one policy.

    ``read_only_rules``: allow rules for commands that change nothing, which the caller (a CI
    flow) adds; they hold in every mode, plan mode included.

    Rules from every source add up (deny wins anyway); the mode is ``mode`` (the CLI flag)
    or else the last source's ``defaultMode``; roots are cwd, ``add_dirs`` and every
    source's ``additionalDirectories``.
    """
    if mode is not None:
        try:
            mode = normalize_mode(mode)
        except ValueError as exc:
            raise UsageError(f"--permission-mode: {exc}") from exc
    else:
        mode = next((s.default_mode for s in reversed(settings) if s.default_mode), "default")
    allow: list[Rule] = []
    deny: list[Rule] = []
    ask: list[Rule] = []
    roots: list[Path] = [_abs(cwd, p, home) for p in add_dirs]
    for source in settings:
        base = _abs(cwd, source.base_dir, home) if source.base_dir is not None else cwd
        for texts, into, key in (
            (source.allow, allow, "allow"),
            (source.deny, deny, "deny"),
            (source.ask, ask, "ask"),
        ):
            for text in texts:
                try:
                    into.append(parse_rule(text, base_dir=base))
                except ValueError as exc:
                    raise SettingsError(f"{source.source}: permissions.{key} `{text}`: {exc}") from exc
        roots.extend(_abs(base, Path(d), home) for d in source.additional_directories)
    for flag, values, into in (
        ("--allowedTools", allowed_tools, allow),
        ("--disallowedTools", disallowed_tools, deny),
    ):
        for value in values:
            for text in split_rule_list(value):
                try:
                    into.append(parse_rule(text, base_dir=cwd))
                except ValueError as exc:
                    raise UsageError(f"{flag}: invalid rule `{text}`: {exc}") from exc
    unique_roots = tuple(dict.fromkeys(r for r in roots if r != cwd))
    read_only_allow = tuple(parse_rule(text, base_dir=cwd) for text in read_only_rules)
    return PermissionPolicy(
        mode=mode,
        read_only_allow=read_only_allow,
        allow=(*read_only_allow, *allow),
        deny=tuple(deny),
        ask=tuple(ask),
        cwd=cwd,
        roots=(cwd, *unique_roots),
        home=home,
    )


def _abs(base: Path, path: Path, home: Path) -> Path:
    """``path`` made absolute against ``base`` (``~`` is ``home``), normalised without I/O."""
    text = str(path)
    if text == "~" or text.startswith("~/"):
        text = str(home) + text[1:]
    return Path(posixpath.normpath(posixpath.join(str(base), text)))
