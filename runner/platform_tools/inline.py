"""claude-code-action's ``create_inline_comment`` outside a review: a comment (a suggestion block
welcome) on lines of the change request's diff, with its ``confirmed`` flag.

``confirmed: true`` posts at once. Omitted, the call is kept and posted when the agent's turn ended
well, each once (a later confirmed copy of the same comment replaces it), after a small model kept
it (``classify_inline_comments``: ``runner/flow/inline_buffer.py``; when classifying fails none is
posted and the final comment lists them, where claude-code-action posts them all).
``confirmed: false`` is kept and never posted: the agent trying the tool out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult, int_arg, str_arg
from runner.errors import RunnerError
from runner.platform_tools.actions import ActionScope


@dataclass(frozen=True)
class _Pending:
    path: str
    body: str
    line: int
    start_line: int | None
    side: str
    commit_sha: str | None


@dataclass
class InlineBuffer:
    """Comments kept until the turn ends."""

    pending: list[_Pending] = field(default_factory=list)


class CreateInlineComment(Tool):
    """An inline comment on the change request's diff."""

    description: ClassVar[str] = "Create an inline comment on a specific line or lines in a PR file"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "The file path to comment on (e.g., 'src/index.js')"},
            "body": {
                "type": "string",
                "description": (
                    "The comment text (supports markdown and code suggestion blocks). For code suggestions, "
                    "use: ```suggestion\\nreplacement code\\n```. The suggestion block REPLACES the ENTIRE "
                    "line range (single line or startLine to line): make it a complete drop-in replacement."
                ),
            },
            "line": {"type": "number", "description": "Line number (the last line of a multi-line comment)"},
            "startLine": {"type": "number", "description": "Start line for multi-line comments"},
            "side": {
                "type": "string",
                "enum": ["LEFT", "RIGHT"],
                "description": "LEFT: old code, RIGHT: new",
            },
            "commit_id": {"type": "string", "description": "Commit SHA to comment on (default: the latest)"},
            "confirmed": {
                "type": "boolean",
                "description": (
                    "Set true to post immediately. When omitted, the call is kept and posted after the "
                    "session ends well. Set false to keep it and never post (testing the tool). Only set "
                    "true when posting final review comments."
                ),
            },
        },
        "required": ["path", "body"],
    }
    read_only: ClassVar[bool] = False

    def __init__(self, scope: ActionScope, buffer: InlineBuffer | None = None) -> None:
        self.scope, self.buffer = scope, buffer or InlineBuffer()

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Post now (``confirmed``), or keep for the end of the turn."""
        if self.scope.number is None or not self.scope.change_request:
            raise ToolError("inline comments need a pull request: this run is not on one")
        line = int_arg(args, "line", minimum=1)
        start = int_arg(args, "startLine", minimum=1)
        if line is None:
            raise ToolError(
                "Either 'line' for single-line comments or both 'startLine' and 'line' for multi-line "
                "comments must be provided"
            )
        side = str_arg(args, "side", required=False, default="RIGHT").upper()
        if side not in ("LEFT", "RIGHT"):
            raise ToolError("side must be LEFT or RIGHT")
        pending = _Pending(
            path=str_arg(args, "path").strip().lstrip("/"),
            body=self.scope.clean(str_arg(args, "body")),
            line=line,
            start_line=start if start is not None and start != line else None,
            side=side,
            commit_sha=str_arg(args, "commit_id", required=False) or None,
        )
        confirmed = args.get("confirmed")
        if confirmed is not True:
            if confirmed is False:
                note = "Comment not posted (confirmed=false)."
            else:
                self.buffer.pending.append(pending)
                note = (
                    "Comment buffered: it is posted when this session ends well. "
                    "Set confirmed=true to post now."
                )
            return ToolResult(json.dumps({"success": True, "buffered": True, "message": note}, indent=2))
        self.buffer.pending = [
            p for p in self.buffer.pending if (p.path, p.line, p.start_line, p.body) != (
                pending.path, pending.line, pending.start_line, pending.body)
        ]  # fmt: skip
        data = self._post(pending)
        return ToolResult(json.dumps(data, indent=2))

    def _post(self, p: _Pending) -> dict[str, Any]:
        assert self.scope.number is not None
        try:
            ref = self.scope.automation.inline_comment(
                self.scope.number,
                path=p.path,
                body=p.body,
                line=p.line,
                start_line=p.start_line,
                side=p.side,
                commit_sha=p.commit_sha or self.scope.head_sha,
            )
        except RunnerError as exc:
            raise ToolError(
                f"Error creating inline comment: {exc.one_line()}\n\nThis usually means the line is not part "
                "of the diff or the file path is wrong: comment on lines the pull request changes."
            ) from exc
        where = f"at line {p.line}" if p.start_line is None else f"from line {p.start_line} to {p.line}"
        self.scope.did(f"inline comment on {p.path} {where}: {ref.url}")
        return {
            "success": True,
            "comment_id": ref.id,
            "html_url": ref.url,
            "path": p.path,
            "line": p.line,
            "message": f"Inline comment created successfully on {p.path} {where}",
        }

    def flush(self) -> list[str]:
        """Post what was kept without ``confirmed: false``; the errors, one line each."""
        errors = []
        kept, self.buffer.pending = self.buffer.pending, []
        seen: set[tuple[str, int, int | None, str]] = set()
        for p in kept:
            key = (p.path, p.line, p.start_line, p.body)
            if key in seen:
                continue
            seen.add(key)
            try:
                self._post(p)
            except ToolError as exc:
                errors.append(str(exc).splitlines()[0])
        return errors


def inline_comment_tool(scope: ActionScope) -> CreateInlineComment:
    """``mcp__<platform>_inline_comment__create_inline_comment``."""
    name = f"mcp__{scope.platform}_inline_comment__create_inline_comment"
    named = type("CreateInlineComment", (CreateInlineComment,), {"name": name})
    tool: CreateInlineComment = named(scope)
    return tool
