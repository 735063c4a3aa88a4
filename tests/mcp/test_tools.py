"""What the model gets from an MCP tool: names, schemas, content blocks, the output cap."""

from __future__ import annotations

import mcp_types

from runner.mcp.client import McpClient, ServerState, describe, server_report
from runner.mcp.config import ServerConfig
from runner.mcp.tools import cap_output, content_block, server_tools


def test_content_blocks():
    png = mcp_types.ImageContent(type="image", data="iVBORw0K", mime_type="image/png")
    assert content_block(png) == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"},
    }
    tiff = mcp_types.ImageContent(type="image", data="AAAA", mime_type="image/tiff")
    assert content_block(tiff) == {
        "type": "text",
        "text": "[an image of type image/tiff, which cannot be shown]",
    }
    embedded = mcp_types.EmbeddedResource(
        type="resource", resource=mcp_types.TextResourceContents(uri="file:///a.txt", text="contents of a")
    )
    assert content_block(embedded) == {"type": "text", "text": "contents of a"}
    link = mcp_types.ResourceLink(type="resource_link", uri="file:///b.txt", name="b")
    assert content_block(link) == {"type": "text", "text": "[resource file:///b.txt: b]"}
    audio = mcp_types.AudioContent(type="audio", data="AAAA", mime_type="audio/wav")
    assert "audio of type audio/wav" in content_block(audio)["text"]


def test_output_cap():
    assert cap_output([{"type": "text", "text": "short"}], 100) == "short"
    assert cap_output([], 100) == "(the tool returned no content)"
    long_text = cap_output([{"type": "text", "text": "x" * 1000}], 10)
    assert long_text.startswith("x" * 40) and "x" * 41 not in long_text
    assert long_text.endswith("[output cut: it exceeded 10 tokens (MAX_MCP_OUTPUT_TOKENS)]")
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
    both = cap_output([{"type": "text", "text": "see"}, image], 25000)
    assert both == [{"type": "text", "text": "see"}, image]
    # An image past the budget is left out, with the note.
    cut = cap_output([{"type": "text", "text": "see"}, image], 100)
    assert isinstance(cut, str) and cut.startswith("see\n") and "output cut" in cut


def test_tool_names_and_schemas(tmp_path):
    client = McpClient(startup_timeout_s=1, launch=lambda c: ([], {}), cwd=tmp_path)
    try:
        state = ServerState(ServerConfig("my server", "stdio", "test", command="x"), status="connected")
        state.tools = [
            mcp_types.Tool(
                name="get.issue",
                description="Get an issue",
                input_schema={"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
            ),
            mcp_types.Tool(name="bad", input_schema={"type": "array"}),
            mcp_types.Tool(name="t" * 200, input_schema={"type": "object"}),
        ]
        tools, warnings = server_tools(client, state, timeout_s=None, max_tokens=100)
        assert [t.definition() for t in tools] == [
            {
                "name": "mcp__my_server__get_issue",
                "description": "Get an issue",
                "input_schema": {
                    "type": "object",
                    "properties": {"n": {"type": "integer"}},
                    "required": ["n"],
                },
            }
        ]
        assert len(warnings) == 2 and all("is not offered" in w for w in warnings)
        assert tools[0].read_only is False  # MCP tools need an allow rule
    finally:
        client.close()


def test_report_and_errors():
    failed = ServerState(ServerConfig("a", "stdio", "t"), status="failed", error="command not found: x")
    ok = ServerState(ServerConfig("b", "http", "t", url="http://h"), status="connected")
    assert server_report({"a": failed, "b": ok}) == [
        {"name": "a", "status": "failed", "error": "command not found: x"},
        {"name": "b", "status": "connected"},
    ]
    error = FileNotFoundError(2, "No such file or directory")
    error.filename = "npx"
    assert describe(ExceptionGroup("x", [error])) == "command not found: npx"
    assert describe(ConnectionError("refused\nmore")) == "ConnectionError: refused"


def test_which_mcp_tools_a_run_offers(tmp_path):
    from runner.agent import permissions
    from runner.mcp.servers import _can_be_allowed
    from runner.mcp.tools import ListMcpResourcesTool

    def policy(mode="default", allow=(), deny=()):
        return permissions.build_policy(
            mode=mode, allowed_tools=allow, disallowed_tools=deny, settings=[], cwd=tmp_path,
            add_dirs=(), home=tmp_path,
        )  # fmt: skip

    client = McpClient(startup_timeout_s=1, launch=lambda c: ([], {}), cwd=tmp_path)
    try:
        state = ServerState(ServerConfig("gh", "stdio", "test", command="x"), status="connected")
        state.tools = [
            mcp_types.Tool(name=n, input_schema={"type": "object"}) for n in ("get_issue", "merge")
        ]
        tools, _ = server_tools(client, state, timeout_s=None, max_tokens=100)
        resources = ListMcpResourcesTool(client, timeout_s=None)

        def offered(p):
            return [t.name for t in [*tools, resources] if _can_be_allowed(p, t)]

        # In CI nothing can be asked: without an allow rule a server's tools are not offered.
        assert offered(policy()) == ["ListMcpResourcesTool"]
        assert offered(policy(mode="acceptEdits")) == ["ListMcpResourcesTool"]
        assert offered(policy(allow=("mcp__gh",))) == [
            "mcp__gh__get_issue",
            "mcp__gh__merge",
            "ListMcpResourcesTool",
        ]
        assert offered(policy(allow=("mcp__gh__*",), deny=("mcp__gh__merge",)))[:1] == ["mcp__gh__get_issue"]
        assert offered(policy(allow=("mcp__gh__get_*",))) == ["mcp__gh__get_issue", "ListMcpResourcesTool"]
        assert offered(policy(allow=("mcp__other",))) == ["ListMcpResourcesTool"]
        assert offered(policy(mode="bypassPermissions", deny=("mcp__gh__merge",)))[:1] == [
            "mcp__gh__get_issue"
        ]
        assert offered(policy(mode="plan", allow=("mcp__gh",))) == ["ListMcpResourcesTool"]
    finally:
        client.close()
