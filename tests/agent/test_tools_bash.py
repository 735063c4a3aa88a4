"""Bash: real subprocesses, real timeouts, real process groups.

No test here times the tool: the commands that must be cut short would outlast the test's own
timeout, so the call returning at all shows they were. How fast is bench/timeouts.py's business.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from runner.agent.tools.base import ToolContext, ToolError, ToolResult
from runner.agent.tools.bash import Bash


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(
        cwd=Path(os.path.realpath(tmp_path)), subprocess_env={"PATH": os.environ["PATH"], "GREETING": "hi"}
    )


def bash(ctx: ToolContext, command: str, **args: object) -> ToolResult:
    return Bash().run({"command": command, **args}, ctx)


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped is dead)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def pids(text: str) -> list[int]:
    return [int(p) for p in re.findall(r"pid=(\d+)", text)]


def test_output_cwd_and_env(ctx: ToolContext) -> None:
    result = bash(ctx, 'echo "$GREETING from $(pwd)"; echo oops >&2')
    assert result.content == f"hi from {ctx.cwd}\noops"
    assert not result.is_error
    assert bash(ctx, "true").content == "(no output)"


def test_stdin_is_empty_so_reading_it_does_not_hang(ctx: ToolContext) -> None:
    # A stdin left open would block `cat` past the test's timeout (the tool's is 10 minutes here).
    assert bash(ctx, "cat; read x || echo eof", timeout=600_000).content == "eof"


def test_nonzero_exit_is_an_error_with_the_code_and_output(ctx: ToolContext) -> None:
    result = bash(ctx, "echo partial; ls /no/such/dir; exit 3")
    assert result.is_error
    assert isinstance(result.content, str)
    assert result.content.startswith("Exit code 3\npartial\nls: cannot access '/no/such/dir'")


def test_timeout_kills_children_and_grandchildren_even_if_they_ignore_sigterm(ctx: ToolContext) -> None:
    command = (
        "(trap '' TERM; exec sleep 1000) & echo pid=$!; "  # a child that ignores SIGTERM
        "bash -c 'sleep 1000 & echo pid=$!; wait' & "  # a grandchild
        "sleep 1000"
    )
    result = bash(ctx, command, timeout=500)
    assert result.is_error
    assert isinstance(result.content, str)
    assert result.content.startswith(
        "Command timed out after 500 ms; it and its child processes were killed."
    )
    children = pids(result.content)
    assert len(children) == 2
    assert not any(running(pid) for pid in children)


def test_background_child_holding_the_pipe_does_not_hang_the_call(ctx: ToolContext) -> None:
    result = bash(ctx, "sleep 1000 & echo pid=$!")
    assert not result.is_error
    assert isinstance(result.content, str)
    assert result.content.startswith("pid=")
    assert "background processes still holding the output were stopped" in result.content
    assert not running(pids(result.content)[0])


def test_background_child_with_redirected_output_keeps_running(ctx: ToolContext) -> None:
    result = bash(ctx, "sleep 30 > /dev/null 2>&1 & echo pid=$!")
    assert isinstance(result.content, str)
    pid = pids(result.content)[0]
    try:
        assert result.content == f"pid={pid}"
        assert running(pid)
    finally:
        os.kill(pid, signal.SIGKILL)


def test_output_is_capped_keeping_head_and_tail(ctx: ToolContext) -> None:
    result = bash(ctx, "seq 1 200000")
    assert isinstance(result.content, str)
    assert len(result.content) < 31_000
    assert result.content.startswith("1\n2\n3\n")
    assert result.content.endswith("199999\n200000")
    assert re.search(r"\[\.\.\. \d+ bytes \(\d+ lines\) of output omitted \.\.\.\]", result.content)


def test_huge_output_is_streamed_not_buffered(ctx: ToolContext) -> None:
    result = bash(ctx, "head -c 100000000 /dev/zero | tr '\\0' a; echo; echo done")
    assert isinstance(result.content, str)
    assert len(result.content) < 31_000 and result.content.endswith("a\ndone")


def test_deadline_clamps_the_timeout(ctx: ToolContext) -> None:
    clamped = ToolContext(cwd=ctx.cwd, subprocess_env=ctx.subprocess_env, deadline=time.monotonic() + 0.5)
    result = bash(clamped, "sleep 1000")  # unclamped, the default 2-minute timeout would apply
    assert result.is_error
    assert isinstance(result.content, str)
    limit = re.match(r"Command timed out after (\d+) ms \(the run's remaining time\)", result.content)
    assert limit and int(limit[1]) <= 500


def test_no_command_runs_after_the_deadline(ctx: ToolContext, tmp_path: Path) -> None:
    late = ToolContext(cwd=ctx.cwd, subprocess_env=ctx.subprocess_env, deadline=time.monotonic() - 1)
    with pytest.raises(ToolError, match="time limit has been reached"):
        bash(late, "touch ran")
    assert not (tmp_path / "ran").exists()


def test_bad_arguments(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="command is empty"):
        bash(ctx, "   ")
    with pytest.raises(ToolError, match="timeout must be at least 1"):
        bash(ctx, "true", timeout=0)
    with pytest.raises(ToolError, match="missing required parameter: command"):
        Bash().run({}, ctx)
