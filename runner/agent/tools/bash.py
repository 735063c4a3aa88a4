"""Bash: one shell command per call, in the workspace, with a timeout and an output cap.

The command runs as ``bash -c`` in its own session (its own process group), with the
tools' environment and stdin from /dev/null; with the OS sandbox on, inside it
(``runner.agent.sandbox``: the group is then bwrap's, and the sandbox dies with bwrap).
On timeout the whole group is stopped, SIGTERM first and SIGKILL after a grace period, so
children that ignore SIGTERM and grandchildren go too. Output is read in chunks and only its
head and tail are kept, so a command printing gigabytes costs little memory; background
processes that keep the pipe open after the shell exits are stopped after a short grace
instead of hanging the call.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult, bool_arg, int_arg, str_arg

MAX_OUTPUT_BYTES = 30_000  # head and tail halves are kept; the middle is dropped
KILL_GRACE_S = 1.0  # between SIGTERM and SIGKILL
PIPE_GRACE_S = 1.0  # how long background children may hold the output open after the shell exits
_POLL_S = 0.1  # how often to check whether the shell exited while its output is still open


class _HeadTail:
    """The first and last bytes of a stream, and how much was dropped between them."""

    def __init__(self, limit: int = MAX_OUTPUT_BYTES) -> None:
        self.head_max = limit // 2
        self.tail_max = limit - self.head_max
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped_bytes = 0
        self.dropped_lines = 0

    def add(self, chunk: bytes) -> None:
        room = self.head_max - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self.tail += chunk
        excess = len(self.tail) - self.tail_max
        if excess > 0:
            self.dropped_lines += self.tail.count(b"\n", 0, excess)
            self.dropped_bytes += excess
            del self.tail[:excess]

    def text(self) -> str:
        if not self.dropped_bytes:  # decoded together: a character split between the halves survives
            return (self.head + self.tail).decode("utf-8", "replace")
        head = self.head.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        gap = f"[... {self.dropped_bytes} bytes ({self.dropped_lines} lines) of output omitted ...]"
        return f"{head}\n\n{gap}\n\n{tail}"


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _group_running(pgid: int) -> bool:
    """Whether a process of the group still runs; zombies waiting for PID 1 to reap them do not count."""
    if not _signal_group(pgid, 0):
        return False
    if not os.path.isdir("/proc/self"):
        return True  # no procfs: all we know is that the group exists
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "stat"), "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ")".
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] not in (b"Z", b"X"):
            return True
    return False


def _wait_group(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    """Wait until no process of the command's group runs; False if some still do after ``seconds``."""
    end = time.monotonic() + seconds
    while True:
        proc.poll()  # reap the shell, our own child
        if not _group_running(proc.pid):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.02)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop the command's whole process group: SIGTERM, a grace period, then SIGKILL."""
    pgid = proc.pid  # start_new_session: the shell leads its own group
    if _signal_group(pgid, signal.SIGTERM) and not _wait_group(proc, KILL_GRACE_S):
        _signal_group(pgid, signal.SIGKILL)
        _wait_group(proc, KILL_GRACE_S)  # SIGKILL is delivered asynchronously: return once they are gone
    proc.wait()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _bash() -> str:
    return shutil.which("bash") or "/bin/bash"


class Bash(Tool):
    """Claude Code's Bash tool."""

    name: ClassVar[str] = "Bash"
    description: ClassVar[str] = (
        "Run a bash command in the workspace root. Each call is a fresh shell (cd and variables do not "
        "persist); stdin is empty. Output is stdout and stderr together, cut to 30000 characters. "
        "Default timeout 2 minutes, max 10 (unless configured otherwise). run_in_background starts the "
        "command and returns its id at once: read its output with TaskOutput, stop it with TaskStop; it "
        "is stopped when the run ends."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The command to run"},
            "timeout": {"type": "integer", "description": "Timeout in milliseconds (max 600000)"},
            "description": {"type": "string", "description": "What the command does, in a few words"},
            "run_in_background": {"type": "boolean", "description": "Run without waiting for it to end"},
        },
        "required": ["command"],
        "additionalProperties": False,
    }
    read_only: ClassVar[bool] = False

    def __init__(self, allowed: Sequence[str] = ()) -> None:
        # The allow rules in force, shown to the model so it does not spend turns on denied commands.
        self.allowed = tuple(allowed)

    def definition(self) -> dict[str, Any]:
        """The tool, with the allow rules in force when only some commands may run."""
        definition = super().definition()
        if self.allowed:
            rules = ", ".join(f"`{rule}`" for rule in self.allowed)
            definition["description"] = f"{self.description} Allowed commands: {rules}; others are denied."
        return definition

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Run the command; a non-zero exit or a timeout is an error result with the output."""
        command = str_arg(args, "command")
        if not command.strip():
            raise ToolError("command is empty")
        if bool_arg(args, "run_in_background"):
            return _start_background(command, ctx)
        default_ms = min(ctx.bash_default_timeout_ms, ctx.bash_max_timeout_ms)
        timeout_ms = min(
            int_arg(args, "timeout", default=default_ms, minimum=1) or 1, ctx.bash_max_timeout_ms
        )
        limit_s = timeout_ms / 1000
        clamped = False
        if ctx.deadline is not None:
            remaining = ctx.deadline - time.monotonic()
            if remaining <= 0:
                raise ToolError("the run's time limit has been reached; no more commands can run")
            if remaining < limit_s:
                limit_s, clamped = remaining, True

        output = _HeadTail()
        argv, run_env = [_bash(), "-c", command], dict(ctx.subprocess_env)
        mark = 0
        if ctx.sandbox is not None:
            argv, run_env = ctx.sandbox.wrap(command, argv, run_env)
            mark = ctx.sandbox.mark()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=ctx.cwd,
                env=run_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ToolError(f"could not start bash: {exc}") from exc
        finished = False
        try:
            timed_out, lingering = _collect(proc, output, limit_s)
            finished = not (timed_out or lingering)
        finally:
            if not finished:
                kill_group(proc)  # timeout, children holding the pipe, or an interrupted runner
            if proc.stdout is not None:
                _drain(proc.stdout.fileno(), output)
                proc.stdout.close()

        text = output.text().rstrip("\n")
        if ctx.sandbox is not None and (note := ctx.sandbox.note(mark, text)):
            text = f"{text}\n{note}" if text else note
        if timed_out:
            why = " (the run's remaining time)" if clamped else ""
            head = (
                f"Command timed out after {round(limit_s * 1000)} ms{why}; it and its child processes "
                "were killed."
            )
            return ToolResult(f"{head}\n{text}" if text else head, is_error=True)
        if lingering:
            text += (
                "\n[background processes still holding the output were stopped; redirect their output "
                "(cmd > log 2>&1 &) to keep them running]"
            )
        code = proc.returncode
        if code == 0:
            return ToolResult(text or "(no output)")
        status = f"Killed by signal {_signal_name(-code)}" if code < 0 else f"Exit code {code}"
        return ToolResult(f"{status}\n{text}" if text else status, is_error=True)


def _start_background(command: str, ctx: ToolContext) -> ToolResult:
    if ctx.background is None:
        raise ToolError("run_in_background is not available in this run; run the command without it")
    if ctx.deadline is not None and ctx.deadline <= time.monotonic():
        raise ToolError("the run's time limit has been reached; no more commands can run")
    argv, run_env = [_bash(), "-c", command], dict(ctx.subprocess_env)
    if ctx.sandbox is not None:
        argv, run_env = ctx.sandbox.wrap(command, argv, run_env)
    shell_id = ctx.background.start(command, argv, run_env, str(ctx.cwd))
    return ToolResult(
        f"Command running in background with ID: {shell_id}. Read its output with TaskOutput "
        f'(task_id "{shell_id}"); stop it with TaskStop.'
    )


def _collect(proc: subprocess.Popen[bytes], output: _HeadTail, limit_s: float) -> tuple[bool, bool]:
    """Read the merged output until EOF; returns (timed out, background children held the pipe)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    end = time.monotonic() + limit_s
    exited_at: float | None = None
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if now >= end:
                return True, False
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at >= PIPE_GRACE_S:
                return False, True
            if sel.select(min(end - now, _POLL_S)):
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                output.add(chunk)
    # EOF: every writer closed the pipe; the shell may still run (e.g. after `exec >&-`).
    try:
        proc.wait(timeout=max(0.0, end - time.monotonic()))
    except subprocess.TimeoutExpired:
        return True, False
    return False, False


def _drain(fd: int, output: _HeadTail, seconds: float = 0.2) -> None:
    """Read what is left in the pipe after the group was stopped, without waiting on escapees."""
    end = time.monotonic() + seconds
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while (left := end - time.monotonic()) > 0 and sel.select(left):
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            output.add(chunk)
