"""What every tool is: a name and input schema in Claude Code's language, and a run.

Tools never raise for a model mistake: they raise ``ToolError`` (or return a result with
``is_error``) and the loop hands the message back to the model as a ``tool_result``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from runner.agent.tools.background import BackgroundShells
    from runner.agent.tools.web import WebAccess

BASH_DEFAULT_TIMEOUT_MS = 120_000  # Claude Code's defaults; BASH_DEFAULT_TIMEOUT_MS / BASH_MAX_TIMEOUT_MS
BASH_MAX_TIMEOUT_MS = 600_000


class ToolError(Exception):
    """A tool call failed in a way the model can fix; the message is shown to it."""


class CommandSandbox(Protocol):
    """Where shell commands run when the OS sandbox is on (``runner.agent.sandbox.Sandbox``)."""

    def wrap(
        self, command: str, argv: Sequence[str], tool_env: Mapping[str, str]
    ) -> tuple[list[str], dict[str, str]]: ...

    def mark(self) -> int: ...

    def note(self, mark: int, output: str) -> str: ...


class ReadLedger:
    """The files read (or written) in this run: Write and Edit refuse an existing file not in it,
    as Claude Code does, so the model never overwrites what it has not seen."""

    def __init__(self) -> None:
        self._paths: set[Path] = set()

    def add(self, path: Path) -> None:
        """Record ``path`` (a real path) as seen by the model."""
        self._paths.add(path)

    def __contains__(self, path: object) -> bool:
        return path in self._paths


@dataclass(frozen=True)
class ToolContext:
    """What a tool may use: confined roots, a scrubbed environment, the run deadline."""

    cwd: Path  # the workspace root, already resolved to a real path
    add_dirs: tuple[Path, ...] = ()  # extra roots from --add-dir, resolved
    subprocess_env: Mapping[str, str] = field(default_factory=dict)  # scrubbed environment for subprocesses
    deadline: float | None = None  # time.monotonic() at which the run stops; Bash clamps to it
    sandbox: CommandSandbox | None = None  # the OS sandbox Bash commands run in; None: none
    # Shared by every copy of the context (dataclasses.replace keeps it): one ledger per run.
    read_files: ReadLedger = field(default_factory=ReadLedger)
    background: BackgroundShells | None = None  # Bash run_in_background; None: not offered
    bash_default_timeout_ms: int = BASH_DEFAULT_TIMEOUT_MS
    bash_max_timeout_ms: int = BASH_MAX_TIMEOUT_MS
    web: WebAccess | None = None  # what WebFetch may reach; None: the defaults
    tool_use_id: str = ""  # the call a tool is running (a subagent's messages name it)

    @property
    def roots(self) -> tuple[Path, ...]:
        """Every directory the file tools may touch."""
        return (self.cwd, *self.add_dirs)


@dataclass
class ToolResult:
    """A tool's answer: text, or content blocks (e.g. an image), and whether it failed."""

    content: str | list[dict[str, Any]]
    is_error: bool = False
    # Calls denied while this one ran (a subagent's), for the run's `permission_denials`.
    denials: list[dict[str, Any]] = field(default_factory=list)

    def to_block(self, tool_use_id: str) -> dict[str, Any]:
        """The ``tool_result`` content block sent back to the model."""
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id, "content": self.content}
        if self.is_error:
            block["is_error"] = True
        return block


class Tool:
    """Base class: subclasses set the class attributes and implement ``run``."""

    name: ClassVar[str]
    description: ClassVar[str]
    input_schema: ClassVar[dict[str, Any]]
    read_only: ClassVar[bool] = True  # False for tools that change files or run commands
    edits_files: ClassVar[bool] = False  # True for Write, Edit, MultiEdit (Edit rules apply)
    # False for the runner's own tools (progress, structured output): they touch nothing
    # the permission rules govern.
    needs_permission: ClassVar[bool] = True
    aliases: ClassVar[tuple[str, ...]] = ()  # former names a model may still call it by
    concurrent: ClassVar[bool] = False  # calls of it in one turn may run at once (agent/tool_batch.py)

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Execute one call. Raise ``ToolError`` for errors the model should see."""
        raise NotImplementedError

    def definition(self) -> dict[str, Any]:
        """The tool as sent in the Messages API ``tools`` list."""
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}


def str_arg(args: Mapping[str, Any], key: str, *, required: bool = True, default: str = "") -> str:
    """A string parameter, or ``ToolError`` naming it when it is missing or not a string."""
    value = args.get(key)
    if value is None:
        if required:
            raise ToolError(f"missing required parameter: {key}")
        return default
    if not isinstance(value, str):
        raise ToolError(f"parameter {key} must be a string")
    return value


def int_arg(args: Mapping[str, Any], key: str, *, default: int | None = None, minimum: int = 0) -> int | None:
    """An optional integer parameter (numeric strings accepted: models sometimes quote numbers)."""
    value = args.get(key)
    if value is None:
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ToolError(f"parameter {key} must be an integer")
    if value < minimum:
        raise ToolError(f"parameter {key} must be at least {minimum}")
    return value


def bool_arg(args: Mapping[str, Any], key: str, *, default: bool = False) -> bool:
    """An optional boolean parameter ("true"/"false" strings accepted)."""
    value = args.get(key)
    if value is None:
        return default
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise ToolError(f"parameter {key} must be a boolean")
    return value
