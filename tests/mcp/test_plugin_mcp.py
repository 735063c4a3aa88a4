"""A plugin's MCP servers (`.mcp.json` in the plugin) start with the run, named
`plugin_<plugin>_<server>`, with `${CLAUDE_PLUGIN_ROOT}` the plugin's directory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from runner.testing.fake_messages import text, tool_use
from tests.mcp.conftest import server_script
from tests.plugin_fixtures import write_plugin


def test_a_plugin_mcp_server_answers_the_model(fake, repo: Path, run_cli, marker, tmp_path: Path) -> None:
    plugin = tmp_path / "code-review"
    script = Path(server_script("echo_server.py"))
    write_plugin(
        plugin, mcp={"echo": {"command": sys.executable, "args": ["${CLAUDE_PLUGIN_ROOT}/echo.py", marker]}}
    )
    (plugin / "echo.py").write_text(script.read_text())
    tool = "mcp__plugin_code-review_echo__echo"
    fake.add_turns([[tool_use(tool, {"text": "hi"})], [text("Echoed.")]])
    out = run_cli(
        "run", "-p", "say hi", "--plugin-dir", str(plugin), "--allowedTools", tool, "--output-format", "json",
        cwd=repo,
    )  # fmt: skip
    assert out.code == 0, out.stderr
    assert tool in {t["name"] for t in fake.message_requests[0].body["tools"]}
    results = [
        b
        for m in fake.message_requests[1].body["messages"]
        for b in m["content"]
        if b.get("type") == "tool_result"
    ]
    assert json.dumps(results[-1]["content"]) == json.dumps("echo: hi")
