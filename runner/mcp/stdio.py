"""The stdio transport: a server as a child process in its own process group, JSON-RPC lines on
its stdin and stdout.

The SDK's own stdio client stops a server politely and kills its group only when the server does
not exit; a server that exits but left a child behind would leak it. Here the whole group is
killed whenever the connection ends, and every group is reported to ``on_spawn`` so the owner can
kill what is left even if this coroutine never gets to run its cleanup.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import IO, Any

import anyio
import mcp_types
from anyio.abc import Process
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage

EXIT_GRACE_S = 1.0  # after stdin closes, before the group is signalled
TERM_GRACE_S = 1.0  # after SIGTERM, before SIGKILL
_MAX_LINE = 64 * 1024 * 1024  # a server that never ends a line must not eat the runner's memory


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a whole process group; gone already is fine."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    """Whether any process of the group is left."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@asynccontextmanager
async def stdio_streams(
    argv: Sequence[str],
    server_env: Mapping[str, str],
    cwd: Path,
    stderr: IO[Any],
    on_spawn: Callable[[int], None],
) -> AsyncIterator[
    tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]
]:
    """Start the server and yield the session's streams; on exit, stop it and its whole group."""
    process = await anyio.open_process(
        list(argv), env=dict(server_env), cwd=cwd, stderr=stderr, start_new_session=True
    )
    on_spawn(process.pid)
    incoming_send, incoming = anyio.create_memory_object_stream[SessionMessage | Exception](16)
    outgoing, outgoing_receive = anyio.create_memory_object_stream[SessionMessage](16)

    async def read() -> None:
        assert process.stdout is not None
        buffer = b""
        async with incoming_send:
            with suppress(anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                async for chunk in process.stdout:
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    if len(buffer) > _MAX_LINE:
                        await incoming_send.send(ValueError("the server wrote a line over 64 MiB"))
                        return
                    for line in lines:
                        if line.strip():
                            await incoming_send.send(_message(line))

    async def write() -> None:
        assert process.stdin is not None
        async with outgoing_receive:
            with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                async for message in outgoing_receive:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await process.stdin.send(data.encode() + b"\n")

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(read)
        tasks.start_soon(write)
        try:
            yield incoming, outgoing
        finally:
            with anyio.CancelScope(shield=True):
                await _stop(process)
            tasks.cancel_scope.cancel()


def _message(line: bytes) -> SessionMessage | Exception:
    try:
        return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as exc:  # a log line on stdout: the session reports it and goes on
        return exc


async def _stop(process: Process) -> None:
    """Close stdin and give the server a moment to exit; then the group gets SIGTERM, then
    SIGKILL. The group is signalled even when the server exited: its children may not have."""
    if process.stdin is not None:
        with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            await process.stdin.aclose()
    with anyio.move_on_after(EXIT_GRACE_S):
        while process.returncode is None:
            await anyio.sleep(0.02)
    kill_group(process.pid, signal.SIGTERM)
    with anyio.move_on_after(TERM_GRACE_S):
        while group_alive(process.pid):
            _ = process.returncode  # reaps the leader, so a zombie does not keep the group "alive"
            await anyio.sleep(0.02)
    kill_group(process.pid)
    with anyio.move_on_after(TERM_GRACE_S):
        await process.wait()
    for stream in (process.stdout, process.stdin):
        if stream is not None:
            with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await stream.aclose()
