"""The built-in tools, under Claude Code's names, and a way to build a selection of them."""

from __future__ import annotations

from collections.abc import Iterable

from runner.agent.tools.background import TaskOutput, TaskStop
from runner.agent.tools.base import Tool
from runner.agent.tools.bash import Bash
from runner.agent.tools.files import Edit, MultiEdit, Read, Write
from runner.agent.tools.notebook import NotebookEdit
from runner.agent.tools.search import LS, Glob, Grep
from runner.agent.tools.todo import TodoWrite
from runner.agent.tools.web import WebFetch

BUILTIN_TOOLS: dict[str, type[Tool]] = {
    tool.name: tool
    for tool in (
        Read,
        Write,
        Edit,
        MultiEdit,
        NotebookEdit,
        Glob,
        Grep,
        LS,
        Bash,
        TaskOutput,
        TaskStop,
        TodoWrite,
        WebFetch,
    )
}
# Offered only with Bash: they read and stop what Bash started in the background.
BASH_COMPANIONS = frozenset({"TaskOutput", "TaskStop"})


def build_tools(names: Iterable[str] | None = None) -> list[Tool]:
    """Instances of the named built-in tools (all of them when ``names`` is None), in the order given.

    Raises ``ValueError`` naming the unknown tool and the known ones.
    """
    chosen = list(BUILTIN_TOOLS) if names is None else list(dict.fromkeys(names))
    unknown = [name for name in chosen if name not in BUILTIN_TOOLS]
    if unknown:
        raise ValueError(
            f"unknown tool(s): {', '.join(unknown)}; built-in tools are {', '.join(BUILTIN_TOOLS)}"
        )
    return [BUILTIN_TOOLS[name]() for name in chosen]


__all__ = [
    "BASH_COMPANIONS",
    "BUILTIN_TOOLS",
    "LS",
    "Bash",
    "Edit",
    "Glob",
    "Grep",
    "MultiEdit",
    "NotebookEdit",
    "Read",
    "TaskOutput",
    "TaskStop",
    "TodoWrite",
    "WebFetch",
    "Write",
    "build_tools",
]
