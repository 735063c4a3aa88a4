"""Connections to a run's MCP servers, on the official ``mcp`` SDK, for a synchronous caller.

The SDK is asynchronous; the agent loop is not. One event loop runs in a thread of its own and
holds every session: each server is one task that connects, lists the tools, and then stays open
until ``close``. Servers start in parallel; one that fails, or does not answer within the start
timeout (``MCP_TIMEOUT``), is marked failed and stopped, and the others go on. The loop's
thread blocks only while it waits for a call's answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
import mcp_types
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError

from runner.mcp.config import ServerConfig
from runner.mcp.stdio import EXIT_GRACE_S, TERM_GRACE_S, kill_group, stdio_streams

T = TypeVar("T")
CLIENT_INFO = mcp_types.Implementation(name="claude-runner", version="0.1.0")
_MAX_PAGES = 100  # a server whose listing never ends must not hang the start
_STOP_WAIT_S = EXIT_GRACE_S + 2 * TERM_GRACE_S + 3.0

# How a stdio server is launched: its argv and environment (the sandbox wraps them).
Launch = Callable[[ServerConfig], tuple[list[str], dict[str, str]]]


class McpCallError(Exception):
    """A call that got no answer: the server failed, timed out or is gone. Shown to the model."""


@dataclass
class ServerState:
    """One server of the run: how it went, and what it offers once connected."""

    config: ServerConfig
    status: str = "pending"  # "connected" or "failed" once started
    error: str = ""
    tools: list[mcp_types.Tool] = field(default_factory=list)
    has_resources: bool = False
    instructions: str = ""
    log: Path | None = None  # a stdio server's stderr
    process_group: int | None = None  # a stdio server's, killed with everything in it at the end
    session: ClientSession | None = field(default=None, repr=False)
    scope: anyio.CancelScope | None = field(default=None, repr=False)
    started: concurrent.futures.Future[None] = field(default_factory=concurrent.futures.Future, repr=False)
    ended: concurrent.futures.Future[None] = field(default_factory=concurrent.futures.Future, repr=False)


class McpClient:
    """The sessions of one run; ``start`` once, call, then ``close`` (on every way out)."""

    def __init__(self, *, startup_timeout_s: float, launch: Launch, cwd: Path) -> None:
        self.startup_timeout_s = startup_timeout_s
        self.launch = launch
        self.cwd = cwd
        self.servers: dict[str, ServerState] = {}
        self._logs = Path(tempfile.mkdtemp(prefix="claude-runner-mcp-"))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mcp-client", daemon=True)
        self._thread.start()
        self._closed = False

    def start(self, configs: Sequence[ServerConfig]) -> list[ServerState]:
        """Connect to every server at once; returns when each is connected or has failed."""
        states = [ServerState(config) for config in configs]
        for state in states:
            self.servers[state.config.name] = state
            asyncio.run_coroutine_threadsafe(self._serve(state), self._loop)
        # Each task also enforces the timeout, but stopping a server takes a moment: not waited for.
        concurrent.futures.wait([s.started for s in states], timeout=self.startup_timeout_s + 0.5)
        for state in states:
            if state.status == "pending":
                state.status, state.error = "failed", self._timeout_text()
                self._loop.call_soon_threadsafe(_cancel, state)
        return states

    def call(
        self, server: str, request: Callable[[ClientSession], Awaitable[T]], timeout_s: float | None
    ) -> T:
        """Run ``request`` on ``server``'s session and wait for its answer (at most ``timeout_s``)."""
        state = self.servers.get(server)
        if state is None or state.session is None or state.status != "connected":
            raise McpCallError(f"MCP server {server!r} is not connected")
        session = state.session

        async def bounded() -> T:
            with anyio.fail_after(timeout_s if timeout_s is not None else math.inf):
                return await request(session)

        future = asyncio.run_coroutine_threadsafe(bounded(), self._loop)
        try:
            return future.result()
        except TimeoutError as exc:
            raise McpCallError(f"no answer from MCP server {server!r} within {timeout_s:g} s") from exc
        except MCPError as exc:
            raise McpCallError(f"MCP server {server!r} answered with an error: {exc.error.message}") from exc
        except (OSError, anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            raise McpCallError(f"MCP server {server!r} is gone: {describe(exc)}") from exc
        except Exception as exc:  # a malformed answer, a request the runner cannot serve
            raise McpCallError(f"MCP server {server!r}: {describe(exc)}") from exc

    def close(self) -> None:
        """Stop every server and its children, then the loop; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        for state in self.servers.values():
            self._loop.call_soon_threadsafe(_cancel, state)
        concurrent.futures.wait([s.ended for s in self.servers.values()], timeout=_STOP_WAIT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=2.0)
        if not self._thread.is_alive():
            self._loop.close()
        for state in self.servers.values():  # a server whose own cleanup did not finish
            if state.process_group is not None and not state.ended.done():
                kill_group(state.process_group)
        shutil.rmtree(self._logs, ignore_errors=True)

    def _timeout_text(self) -> str:
        return f"did not start within {self.startup_timeout_s:g} s (MCP_TIMEOUT)"

    async def _serve(self, state: ServerState) -> None:
        """Connect, list, and hold the session open until cancelled."""
        deadline = anyio.current_time() + self.startup_timeout_s
        try:
            with anyio.CancelScope(deadline=deadline) as scope:
                state.scope = scope
                try:
                    async with AsyncExitStack() as stack:
                        session = await self._connect(state, stack)
                        result = await session.initialize()
                        capabilities = result.capabilities
                        if capabilities.tools is not None:
                            state.tools = await _all_tools(session)
                        state.has_resources = capabilities.resources is not None
                        state.instructions = result.instructions or ""
                        if state.status != "pending":  # given up on by ``start`` meanwhile
                            return
                        state.session, state.status = session, "connected"
                        scope.deadline = math.inf
                        _resolve(state.started)
                        await anyio.sleep_forever()
                except Exception as exc:  # any failure of one server is that server's
                    if state.status == "pending":
                        state.status, state.error = "failed", self._failure(state, exc)
            if scope.cancelled_caught and state.status == "pending":
                state.status, state.error = "failed", self._timeout_text()
        finally:
            state.session = None
            _resolve(state.started)
            _resolve(state.ended)

    async def _connect(self, state: ServerState, stack: AsyncExitStack) -> ClientSession:
        config = state.config
        if config.transport == "stdio":
            argv, server_env = self.launch(config)
            state.log = self._logs / f"{id(state)}.stderr"
            log = stack.enter_context(open(state.log, "wb"))  # noqa: SIM115

            def spawned(pgid: int) -> None:
                state.process_group = pgid

            streams: tuple[Any, Any] = await stack.enter_async_context(
                stdio_streams(argv, server_env, self.cwd, log, spawned)
            )
        elif config.transport == "http":
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            http = await stack.enter_async_context(create_mcp_http_client(headers=dict(config.headers)))
            streams = await stack.enter_async_context(streamable_http_client(config.url, http_client=http))
        else:
            from mcp.client.sse import sse_client

            streams = await stack.enter_async_context(sse_client(config.url, headers=dict(config.headers)))
        return await stack.enter_async_context(ClientSession(*streams, client_info=CLIENT_INFO))

    def _failure(self, state: ServerState, exc: BaseException) -> str:
        text = describe(exc)
        if state.log is not None:
            tail = _last_line(state.log)
            if tail:
                text += f"; its stderr ends: {tail}"
        return text


def describe(exc: BaseException) -> str:
    """One line for an exception (the first of a group), for a report or the model."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, MCPError):
        return exc.error.message
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"command not found: {exc.filename}"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


async def _all_tools(session: ClientSession) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools += page.tools
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _resolve(future: concurrent.futures.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _cancel(state: ServerState) -> None:
    if state.scope is not None:
        state.scope.cancel()


def _last_line(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def server_report(states: Mapping[str, ServerState]) -> list[dict[str, str]]:
    """``[{name, status}]`` as Claude Code's ``init`` event lists them, with ``error`` for failures."""
    report = []
    for name, state in states.items():
        entry = {"name": name, "status": state.status}
        if state.error:
            entry["error"] = state.error
        report.append(entry)
    return report
