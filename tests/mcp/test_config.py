"""MCP configuration as Claude Code reads it: sources, approval, precedence, ${VAR} expansion."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from runner.agent.permissions import parse_settings_json
from runner.errors import SettingsError
from runner.mcp.config import (
    McpConfigError,
    ProjectApproval,
    expand,
    merge_approvals,
    project_status,
    resolve_servers,
)
from runner.settings.mcp import read_mcp_runtime
from runner.settings.run_flags import parse_claude_args


def config(**servers) -> str:
    return json.dumps({"mcpServers": servers})


NONE_APPROVED = ProjectApproval()


def resolve(flags=(), project=None, approval=NONE_APPROVED, strict=False, expansion=None):
    return resolve_servers(
        [(f"--mcp-config {i}", text) for i, text in enumerate(flags)],
        project,
        approval,
        strict=strict,
        expansion=expansion or {},
    )


def test_expansion_forms():
    values = {"HOST": "example.com", "EMPTY": ""}
    assert expand("https://${HOST}/mcp", values) == ("https://example.com/mcp", [])
    assert expand("${PORT:-8080}", values) == ("8080", [])
    assert expand("${HOST:-other}", values) == ("example.com", [])
    assert expand("[${EMPTY:-default}]", values) == ("[]", [])  # set but empty: no default, as Claude Code
    assert expand("${MISSING}/x", values) == ("${MISSING}/x", ["MISSING"])
    assert expand("$HOST stays", values) == ("$HOST stays", [])  # only the braced form expands
    assert expand("${A:-x:-y}", {}) == ("x:-y", [])


def test_every_field_is_expanded():
    values = {"BIN": "/opt/bin/server", "DIR": "/data", "TOKEN": "t0k3n-abcdef123", "HOST": "mcp.example.com"}
    stdio = {"command": "${BIN}", "args": ["--root", "${DIR}"], "env": {"API_TOKEN": "${TOKEN}"}}
    remote = {"type": "http", "url": "https://${HOST}/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}}
    (a, b), warnings = resolve([config(a=stdio, b=remote)], expansion=values)
    assert warnings == []
    assert (a.transport, a.command, a.args, dict(a.variables)) == (
        "stdio",
        "/opt/bin/server",
        ("--root", "/data"),
        {"API_TOKEN": "t0k3n-abcdef123"},
    )
    assert (b.transport, b.url, dict(b.headers)) == (
        "http",
        "https://mcp.example.com/mcp",
        {"Authorization": "Bearer t0k3n-abcdef123"},
    )


def test_unset_variable_is_kept_and_warned():
    (server,), warnings = resolve([config(gh={"command": "srv", "env": {"T": "${GH_TOKEN}"}})])
    assert server.variables == {"T": "${GH_TOKEN}"}
    assert warnings == ["MCP server 'gh' (--mcp-config 0): ${GH_TOKEN} is not set and has no default"]


def test_project_servers_need_approval():
    project = config(a={"command": "a"}, b={"command": "b"}, c={"command": "c"})
    servers, warnings = resolve(project=project)
    assert servers == [] and len(warnings) == 3 and "enabledMcpjsonServers" in warnings[0]
    servers, _ = resolve(project=project, approval=ProjectApproval(enabled=("b",)))
    assert [s.name for s in servers] == ["b"]
    servers, warnings = resolve(project=project, approval=ProjectApproval(enable_all=True, disabled=("a",)))
    assert [s.name for s in servers] == ["b", "c"] and warnings == []  # a disabled one is not warned


def test_approval_precedence_and_merge():
    merged = merge_approvals(
        [
            ProjectApproval(enable_all=True, enabled=("x",)),
            ProjectApproval(enable_all=None, enabled=("y",), disabled=("x",)),
        ]
    )
    assert merged == ProjectApproval(True, ("x", "y"), ("x",))
    assert project_status("x", merged) == "rejected"  # disabled wins over enabled and enable-all
    assert project_status("y", merged) == "approved"
    assert project_status("z", ProjectApproval(enable_all=False)) == "pending"


def test_flags_win_over_the_project_and_strict_drops_it():
    project = config(shared={"command": "from-project"}, extra={"command": "extra"})
    flags = [config(shared={"command": "first"}), config(shared={"command": "second"})]
    approved = ProjectApproval(enable_all=True)
    servers, _ = resolve(flags, project, approved)
    assert {s.name: s.command for s in servers} == {"shared": "second", "extra": "extra"}
    servers, _ = resolve(flags, project, approved, strict=True)
    assert {s.name: s.command for s in servers} == {"shared": "second"}


def test_unusable_entries_are_skipped_with_a_reason():
    servers, warnings = resolve(
        [
            config(
                ws={"type": "ws", "url": "ws://x"},
                nourl={"url": "https://x"},
                badargs={"command": "x", "args": "not-a-list"},
                ftp={"type": "sse", "url": "ftp://x"},
                ok={"type": "streamable-http", "url": "http://127.0.0.1:1/mcp"},
            )
        ]
    )
    assert [s.name for s in servers] == ["ok"] and servers[0].transport == "http"
    assert [w.split(" is skipped: ")[1] for w in warnings] == [
        "type 'ws' is not supported (stdio, http, sse are)",
        'give "command" (stdio) or "type": "http"/"sse" and "url"',
        "args must be a list of strings",
        "url must start with http:// or https://",
    ]


def test_broken_texts():
    with pytest.raises(McpConfigError, match="invalid JSON at line 1"):
        resolve(["{"])
    with pytest.raises(McpConfigError, match='"mcpServers" object'):
        resolve(['{"servers": {}}'])
    servers, warnings = resolve(project="{", approval=ProjectApproval(enable_all=True))
    assert servers == [] and warnings[0].startswith(".mcp.json: invalid JSON")


def test_tool_prefix_is_normalized():
    (server,), _ = resolve([config(**{"my.server v2": {"command": "x"}})])
    assert server.tool_prefix == "mcp__my_server_v2__"


def test_settings_keys_are_read_and_checked():
    text = json.dumps(
        {"enableAllProjectMcpServers": False, "enabledMcpjsonServers": ["a"], "disabledMcpjsonServers": ["b"]}
    )
    assert parse_settings_json(text, "s").mcp_json == ProjectApproval(False, ("a",), ("b",))
    with pytest.raises(SettingsError, match="enabledMcpjsonServers must be a list"):
        parse_settings_json('{"enabledMcpjsonServers": "a"}', "s")
    with pytest.raises(SettingsError, match="enableAllProjectMcpServers must be true or false"):
        parse_settings_json('{"enableAllProjectMcpServers": "yes"}', "s")


def test_claude_args_mcp_flags():
    settings = parse_claude_args(
        "--mcp-config a.json b.json --max-turns 3 --mcp-config '{\"mcpServers\": {}}'", {}
    )
    assert settings.mcp_config == ("a.json", "b.json", '{"mcpServers": {}}')
    assert settings.max_turns == 3 and not settings.strict_mcp_config
    settings = parse_claude_args("--mcp-config=a.json c.json --strict-mcp-config", {})
    assert settings.mcp_config == ("a.json", "c.json") and settings.strict_mcp_config


def test_mcp_runtime_from_the_environment():
    runtime = read_mcp_runtime({"MCP_TIMEOUT": "2500", "MCP_TOOL_TIMEOUT": "60000", "X": "1"})
    assert (runtime.startup_timeout_s, runtime.tool_timeout_s, runtime.max_output_tokens) == (
        2.5,
        60.0,
        25000,
    )
    assert runtime.expand_env["X"] == "1"
    runtime = read_mcp_runtime({"MCP_TIMEOUT": "soon", "MAX_MCP_OUTPUT_TOKENS": "0"})
    assert runtime.startup_timeout_s == 30.0 and runtime.max_output_tokens == 25000
    assert len(runtime.warnings) == 2 and "MCP_TIMEOUT must be a whole number" in runtime.warnings[0]


def test_the_sdk_is_loaded_only_for_a_server():
    # The SDK takes most of a second to import; the acknowledgement must not wait for it (issue 17).
    code = (
        "import sys\n"
        "import runner.cli, runner.ci.github, runner.ci.gitlab, runner.flow.mention, runner.review.run\n"
        "from runner.mcp.servers import running_mcp\n"
        "with running_mcp(None, 'spec') as spec:\n"
        "    assert spec == 'spec'\n"
        "sdk = ('mcp', 'mcp_types', 'anyio', 'httpx2')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in sdk))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_values_that_may_be_secrets_are_redacted(tmp_path):
    from runner.mcp.servers import plan_mcp
    from runner.settings.mcp import McpRuntime

    server = {
        "command": "srv",
        "args": ["--token", "${API_TOKEN}", "--user", "${USER_NAME}"],
        "env": {"LEVEL": "debug-verbose", "PASSWORD": "hunter2-but-longer"},
    }
    remote = {"type": "http", "url": "https://h/mcp", "headers": {"X-Api-Key": "k3y-0123456789"}}
    values = {"API_TOKEN": "tok-5f4e3d2c1b0a", "USER_NAME": "octocat-the-user"}
    plan, _ = plan_mcp(
        [config(a=server, b=remote)],
        strict=False,
        project_json=None,
        approvals=[],
        runtime=McpRuntime(expand_env=values),
        base_dir=tmp_path,
    )
    assert plan is not None
    assert set(plan.secret_values) == {"tok-5f4e3d2c1b0a", "hunter2-but-longer", "k3y-0123456789"}
