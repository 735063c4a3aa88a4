"""`claude-runner run` with HTTP hooks in `.claude/settings.json`: the real CLI, the fake API, a
loopback hook endpoint. The team's settings work unchanged, and no token reaches the log."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from runner.testing.fake_messages import text, tool_use
from tests.conftest import base_env
from tests.hooks.hook_server import HANG, HookServer, hook_server
from tests.plugin_fixtures import write_plugin


@pytest.fixture
def server() -> Iterator[HookServer]:
    with hook_server() as running:
        yield running


def test_an_http_hook_denies_a_bash_call_and_the_model_is_told_why(fake, repo, run_cli, server):
    deny = {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "no deploys from CI agents",
        }
    }
    guard = server.answer("/guard", body=deny)
    context = {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "Logged: Read."}}
    settings = {
        "hooks": {
            "PreToolUse": [
                {
                    "matcher": "Bash",
                    "hooks": [
                        {
                            "type": "http",
                            "url": guard + "?key=query-secret-1",
                            "headers": {"Authorization": "Bearer $HOOK_TOKEN", "X-Run": "${GITHUB_TOKEN}"},
                            "allowedEnvVars": ["HOOK_TOKEN", "GITHUB_TOKEN"],
                            "timeout": 30,
                        }
                    ],
                }
            ],
            "PostToolUse": [{"hooks": [{"type": "http", "url": server.answer("/audit", body=context)}]}],
            "Stop": [{"hooks": [{"type": "http", "url": server.misbehave("/slow", HANG), "timeout": 0.5}]}],
        }
    }
    (repo / ".claude").mkdir(exist_ok=True)
    (repo / ".claude" / "settings.json").write_text(json.dumps(settings))
    fake.add_turns(
        [
            [tool_use("Bash", {"command": "touch deployed", "description": "deploy"})],
            [tool_use("Read", {"file_path": str(repo / "calc.py")})],
            [text("The deploy was refused by policy.")],
        ]
    )
    env = {
        **base_env(fake),
        "HOOK_TOKEN": "hook-token-5f1e9a",
        "GITHUB_TOKEN": "ghs_runnertoken0123456789abcdef",
    }
    out = run_cli(
        "run", "-p", "deploy", "--output-format", "json", "--allowedTools", "Bash,Read",
        "--debug", "hooks", cwd=repo, env=env,
    )  # fmt: skip
    assert out.code == 0, out.stderr
    assert not (repo / "deployed").exists()  # the command never ran
    results = [
        b
        for m in fake.message_requests[-1].body["messages"]
        for b in m["content"]
        if b.get("type") == "tool_result"
    ]
    assert "PreToolUse hook denied this call: no deploys from CI agents" in json.dumps(results[0]["content"])
    assert "PostToolUse hook: Logged: Read." in json.dumps(results[1]["content"])
    (sent,) = [r for r in server.received if r.path.startswith("/guard")]
    assert sent.json()["tool_input"]["command"] == "touch deployed"
    assert sent.headers["authorization"] == "Bearer hook-token-5f1e9a"
    assert sent.headers["x-run"] == ""  # the runner's own credential is never sent
    assert "GITHUB_TOKEN is a runner credential" in out.stderr
    # The Stop hook hung: logged, and the run still succeeded.
    assert "Stop hook `POST http://127.0.0.1:" in out.stderr and "timed out after 0.5 s" in out.stderr
    for secret in ("hook-token-5f1e9a", "query-secret-1", "ghs_runnertoken"):
        assert secret not in out.stderr and secret not in out.stdout


def test_a_plugins_http_hook_runs_with_a_variable_from_the_settings_env(
    fake, repo, run_cli, server, tmp_path
):
    plugin = tmp_path / "code-review"
    audit = server.answer("/audit", 204)
    hook = {
        "type": "http",
        "url": audit,
        "headers": {"X-Team": "team-$TEAM_ID"},
        "allowedEnvVars": ["TEAM_ID"],
    }
    write_plugin(plugin, hooks={"PostToolUse": [{"matcher": "Write", "hooks": [hook]}]})
    (repo / ".claude").mkdir(exist_ok=True)
    (repo / ".claude" / "settings.json").write_text(json.dumps({"env": {"TEAM_ID": "42"}}))
    fake.add_turns([[tool_use("Write", {"file_path": str(repo / "a.txt"), "content": "a\n"})], [text("ok")]])
    out = run_cli("run", "-p", "write", "--plugin-dir", str(plugin), "--allowedTools", "Write", cwd=repo)
    assert out.code == 0, out.stderr
    (sent,) = server.received
    assert sent.headers["x-team"] == "team-42" and sent.json()["tool_input"]["file_path"] == str(
        repo / "a.txt"
    )
