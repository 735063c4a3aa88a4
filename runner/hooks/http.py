"""HTTP hooks: the event's JSON POSTed to the hook's URL, the answer read as a command's stdout.

As in Claude Code: ``Content-Type: application/json``; header values with ``$VAR`` / ``${VAR}``
filled in only for the names the hook lists in ``allowedEnvVars`` (any other name, or an unset
one, is empty); the hook's ``timeout`` (60 s unless it says), never past the run's deadline. A 2xx
answer's body is what a command's stdout is on exit 0 (empty: no opinion); any other status, a
connection that fails or closes, or a timeout is a non-blocking error. Redirects are not
followed (they would carry the headers elsewhere). Header values are never logged: a URL is
shown without its userinfo and query string.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from runner.agent.tools.base import ToolContext
from runner.hooks.config import HEADER_VARIABLE, HttpHook
from runner.hooks.protocol import HookRun

MAX_BODY_CHARS = 100_000  # of an answer, as of a command's stdout
_CHUNK = 64 * 1024


def time_limit(timeout_s: float, ctx: ToolContext) -> float:
    """A hook's time: its own ``timeout``, never past the run's deadline (a command hook's too)."""
    if ctx.deadline is None:
        return timeout_s
    return min(timeout_s, max(ctx.deadline - time.monotonic(), 0.1))


def shown_url(url: str) -> str:
    """``url`` as logs show it: no userinfo, query string or fragment (they may hold tokens)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def header_values(hook: HttpHook, variables: Mapping[str, str]) -> dict[str, str]:
    """The hook's headers with ``$VAR`` / ``${VAR}`` filled in from ``variables`` for the names in
    its ``allowedEnvVars``; every other reference becomes empty, as in Claude Code."""
    allowed = set(hook.allowed_env_vars)

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return variables.get(name, "") if name in allowed else ""

    return {name: HEADER_VARIABLE.sub(value, raw) for name, raw in hook.headers}


def post_hook(hook: HttpHook, body: str, ctx: ToolContext, variables: Mapping[str, str]) -> HookRun:
    """POST ``body`` (the event's JSON) to the hook; the answer as a ``HookRun`` (exit 0 and the
    body for a 2xx, no exit code and why otherwise)."""
    shown = f"POST {shown_url(hook.url)}"
    limit = time_limit(hook.timeout_s, ctx)
    headers = _request_headers(hook, variables)
    if headers is None:
        return HookRun(
            shown, None, failure="a header value has a line break once its variables are filled in"
        )
    parts = urlsplit(hook.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = _connection(parts.scheme, parts.hostname or "", parts.port, limit)
    # The socket's timeout bounds each step; the watchdog bounds them all together.
    expired, opened = threading.Event(), list[socket.socket]()
    watchdog = threading.Timer(limit, _expire, (opened, expired))
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.connect()
        opened.extend([conn.sock] if conn.sock is not None else [])  # kept: a closing answer unsets it
        if expired.is_set():  # the watchdog fired before it could see the socket
            raise TimeoutError
        conn.request("POST", target, body=body.encode(), headers=headers)
        response = conn.getresponse()
        text = _read(response)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError):
            return HookRun(shown, None, failure=f"timed out after {limit:g} s")
        if not isinstance(exc, OSError | http.client.HTTPException):  # ValueError: a header refused
            # (its message holds the value; a TLS certificate error is an OSError too)
            return HookRun(shown, None, failure="a header could not be sent as it is")
        return HookRun(shown, None, failure=f"request failed: {_why(exc)}")
    finally:
        watchdog.cancel()
        conn.close()
    if expired.is_set():
        return HookRun(shown, None, failure=f"timed out after {limit:g} s")
    if not 200 <= response.status < 300:
        detail = " ".join(text.split())[:200]
        for sent in (
            v for v in (*header_values(hook, variables).values(), *variables.values()) if len(v) >= 4
        ):
            detail = detail.replace(sent, "***")  # a server that echoes the request
        failure = f"answered HTTP {response.status}{': ' + detail if detail else ''}"
        return HookRun(shown, None, failure=failure, http_status=response.status)
    return HookRun(shown, 0, stdout=text, http_status=response.status)


def _request_headers(hook: HttpHook, variables: Mapping[str, str]) -> dict[str, str] | None:
    """The headers to send (None: a filled-in value would split the request). The body is JSON
    whatever the settings say, and http.client sets its length; a URL's userinfo is Basic auth."""
    headers = header_values(hook, variables)
    if any("\r" in v or "\n" in v for v in headers.values()):
        return None
    headers = {n: v for n, v in headers.items() if n.lower() not in ("content-type", "content-length")}
    parts = urlsplit(hook.url)
    if parts.username is not None and not any(n.lower() == "authorization" for n in headers):
        login = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(login).decode()
    return {**headers, "Content-Type": "application/json"}


def _connection(scheme: str, host: str, port: int | None, timeout: float) -> http.client.HTTPConnection:
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    return http.client.HTTPConnection(host, port, timeout=timeout)


def _expire(opened: list[socket.socket], expired: threading.Event) -> None:
    """Cut the connection short: whatever step it is in fails at once (a connect in progress
    ends on its own timeout, the same limit)."""
    expired.set()
    for sock in opened:
        with contextlib.suppress(OSError):
            # The plain socket's shutdown, also for TLS: SSLSocket's would drop the TLS state
            # under the thread reading it.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _read(response: http.client.HTTPResponse) -> str:
    """The answer's body, up to ``MAX_BODY_CHARS`` (the rest is not read)."""
    data = bytearray()
    while len(data) <= MAX_BODY_CHARS * 4:  # UTF-8: at most 4 bytes a character
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", errors="replace")[:MAX_BODY_CHARS]


def _why(exc: BaseException) -> str:
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__
