"""Background commands: ``Bash`` with ``run_in_background``, read with ``TaskOutput`` and
stopped with ``TaskStop`` (Claude Code's current names; ``BashOutput`` and ``KillShell``, the
names before, are accepted as aliases with their ``bash_id`` / ``shell_id`` parameters).

Each command runs like a foreground one (``bash -c`` in its own session and process group,
the tools' environment, the OS sandbox when on). A thread per command reads its output into a
buffer that keeps the newest ``MAX_BUFFER_BYTES``; ``TaskOutput`` returns what is new since
the last read. Every command still running is stopped, its whole group, when the run ends
(``BackgroundShells.stop_all``, called on every way out of ``execute_run``).
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult, bool_arg, int_arg, str_arg
from runner.agent.tools.bash import kill_group

MAX_BUFFER_BYTES = 1024 * 1024  # per command: older output is dropped first
MAX_READ_CHARS = 30_000  # one TaskOutput answer: the newest part is kept
MAX_SHELLS = 16
DEFAULT_WAIT_MS = 30_000
MAX_WAIT_MS = 600_000


@dataclass
class _Shell:
    id: str
    command: str
    proc: subprocess.Popen[bytes]
    buffer: bytearray = field(default_factory=bytearray)
    dropped: int = 0  # bytes dropped from the front of the buffer
    read_to: int = 0  # absolute offset TaskOutput has returned up to
    stopped: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class BackgroundShells:
    """The run's background commands; thread-safe."""

    def __init__(self) -> None:
        self._shells: dict[str, _Shell] = {}
        self._count = 0
        self._lock = threading.Lock()

    def start(self, command: str, argv: Sequence[str], tool_env: Mapping[str, str], cwd: str) -> str:
        """Start ``argv`` in its own process group; returns its id."""
        with self._lock:
            running = sum(1 for s in self._shells.values() if s.proc.poll() is None)
            if running >= MAX_SHELLS:
                raise ToolError(f"{running} background commands are running already; stop one with TaskStop")
            self._count += 1
            shell_id = f"bash_{self._count}"
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(tool_env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ToolError(f"could not start bash: {exc}") from exc
        shell = _Shell(shell_id, command, proc)
        with self._lock:
            self._shells[shell_id] = shell
        threading.Thread(target=_pump, args=(shell,), name=f"output of {shell_id}", daemon=True).start()
        return shell_id

    def get(self, shell_id: str) -> _Shell:
        """The command ``shell_id``, or ``ToolError`` listing the known ids."""
        with self._lock:
            shell = self._shells.get(shell_id)
            known = ", ".join(self._shells) or "none"
        if shell is None:
            raise ToolError(f"no background command with id `{shell_id}` (known: {known})")
        return shell

    def stop(self, shell_id: str) -> _Shell:
        """Stop the command's whole process group (SIGTERM, then SIGKILL)."""
        shell = self.get(shell_id)
        if shell.proc.poll() is None:
            shell.stopped = True
        kill_group(shell.proc)
        shell.done.wait(1.0)
        return shell

    def stop_all(self) -> None:
        """Stop every command still running (the end of the run)."""
        with self._lock:
            ids = list(self._shells)
        for shell_id in ids:
            self.stop(shell_id)


def _pump(shell: _Shell) -> None:
    assert shell.proc.stdout is not None
    fd = shell.proc.stdout.fileno()
    try:
        while chunk := os.read(fd, 65536):
            with shell.lock:
                shell.buffer += chunk
                excess = len(shell.buffer) - MAX_BUFFER_BYTES
                if excess > 0:
                    del shell.buffer[:excess]
                    shell.dropped += excess
    except OSError:
        pass
    finally:
        shell.proc.stdout.close()
        shell.proc.wait()
        shell.done.set()


def _new_output(shell: _Shell) -> tuple[str, int]:
    """The output not returned yet, and how many bytes of it were dropped from the buffer."""
    with shell.lock:
        start = max(shell.read_to, shell.dropped)
        lost = start - shell.read_to
        data = bytes(shell.buffer[start - shell.dropped :])
        shell.read_to = shell.dropped + len(shell.buffer)
    return data.decode("utf-8", "replace"), lost


def _status(shell: _Shell) -> str:
    code = shell.proc.poll()
    if code is None:
        return "running"
    if shell.stopped:
        return "killed"
    return "completed (exit code 0)" if code == 0 else f"failed (exit code {code})"


class TaskOutput(Tool):
    """Read a background command's new output and status."""

    name: ClassVar[str] = "TaskOutput"
    aliases: ClassVar[tuple[str, ...]] = ("BashOutput",)
    description: ClassVar[str] = (
        "Get the output of a background command started with Bash run_in_background: what it printed "
        "since the last call, and whether it still runs. block (default true) waits up to timeout ms "
        "(default 30000) for it to finish; filter keeps only lines matching a regular expression."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "task_id": {"type": "string", "description": "The id Bash returned"},
            "block": {"type": "boolean", "description": "Wait for the command to finish (default true)"},
            "timeout": {"type": "integer", "description": "How long to wait in ms (default 30000)"},
            "filter": {"type": "string", "description": "Only lines matching this regular expression"},
            "bash_id": {"type": "string", "description": "Deprecated name of task_id"},
        },
        "additionalProperties": False,
    }
    needs_permission: ClassVar[bool] = False  # it reads what an allowed Bash call started

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Wait if asked, then return the new output."""
        shells = _shells(ctx)
        shell_id = str_arg(args, "task_id", required=False) or str_arg(args, "bash_id", required=False)
        if not shell_id:
            raise ToolError("missing required parameter: task_id")
        shell = shells.get(shell_id)
        # BashOutput never waited; TaskOutput waits by default.
        if bool_arg(args, "block", default="bash_id" not in args):
            wait_ms = min(int_arg(args, "timeout", default=DEFAULT_WAIT_MS) or 0, MAX_WAIT_MS)
            if ctx.deadline is not None:
                wait_ms = min(wait_ms, max(0, int((ctx.deadline - time.monotonic()) * 1000)))
            shell.done.wait(wait_ms / 1000)
        pattern = str_arg(args, "filter", required=False)
        text, lost = _new_output(shell)
        if pattern:
            try:
                regex = re.compile(pattern)
            except re.error as exc:
                raise ToolError(f"filter is not a valid regular expression: {exc}") from exc
            text = "\n".join(line for line in text.splitlines() if regex.search(line))
        if len(text) > MAX_READ_CHARS:
            lost += len(text[:-MAX_READ_CHARS].encode())
            text = text[-MAX_READ_CHARS:]
        head = f"[{shell.id}: {_status(shell)}]"
        if lost:
            head += f"\n[... {lost} bytes of earlier output omitted ...]"
        return ToolResult(f"{head}\n{text.rstrip()}" if text.strip() else f"{head}\n(no new output)")


class TaskStop(Tool):
    """Stop a background command."""

    name: ClassVar[str] = "TaskStop"
    aliases: ClassVar[tuple[str, ...]] = ("KillShell",)
    description: ClassVar[str] = (
        "Stop a background command started with Bash run_in_background, and its children."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "task_id": {"type": "string", "description": "The id Bash returned"},
            "shell_id": {"type": "string", "description": "Deprecated name of task_id"},
        },
        "additionalProperties": False,
    }
    needs_permission: ClassVar[bool] = False

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Stop the command's process group."""
        shell_id = str_arg(args, "task_id", required=False) or str_arg(args, "shell_id", required=False)
        if not shell_id:
            raise ToolError("missing required parameter: task_id")
        shell = _shells(ctx).stop(shell_id)
        return ToolResult(f"Stopped {shell.id} ({shell.command[:200]}): {_status(shell)}.")


def _shells(ctx: ToolContext) -> BackgroundShells:
    if ctx.background is None:
        raise ToolError("background commands are not available in this run")
    return ctx.background
