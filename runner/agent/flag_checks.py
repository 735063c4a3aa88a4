"""Flags that would be accepted silently and do nothing useful: each gets a warning line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runner.agent import permissions


def unknown_tool_warnings(values: Sequence[str], known: set[str]) -> list[str]:
    """A warning per rule naming a tool this runner does not have (a typo matches nothing, silently).

    MCP tools (``mcp__...``) and ``*`` are left alone: their names are only known when servers start.
    """
    warnings = []
    for value in values:
        for rule in permissions.split_rule_list(value):
            name = rule.split("(", 1)[0].strip()
            if name and name != "*" and not name.startswith("mcp__") and name not in known:
                warnings.append(
                    f"warning: --allowedTools/--disallowedTools: no tool is named {name!r}; "
                    f"the rule {rule!r} matches nothing (tools: {', '.join(sorted(known))})"
                )
    return warnings


def append_prompt_warning(append: str | None, cwd: Path) -> str | None:
    """``--append-system-prompt @file`` is taken literally, as Claude Code does: say so."""
    text = (append or "").strip()
    if text.startswith("@") and (cwd / text[1:]).is_file():
        return (
            f"warning: --append-system-prompt {text!r} is appended as this text, not the file's: "
            f'to append the file, pass --append-system-prompt "$(cat {text[1:]})"'
        )
    return None
