"""`claude-runner run` with MCP servers, end to end: the real CLI in a subprocess, the fake Messages
API with a scripted model, the reference filesystem server from npm and a small Python server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from runner.testing.fake_messages import text, tool_use
from tests.conftest import base_env
from tests.mcp.conftest import HERE, echo_server, hang_server, processes_with


def tool_results(request) -> list[dict]:
    return [b for m in request.body["messages"] for b in m["content"] if b.get("type") == "tool_result"]


def offered(request) -> dict[str, dict]:
    return {t["name"]: t for t in request.body.get("tools", [])}


def test_mcp_config_tools_answer_the_model(fake, repo, run_cli, filesystem_server, marker):
    (repo / "notes.txt").write_text("the filesystem server read this\n")
    config = {
        "mcpServers": {
            "fs": {"command": str(filesystem_server), "args": [str(repo)]},
            "echo": echo_server(marker),
        }
    }
    (repo / "mcp.json").write_text(json.dumps(config))
    fake.add_turns(
        [
            [tool_use("mcp__fs__read_text_file", {"path": str(repo / "notes.txt")})],
            [tool_use("mcp__echo__echo", {"text": "hello"}), tool_use("mcp__echo__broken", {})],
            [text("Both servers answered.")],
        ]
    )
    out = run_cli(
        "run", "-p", "use the servers", "--output-format", "stream-json",
        "--mcp-config", str(repo / "mcp.json"),
        "--allowedTools", "mcp__fs__read_text_file,mcp__echo",
        cwd=repo,
    )  # fmt: skip
    assert out.code == 0, out.stderr
    init = out.events[0]
    assert init["subtype"] == "init"
    assert sorted(init["mcp_servers"], key=lambda s: s["name"]) == [
        {"name": "echo", "status": "connected"},
        {"name": "fs", "status": "connected"},
    ]
    first = fake.message_requests[0]
    tools = offered(first)
    # Allowed tools are offered with the server's schema; a tool no rule allows is not.
    assert tools["mcp__fs__read_text_file"]["input_schema"]["required"] == ["path"]
    assert "mcp__echo__echo" in tools and "mcp__fs__write_file" not in tools
    # The servers' instructions are in the system prompt, as Claude Code puts them.
    assert "# MCP Server Instructions" in first.body["system"][-1]["text"]
    assert "## echo\nA test server." in first.body["system"][-1]["text"]
    # The filesystem server's answer reached the next request, then the echo server's.
    (read,) = tool_results(fake.message_requests[1])
    assert "the filesystem server read this" in json.dumps(read["content"])
    echoed, broken = tool_results(fake.message_requests[2])[-2:]
    assert echoed["content"] == "echo: hello" and not echoed.get("is_error")
    assert broken["is_error"] is True
    assert out.result["result"] == "Both servers answered."


def test_workspace_mcp_json_needs_approval(fake, repo, run_cli, marker):
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"echo": echo_server(marker)}}))
    fake.add_turns([[text("done")]])
    out = run_cli("run", "-p", "x", "--output-format", "stream-json", "--allowedTools", "mcp__echo", cwd=repo)
    assert out.code == 0, out.stderr
    assert out.events[0]["mcp_servers"] == []
    assert "enabledMcpjsonServers" in out.stderr
    assert not any(name.startswith("mcp__") for name in offered(fake.message_requests[0]))

    (repo / ".claude").mkdir()
    (repo / ".claude" / "settings.json").write_text(
        json.dumps({"enabledMcpjsonServers": ["echo"], "permissions": {"allow": ["mcp__echo__echo"]}})
    )
    fake.add_turns([[tool_use("mcp__echo__echo", {"text": "from .mcp.json"})], [text("done")]])
    out = run_cli("run", "-p", "x", "--output-format", "stream-json", cwd=repo)
    assert out.code == 0, out.stderr
    assert out.events[0]["mcp_servers"] == [{"name": "echo", "status": "connected"}]
    (result,) = tool_results(fake.message_requests[-1])
    assert result["content"] == "echo: from .mcp.json"


def test_strict_mcp_config_ignores_mcp_json(fake, repo, run_cli, marker):
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"project": echo_server(marker)}}))
    (repo / ".claude").mkdir()
    (repo / ".claude" / "settings.json").write_text(json.dumps({"enableAllProjectMcpServers": True}))
    inline = json.dumps({"mcpServers": {"flag": echo_server(marker)}})
    fake.add_turns([[text("done")]])
    out = run_cli(
        "run", "-p", "x", "--output-format", "stream-json", "--mcp-config", inline, "--strict-mcp-config",
        cwd=repo,
    )  # fmt: skip
    assert out.code == 0, out.stderr
    assert out.events[0]["mcp_servers"] == [{"name": "flag", "status": "connected"}]


def test_hanging_server_is_dropped_and_reported(fake, repo, run_cli, marker):
    # Only the hanging server: a healthy one could not be promised to start within a timeout this
    # short on a loaded machine.
    config = {"mcpServers": {"slow": hang_server(marker)}}
    fake.add_turns([[text("done without it")]])
    env = {**base_env(fake), "MCP_TIMEOUT": "1500"}
    out = run_cli(
        "run", "-p", "x", "--output-format", "stream-json", "--mcp-config", json.dumps(config),
        "--allowedTools", "mcp__slow",
        cwd=repo, env=env,
    )  # fmt: skip
    assert out.code == 0, out.stderr
    assert out.events[0]["mcp_servers"] == [{"name": "slow", "status": "failed"}]
    assert out.result["mcp_servers"] == [
        {"name": "slow", "status": "failed", "error": "did not start within 1.5 s (MCP_TIMEOUT)"}
    ]
    assert out.result["result"] == "done without it"
    assert "MCP server 'slow' failed" in out.stderr
    assert not any(name.startswith("mcp__") for name in offered(fake.message_requests[0]))
    # The server that ignored SIGTERM is gone too.
    assert processes_with(marker) == []


def test_no_server_process_outlives_the_run(fake, repo, run_cli, marker):
    config = {"mcpServers": {"echo": echo_server(marker)}}
    fake.add_turns([[tool_use("mcp__echo__spawn", {})], [text("done")]])
    out = run_cli(
        "run", "-p", "x", "--output-format", "json", "--mcp-config", json.dumps(config),
        "--allowedTools", "mcp__echo__spawn",
        cwd=repo,
    )  # fmt: skip
    assert out.code == 0, out.stderr
    (result,) = tool_results(fake.message_requests[-1])
    assert result["content"].startswith("started child ")
    assert processes_with(marker) == []


def test_server_environment_is_what_its_config_names(fake, repo, run_cli, marker):
    config = {
        "mcpServers": {
            "echo": echo_server(
                marker,
                env={"DEPLOY_TOKEN": "${MY_DEPLOY_TOKEN}", "GREETING": "${GREETING:-hello there}"},
            )
        }
    }
    fake.add_turns(
        [
            [
                tool_use("mcp__echo__echo", {"text": "a", "show": "GREETING"}),
                tool_use("mcp__echo__echo", {"text": "b", "show": "ANTHROPIC_API_KEY"}),
                tool_use("mcp__echo__echo", {"text": "c", "show": "OTHER_SECRET"}),
                tool_use("mcp__echo__echo", {"text": "d", "show": "DEPLOY_TOKEN"}),
            ],
            [text("done")],
        ]
    )
    env = {**base_env(fake), "MY_DEPLOY_TOKEN": "dt-4f9a8b7c6d5e4f3a", "OTHER_SECRET": "os-0a1b2c3d4e5f6789"}
    out = run_cli(
        "run", "-p", "x", "--output-format", "stream-json", "--mcp-config", json.dumps(config),
        "--allowedTools", "mcp__echo",
        cwd=repo, env=env,
    )  # fmt: skip
    assert out.code == 0, out.stderr
    results = [r["content"] for r in tool_results(fake.message_requests[-1])]
    assert results[:3] == [
        "echo: a | GREETING=hello there",
        "echo: b | ANTHROPIC_API_KEY=<unset>",
        "echo: c | OTHER_SECRET=<unset>",
    ]
    # The server got the token its config names; the runner's own output never shows it.
    assert results[3] == "echo: d | DEPLOY_TOKEN=dt-4f9a8b7c6d5e4f3a"
    assert "dt-4f9a8b7c6d5e4f3a" not in out.stdout + out.stderr


def test_tool_timeout(fake, repo, run_cli, marker):
    config = {"mcpServers": {"echo": echo_server(marker)}}
    fake.add_turns(
        [
            [tool_use("mcp__echo__slow", {"seconds": 120})],
            [tool_use("mcp__echo__echo", {"text": "after the timeout"})],
            [text("done")],
        ]
    )
    env = {**base_env(fake), "MCP_TOOL_TIMEOUT": "500"}
    out = run_cli(
        "run", "-p", "x", "--output-format", "json", "--mcp-config", json.dumps(config),
        "--allowedTools", "mcp__echo",
        cwd=repo, env=env,
    )  # fmt: skip
    assert out.code == 0, out.stderr
    (timed_out,) = tool_results(fake.message_requests[1])
    assert timed_out["is_error"] is True
    assert timed_out["content"] == "no answer from MCP server 'echo' within 0.5 s"
    # The server is still there for the next call.
    assert tool_results(fake.message_requests[2])[-1]["content"] == "echo: after the timeout"
    assert processes_with(marker) == []


def test_resources_tools(fake, repo, run_cli, marker):
    config = {"mcpServers": {"echo": echo_server(marker)}}
    fake.add_turns(
        [
            [tool_use("ListMcpResourcesTool", {})],
            [tool_use("ReadMcpResourceTool", {"server": "echo", "uri": "notes://todo"})],
            [text("done")],
        ]
    )
    out = run_cli("run", "-p", "x", "--output-format", "json", "--mcp-config", json.dumps(config), cwd=repo)
    assert out.code == 0, out.stderr
    (listed,) = tool_results(fake.message_requests[1])
    assert json.loads(listed["content"]) == [
        {"name": "todo", "uri": "notes://todo", "description": "", "mimeType": "text/plain", "server": "echo"}
    ]
    read = tool_results(fake.message_requests[2])[-1]
    assert json.loads(read["content"])["contents"][0]["text"] == "1. write the tests"


def test_bad_mcp_config_is_one_line(fake, repo, run_cli):
    out = run_cli("run", "-p", "x", "--mcp-config", "{not json", cwd=repo)
    assert out.code != 0 and "Traceback" not in out.stderr
    assert "--mcp-config (inline JSON): invalid JSON" in out.stderr
    out = run_cli("run", "-p", "x", "--mcp-config", "missing.json", cwd=repo)
    assert out.code != 0 and "--mcp-config missing.json: cannot read the file" in out.stderr
    assert fake.message_requests == []


def test_stdio_server_runs_in_the_sandbox(fake, repo, run_cli, marker, bwrap, tmp_path):
    (repo / ".claude").mkdir()
    (repo / ".claude" / "settings.json").write_text(json.dumps({"sandbox": {"enabled": True}}))
    outside, inside = tmp_path / "outside.txt", repo / "inside.txt"
    config = {"mcpServers": {"echo": echo_server(marker)}}
    fake.add_turns(
        [
            [
                tool_use("mcp__echo__write", {"path": str(outside)}),
                tool_use("mcp__echo__write", {"path": str(inside)}),
            ],
            [text("done")],
        ]
    )
    out = run_cli(
        "run", "-p", "x", "--output-format", "json", "--mcp-config", json.dumps(config),
        "--allowedTools", "mcp__echo",
        cwd=repo,
    )  # fmt: skip
    assert out.code == 0, out.stderr
    # Outside the workspace the server wrote into the sandbox's private /tmp, not the real one.
    assert not outside.exists()
    assert inside.read_text() == "written by the server\n"
    assert processes_with(marker) == []


@pytest.fixture
def remote_server(marker, free_tcp_port):
    """The Python test server over HTTP (``start("http")`` or ``start("sse")``), on loopback."""
    started: list[subprocess.Popen[bytes]] = []

    def start(transport: str) -> str:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "echo_server.py"), marker, transport, str(free_tcp_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        while proc.poll() is None:  # until it listens (or dies)
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", free_tcp_port)) == 0:
                    break
            time.sleep(0.05)
        assert proc.poll() is None, "the test server did not start"
        return f"http://127.0.0.1:{free_tcp_port}/{'sse' if transport == 'sse' else 'mcp'}"

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_remote_server(fake, repo, run_cli, remote_server, transport):
    url = remote_server(transport)
    config = {
        "mcpServers": {
            "remote": {
                "type": transport,
                "url": url,
                "headers": {"Authorization": "Bearer ${REMOTE_MCP_TOKEN}"},
            }
        }
    }
    fake.add_turns(
        [
            [
                tool_use("mcp__remote__echo", {"text": "over " + transport}),
                tool_use("mcp__remote__authorization", {}),
            ],
            [text("done")],
        ]
    )
    env = {**base_env(fake), "REMOTE_MCP_TOKEN": "rt-9f8e7d6c5b4a3210"}
    out = run_cli(
        "run", "-p", "x", "--output-format", "stream-json", "--mcp-config", json.dumps(config),
        "--allowedTools", "mcp__remote",
        cwd=repo, env=env,
    )  # fmt: skip
    assert out.code == 0, out.stderr
    assert out.events[0]["mcp_servers"] == [{"name": "remote", "status": "connected"}]
    echoed, authorization = (r["content"] for r in tool_results(fake.message_requests[-1]))
    assert echoed == f"echo: over {transport}"
    assert authorization == "Bearer rt-9f8e7d6c5b4a3210"  # the header, expanded
    assert "rt-9f8e7d6c5b4a3210" not in out.stdout + out.stderr  # and redacted from the output
