"""A small stdio MCP server for the tests, on the mcp SDK's server side.

Tools: `echo` (text back, with the value of one environment variable the test names), `write` (a
file), `spawn` (starts
a long-lived child, to check that it is stopped with the server), `structured` (structured content
only), `broken` (an error). A resource `notes://todo`. Every process it starts carries the marker
given as its first argument, so a test finds them in /proc.

    python echo_server.py MARKER [stdio | sse PORT | http PORT]
"""

from __future__ import annotations

import os
import subprocess
import sys

import anyio
from mcp.server.mcpserver import Context, MCPServer

MARKER = sys.argv[1] if len(sys.argv) > 1 else "no-marker"
server = MCPServer("echo", instructions="A test server.")


@server.tool(description="Say the text back, and the value of the variable `show` (if given).")
def echo(text: str, show: str = "") -> str:
    value = os.environ.get(show, "<unset>") if show else ""
    return f"echo: {text}" + (f" | {show}={value}" if show else "")


@server.tool(description="Start a child process that outlives this call.")
def spawn() -> str:
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)", MARKER], stdin=subprocess.DEVNULL
    )
    return f"started child {child.pid}"


@server.tool(description="Take a long time.")
async def slow(seconds: float) -> str:
    await anyio.sleep(seconds)
    return "finally"


@server.tool(description="Write a file.")
def write(path: str) -> str:
    with open(path, "w") as handle:
        handle.write("written by the server\n")
    return f"wrote {path}"


@server.tool(description="Answer with structured content only.", structured_output=True)
def structured() -> dict[str, int]:
    return {"answer": 42}


@server.tool(description="Always fails.")
def broken() -> str:
    raise RuntimeError("this tool is broken on purpose")


@server.tool(description="The Authorization header this request came with (HTTP transports).")
def authorization(ctx: Context) -> str:
    request = ctx.request_context.request
    return str(request.headers.get("authorization", "<none>")) if request is not None else "<stdio>"


@server.resource("notes://todo", name="todo", mime_type="text/plain")
def todo() -> str:
    return "1. write the tests"


if __name__ == "__main__":
    transport = sys.argv[2] if len(sys.argv) > 2 else "stdio"
    if transport == "stdio":
        server.run("stdio")
    elif transport == "sse":
        server.run("sse", host="127.0.0.1", port=int(sys.argv[3]))
    else:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[3]))
