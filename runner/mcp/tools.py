"""The agent's tools for MCP servers: ``mcp__<server>__<tool>`` for each tool a server lists, and
Claude Code's ``ListMcpResourcesTool`` / ``ReadMcpResourceTool`` when a server has resources.

A tool's answer becomes a ``tool_result``: text and images as content blocks, structured content as
JSON when there is no other content, ``isError`` as ``is_error``; answers over
``MAX_MCP_OUTPUT_TOKENS`` (estimated at four characters a token) are cut with a note.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, cast

from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult, str_arg
from runner.mcp.config import normalize_name

if TYPE_CHECKING:
    import mcp_types
    from mcp.client.session import ClientSession

    from runner.mcp.client import McpClient, ServerState

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
IMAGE_TOKENS = 1600  # what an image of the usual size costs, for the output cap
MAX_DESCRIPTION = 2048  # Claude Code's cap on an MCP tool's description
MAX_TOOL_NAME = 128  # the Messages API's limit


class McpTool(Tool):
    """One tool of one server; the subclass per tool sets ``name``, ``description``, ``input_schema``."""

    read_only: ClassVar[bool] = False  # what a server's tool does is unknown: it needs an allow rule

    def __init__(
        self, client: McpClient, server: str, tool: str, *, timeout_s: float | None, max_tokens: int
    ) -> None:
        self.client, self.server, self.tool = client, server, tool
        self.timeout_s, self.max_tokens = timeout_s, max_tokens

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Call the tool on its server and turn the answer into a ``tool_result``."""
        from runner.mcp.client import McpCallError

        async def call(session: ClientSession) -> mcp_types.CallToolResult:
            return await session.call_tool(self.tool, dict(args))

        try:
            result = self.client.call(self.server, call, _timeout(self.timeout_s, ctx))
        except McpCallError as exc:
            raise ToolError(str(exc)) from exc
        blocks = [block for item in result.content if (block := content_block(item)) is not None]
        if not blocks and result.structured_content is not None:
            blocks = [{"type": "text", "text": json.dumps(result.structured_content, ensure_ascii=False)}]
        return ToolResult(cap_output(blocks, self.max_tokens), bool(result.is_error))


def server_tools(
    client: McpClient, state: ServerState, *, timeout_s: float | None, max_tokens: int
) -> tuple[list[Tool], list[str]]:
    """The tools of one connected server, and warnings for the ones that cannot be offered."""
    tools: list[Tool] = []
    warnings: list[str] = []
    prefix = state.config.tool_prefix
    for listed in state.tools:
        name = prefix + normalize_name(listed.name)
        schema = listed.input_schema if isinstance(listed.input_schema, dict) else {}
        if len(name) > MAX_TOOL_NAME or schema.get("type", "object") != "object":
            warnings.append(
                f"MCP tool {name[:MAX_TOOL_NAME]} is not offered: its name or schema cannot be sent"
            )
            continue
        attributes = {
            "name": name,
            "description": (listed.description or listed.title or listed.name)[:MAX_DESCRIPTION],
            "input_schema": {"type": "object", **schema},
        }
        cls = cast("type[McpTool]", type("McpServerTool", (McpTool,), attributes))
        tools.append(cls(client, state.config.name, listed.name, timeout_s=timeout_s, max_tokens=max_tokens))
    return tools, warnings


class ListMcpResourcesTool(Tool):
    """Claude Code's tool for the resources the connected servers list."""

    name: ClassVar[str] = "ListMcpResourcesTool"
    description: ClassVar[str] = (
        "Lists available resources from configured MCP servers. Each resource object includes a "
        "'server' field indicating which server it's from."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "server": {"type": "string", "description": "Optional server name to filter resources by"}
        },
    }

    def __init__(self, client: McpClient, *, timeout_s: float | None) -> None:
        self.client, self.timeout_s = client, timeout_s

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Every resource of the servers with resources (or of one), as JSON."""
        import mcp_types

        from runner.mcp.client import McpCallError

        wanted = str_arg(args, "server", required=False)
        names = _resource_servers(self.client, wanted)
        listed: list[dict[str, Any]] = []
        problems: list[str] = []

        async def page(session: ClientSession, cursor: str | None) -> mcp_types.ListResourcesResult:
            params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
            return await session.list_resources(params=params)

        for server in names:
            cursor: str | None = None
            try:
                for _ in range(100):
                    request = functools.partial(page, cursor=cursor)
                    result = self.client.call(server, request, _timeout(self.timeout_s, ctx))
                    for resource in result.resources:
                        entry = resource.model_dump(by_alias=True, exclude_none=True, mode="json")
                        listed.append({**entry, "server": server})
                    cursor = result.next_cursor
                    if not cursor:
                        break
            except McpCallError as exc:
                problems.append(str(exc))
        text = json.dumps(listed, ensure_ascii=False, indent=2)
        if problems:
            text += "\n\n" + "\n".join(problems)
        return ToolResult(text)


class ReadMcpResourceTool(Tool):
    """Claude Code's tool for reading one resource of a server."""

    name: ClassVar[str] = "ReadMcpResourceTool"
    description: ClassVar[str] = (
        "Reads a specific resource from an MCP server, identified by server name and resource URI."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "server": {"type": "string", "description": "The MCP server name"},
            "uri": {"type": "string", "description": "The resource URI to read"},
        },
        "required": ["server", "uri"],
    }

    def __init__(self, client: McpClient, *, timeout_s: float | None, max_tokens: int) -> None:
        self.client, self.timeout_s, self.max_tokens = client, timeout_s, max_tokens

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """The resource's contents: text as JSON, images as image blocks."""
        from mcp_types import BlobResourceContents

        from runner.mcp.client import McpCallError

        server, uri = str_arg(args, "server"), str_arg(args, "uri")
        _resource_servers(self.client, server)

        async def read(session: ClientSession) -> mcp_types.ReadResourceResult:
            return await session.read_resource(uri)

        try:
            result = self.client.call(server, read, _timeout(self.timeout_s, ctx))
        except McpCallError as exc:
            raise ToolError(str(exc)) from exc
        contents: list[dict[str, Any]] = []
        images: list[dict[str, Any]] = []
        for item in result.contents:
            entry: dict[str, Any] = {"uri": str(item.uri), "mimeType": item.mime_type}
            if isinstance(item, BlobResourceContents):
                if item.mime_type in IMAGE_TYPES:
                    images.append(_image(item.mime_type, item.blob))
                    entry["text"] = "[the image follows]"
                else:
                    entry["text"] = f"[binary content, {len(item.blob) * 3 // 4} bytes, not shown]"
            else:
                entry["text"] = item.text
            contents.append(entry)
        text = {"type": "text", "text": json.dumps({"contents": contents}, ensure_ascii=False, indent=2)}
        return ToolResult(cap_output([text, *images], self.max_tokens))


def resource_tools(client: McpClient, *, timeout_s: float | None, max_tokens: int) -> list[Tool]:
    """The two resource tools, when a connected server has resources."""
    if not any(s.has_resources and s.status == "connected" for s in client.servers.values()):
        return []
    return [
        ListMcpResourcesTool(client, timeout_s=timeout_s),
        ReadMcpResourceTool(client, timeout_s=timeout_s, max_tokens=max_tokens),
    ]


def content_block(item: Any) -> dict[str, Any] | None:
    """One item of a tool's ``content`` as a Messages API block (None: nothing to show)."""
    kind = getattr(item, "type", None)
    if kind == "text":
        return {"type": "text", "text": item.text}
    if kind == "image":
        if item.mime_type in IMAGE_TYPES:
            return _image(item.mime_type, item.data)
        return {"type": "text", "text": f"[an image of type {item.mime_type}, which cannot be shown]"}
    if kind == "audio":
        return {"type": "text", "text": f"[audio of type {item.mime_type}, which cannot be shown]"}
    if kind == "resource_link":
        return {"type": "text", "text": f"[resource {item.uri}: {item.name}]"}
    if kind == "resource":
        resource = item.resource
        text = getattr(resource, "text", None)
        if text is not None:
            return {"type": "text", "text": text}
        if resource.mime_type in IMAGE_TYPES:
            return _image(resource.mime_type, resource.blob)
        return {"type": "text", "text": f"[binary resource {resource.uri}, not shown]"}
    return None


def _image(media_type: str, data: str) -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def cap_output(blocks: list[dict[str, Any]], max_tokens: int) -> str | list[dict[str, Any]]:
    """``blocks`` within the token budget: text is cut and images past it are left out, with a note."""
    budget = max_tokens * 4  # characters
    kept: list[dict[str, Any]] = []
    cut = False
    for block in blocks:
        cost = len(block["text"]) if block["type"] == "text" else IMAGE_TOKENS * 4
        if cost <= budget:
            kept.append(block)
            budget -= cost
            continue
        cut = True
        if block["type"] == "text" and budget > 0:
            kept.append({"type": "text", "text": block["text"][:budget]})
        budget = 0
    if cut:
        kept.append(
            {
                "type": "text",
                "text": f"\n[output cut: it exceeded {max_tokens} tokens (MAX_MCP_OUTPUT_TOKENS)]",
            }
        )
    if not kept:
        return "(the tool returned no content)"
    if all(b["type"] == "text" for b in kept):
        return "".join(b["text"] if i == 0 else "\n" + b["text"] for i, b in enumerate(kept))
    return kept


def _resource_servers(client: McpClient, wanted: str) -> list[str]:
    names = [n for n, s in client.servers.items() if s.has_resources and s.status == "connected"]
    if wanted and wanted not in names:
        available = ", ".join(names) or "none"
        raise ToolError(
            f"No connected MCP server named {wanted!r} has resources (servers with resources: {available})"
        )
    return [wanted] if wanted else names


def _timeout(configured: float | None, ctx: ToolContext) -> float | None:
    """The tool timeout, never past the run's deadline."""
    if ctx.deadline is None:
        return configured
    left = max(ctx.deadline - time.monotonic(), 0.1)
    return left if configured is None else min(configured, left)
