"""TodoWrite: Claude Code's task list, kept as state and shown where the run is watched.

``claude-runner run`` only keeps the list (the ``stream-json`` output shows each call); the
CI flows pass ``on_change`` so the list becomes the tracking comment's checklist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult

STATUSES = ("pending", "in_progress", "completed")
MAX_TODOS = 100
MAX_TEXT = 500


def render_checklist(todos: list[dict[str, str]]) -> str:
    """The list as a markdown checklist: done items ticked, the current one in bold by its activeForm."""
    lines = []
    for todo in todos:
        if todo["status"] == "completed":
            lines.append(f"- [x] {todo['content']}")
        elif todo["status"] == "in_progress":
            lines.append(f"- [ ] **{todo.get('activeForm') or todo['content']}**")
        else:
            lines.append(f"- [ ] {todo['content']}")
    return "\n".join(lines)


def _todo(item: Any, index: int) -> dict[str, str]:
    if not isinstance(item, Mapping):
        raise ToolError(f"todos[{index}] must be an object with content, status and activeForm")
    todo: dict[str, str] = {}
    for key in ("content", "status", "activeForm"):
        value = item.get(key)
        if key == "activeForm" and value is None:
            value = item.get("content")  # older prompts omit it
        if not isinstance(value, str) or not value.strip():
            raise ToolError(f"todos[{index}].{key} must be a non-empty string")
        todo[key] = " ".join(value.split())[:MAX_TEXT]  # one line each: it becomes a checklist item
    if todo["status"] not in STATUSES:
        raise ToolError(f"todos[{index}].status must be one of {', '.join(STATUSES)}")
    return todo


class TodoWrite(Tool):
    """Claude Code's TodoWrite: replace the whole task list."""

    name: ClassVar[str] = "TodoWrite"
    description: ClassVar[str] = (
        "Create and update a structured task list for this run. Send the whole list each time. "
        "Each item has content (imperative, e.g. 'Run tests'), activeForm (e.g. 'Running tests') and "
        "status pending, in_progress or completed; keep exactly one item in_progress while working."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "todos": {
                "type": "array",
                "description": "The updated todo list",
                "items": {
                    "type": "object",
                    "properties": {
                        "content": {"type": "string", "minLength": 1},
                        "status": {"type": "string", "enum": list(STATUSES)},
                        "activeForm": {"type": "string", "minLength": 1},
                    },
                    "required": ["content", "status", "activeForm"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["todos"],
        "additionalProperties": False,
    }
    needs_permission: ClassVar[bool] = False  # as in Claude Code: it touches nothing

    def __init__(self, on_change: Callable[[str], object] | None = None) -> None:
        self.on_change = on_change  # gets the list as a markdown checklist
        self.todos: list[dict[str, str]] = []

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Keep the new list and pass it on as a checklist."""
        items = args.get("todos")
        if not isinstance(items, list):
            raise ToolError("todos must be an array")
        if len(items) > MAX_TODOS:
            raise ToolError(f"at most {MAX_TODOS} todos")
        self.todos = [_todo(item, i) for i, item in enumerate(items)]
        if self.on_change is not None:
            self.on_change(render_checklist(self.todos))
        return ToolResult(
            "Todos have been modified successfully. Keep using the todo list to track your progress, "
            "and proceed with the current tasks."
        )
