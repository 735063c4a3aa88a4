"""Platform actions as tools: comment, add and remove labels, open an issue, an inline comment on
the diff, and the tracking comment's progress. The runner executes them with its own token;
every text they post is cleaned (``clean_untrusted``: what a reader would see, secrets redacted)
and every action is written to the job log.

Names: claude-code-action's where it has the tool (``mcp__github_comment__update_claude_comment``,
``mcp__github_inline_comment__create_inline_comment``), ours in the same style otherwise
(``mcp__github_comment__create_comment``, ``mcp__github_issues__add_labels``...), with ``gitlab_``
counterparts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult, int_arg, str_arg
from runner.errors import RunnerError
from runner.platform_tools.base import Automation
from runner.sanitize import Redactor, clean_untrusted

MAX_LABELS = 20  # per call: a triage picks a few


@dataclass
class ActionScope:
    """What the action tools act on and how they report."""

    automation: Automation
    platform: str  # "github" or "gitlab": the tool names' prefix
    number: int | None  # the run's issue or change request; None on automation events without one
    change_request: bool
    redactor: Redactor
    log: Callable[[str], None]
    head_sha: str | None = None  # the change request's head, where inline comments anchor
    posted: list[str] = field(default_factory=list)  # what was done, for the job log and tests

    def clean(self, text: str) -> str:
        """Text as it will be posted: what a reader would see, secrets redacted."""
        return clean_untrusted(text, self.redactor)

    def did(self, what: str) -> None:
        line = self.redactor.text(what)
        self.posted.append(line)
        self.log(f"platform tool: {line}")

    def target(self, args: Mapping[str, Any]) -> tuple[int, bool]:
        """The issue/change request a call names (``issue_number``), else the run's own."""
        number = int_arg(args, "issue_number", minimum=1)
        if number is None:
            if self.number is None:
                raise ToolError("this run has no issue or pull request: pass issue_number")
            return self.number, self.change_request
        # GitLab numbers merge requests apart from issues: another number is an issue there.
        return number, self.change_request if number == self.number else False


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except RunnerError as exc:
        raise ToolError(f"Error: {exc.one_line()}") from exc


def _json(value: Any) -> ToolResult:
    return ToolResult(json.dumps(value, indent=2))


def _labels_arg(args: Mapping[str, Any]) -> list[str]:
    labels = args.get("labels")
    if (
        not isinstance(labels, list)
        or not labels
        or not all(isinstance(x, str) and x.strip() for x in labels)
    ):
        raise ToolError("labels must be a non-empty array of label names")
    if len(labels) > MAX_LABELS:
        raise ToolError(f"at most {MAX_LABELS} labels per call")
    return [x.strip() for x in labels]


_ISSUE_NUMBER = {"type": "number", "description": "Issue or pull request number (default: this run's)"}


class _ActionTool(Tool):
    read_only: ClassVar[bool] = False  # writes to the platform: needs an allow rule

    def __init__(self, scope: ActionScope) -> None:
        self.scope = scope


class CreateComment(_ActionTool):
    """A new comment on the run's issue or change request (or ``issue_number``)."""

    description: ClassVar[str] = "Post a new comment on this issue or pull request (or on issue_number)"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "body": {"type": "string", "description": "The comment (markdown)"},
            "issue_number": _ISSUE_NUMBER,
        },
        "required": ["body"],
    }

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Post the cleaned body."""
        number, change_request = self.scope.target(args)
        body = self.scope.clean(str_arg(args, "body"))
        if not body.strip():
            raise ToolError("body is empty")
        ref = _call(self.scope.automation.comment, number, body, change_request=change_request)
        self.scope.did(f"commented on #{number}: {ref.url}")
        return _json({"success": True, "comment_id": ref.id, "html_url": ref.url})


class _Labels(_ActionTool):
    adding: ClassVar[bool]
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "labels": {"type": "array", "items": {"type": "string"}, "description": "Label names"},
            "issue_number": _ISSUE_NUMBER,
        },
        "required": ["labels"],
    }

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Only labels the repository has: a model cannot invent new ones."""
        number, change_request = self.scope.target(args)
        wanted = _labels_arg(args)
        known = {name.lower(): name for name in _call(self.scope.automation.labels)}
        unknown = [x for x in wanted if x.lower() not in known]
        if unknown:
            available = ", ".join(sorted(known.values())[:60]) or "none"
            raise ToolError(
                f"no such label in this repository: {', '.join(unknown)}. Available labels: {available}"
            )
        names = [known[x.lower()] for x in wanted]
        change = self.scope.automation.add_labels if self.adding else self.scope.automation.remove_labels
        now = _call(change, number, names, change_request=change_request)
        self.scope.did(f"{'added' if self.adding else 'removed'} labels {', '.join(names)} on #{number}")
        return _json({"success": True, "issue_number": number, "labels": now})


class AddLabels(_Labels):
    """Add existing labels."""

    adding: ClassVar[bool] = True
    description: ClassVar[str] = "Add labels (existing ones only) to this issue or pull request"


class RemoveLabels(_Labels):
    """Remove labels."""

    adding: ClassVar[bool] = False
    description: ClassVar[str] = "Remove labels from this issue or pull request"


class CreateIssue(_ActionTool):
    """Open an issue in the repository."""

    description: ClassVar[str] = "Open a new issue in this repository"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "body": {"type": "string", "description": "Markdown"},
            "labels": {"type": "array", "items": {"type": "string"}, "description": "Existing label names"},
        },
        "required": ["title", "body"],
    }

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Open it (labels must exist)."""
        title = self.scope.clean(str_arg(args, "title")).strip().replace("\n", " ")[:250]
        if not title:
            raise ToolError("title is empty")
        labels = _labels_arg(args) if args.get("labels") else []
        if labels:
            known = {name.lower(): name for name in _call(self.scope.automation.labels)}
            labels = [known[x.lower()] for x in labels if x.lower() in known]
        issue = _call(
            self.scope.automation.create_issue, title, self.scope.clean(str_arg(args, "body")), labels
        )
        self.scope.did(f"opened issue #{issue.number}: {issue.url}")
        return _json({"success": True, "issue_number": issue.number, "html_url": issue.url})


class UpdateClaudeComment(Tool):
    """claude-code-action's ``update_claude_comment``: the tracking comment's progress section."""

    description: ClassVar[str] = (
        "Update the Claude comment with progress and results "
        "(automatically handles both issue and PR comments)"
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"body": {"type": "string", "description": "The updated comment content"}},
        "required": ["body"],
    }
    read_only: ClassVar[bool] = False

    def __init__(self, update: Callable[[str], bool], url: Callable[[], str | None]) -> None:
        self.update, self.url = update, url

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Show ``body`` as the comment's progress (throttled: the latest is always shown); the
        runner keeps the comment's header and writes the final answer itself."""
        shown = self.update(str_arg(args, "body"))
        return _json({"success": True, "html_url": self.url(), "updated": "now" if shown else "shortly"})


def action_tools(scope: ActionScope) -> list[Tool]:
    """The platform action tools of ``scope.platform``, named for it."""
    p = scope.platform
    tools: list[Tool] = []
    for cls, name in (
        (CreateComment, f"mcp__{p}_comment__create_comment"),
        (AddLabels, f"mcp__{p}_issues__add_labels"),
        (RemoveLabels, f"mcp__{p}_issues__remove_labels"),
        (CreateIssue, f"mcp__{p}_issues__create_issue"),
    ):
        named = type(cls.__name__, (cls,), {"name": name})
        tools.append(named(scope))
    return tools


def update_comment_tool(platform: str, update: Callable[[str], bool], url: Callable[[], str | None]) -> Tool:
    """``mcp__<platform>_comment__update_claude_comment`` over the tracking comment."""
    named = type(
        "UpdateClaudeComment",
        (UpdateClaudeComment,),
        {"name": f"mcp__{platform}_comment__update_claude_comment"},
    )
    tool: Tool = named(update, url)
    return tool
