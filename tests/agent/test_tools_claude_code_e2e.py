"""Claude Code's other tools through the real `claude-runner run`: what the model is offered,
what reaches its next request, what the run leaves behind."""

from __future__ import annotations

import json
import time

from runner.settings.tools import WEBFETCH_PRIVATE_VAR
from runner.testing.fake_messages import text, tool_use, turn, web_search
from tests.agent.test_tools_bash import running
from tests.agent.test_tools_claude_code import site  # noqa: F401  (the loopback web server fixture)
from tests.conftest import base_env


def tool_results(body: dict) -> list[dict]:
    return [b for m in body["messages"] for b in m["content"] if b.get("type") == "tool_result"]


def offered(fake) -> list[str]:
    return [t["name"] for t in fake.message_requests[0].body.get("tools", [])]


def test_webfetch_page_reaches_the_model_when_a_rule_allows_its_domain(fake, repo, run_cli, site):  # noqa: F811
    env = {**base_env(fake), WEBFETCH_PRIVATE_VAR: "1"}
    fake.add_turns(
        [
            [tool_use("WebFetch", {"url": f"{site}/page", "prompt": "What changed?"})],
            [tool_use("WebFetch", {"url": "http://example.com/x", "prompt": "x"})],
            [text("done")],
        ]
    )
    out = run_cli(
        "run", "-p", "read the notes", "--allowedTools", "WebFetch(domain:127.0.0.1)", cwd=repo, env=env
    )
    assert out.code == 0, out.stderr
    assert "WebFetch" in offered(fake)
    fetched, refused = tool_results(fake.message_requests[2].body)
    assert "# Release notes" in json.dumps(fetched["content"])
    assert refused.get("is_error") and "no allow rule matches" in json.dumps(refused["content"])


def test_webfetch_is_not_offered_by_default_and_refuses_loopback_outside_tests(fake, repo, run_cli, site):  # noqa: F811
    fake.add_turns([[text("hi")]])
    run_cli("run", "-p", "x", "--permission-mode", "acceptEdits", cwd=repo)
    assert "WebFetch" not in offered(fake) and "web_search" not in offered(fake)
    fake.add_turns([[tool_use("WebFetch", {"url": f"{site}/page", "prompt": "x"})], [text("done")]])
    run_cli("run", "-p", "x", "--allowedTools", "WebFetch", cwd=repo)  # no test switch: loopback refused
    (result,) = tool_results(fake.message_requests[-1].body)
    assert result.get("is_error") and "private, loopback or reserved" in json.dumps(result["content"])


def test_web_search_is_sent_kept_in_history_and_priced(fake, repo, run_cli):
    fake.add_turns(
        [
            [
                *web_search("claude-runner", [{"url": "https://example.com/a", "title": "A"}]),
                tool_use("Read", {"file_path": str(repo / "calc.py")}),
            ],
            [text("found it")],
        ]
    )
    out = run_cli("run", "-p", "search", "--allowedTools", "WebSearch", "--output-format", "json", cwd=repo)
    assert out.code == 0, out.stderr
    tools = fake.message_requests[0].body["tools"]
    assert {"type": "web_search_20250305", "name": "web_search", "max_uses": 8} in tools
    replayed = fake.message_requests[1].body["messages"][1]["content"]
    use = next(b for b in replayed if b["type"] == "server_tool_use")
    found = next(b for b in replayed if b["type"] == "web_search_tool_result")
    assert use["input"] == {"query": "claude-runner"} and found["tool_use_id"] == use["id"]
    assert found["content"][0]["url"] == "https://example.com/a"
    (usage,) = out.result["modelUsage"].values()
    assert usage["webSearchRequests"] == 1
    assert out.result["total_cost_usd"] >= 0.01


def test_background_command_is_read_then_stopped_when_the_run_ends(fake, repo, run_cli):
    fake.add_turns(
        [
            [
                tool_use(
                    "Bash",
                    {
                        "command": "echo $$ > bg.pid; echo warming up; exec sleep 300",
                        "run_in_background": True,
                    },
                )
            ],
            [tool_use("TaskOutput", {"task_id": "bash_1", "block": True, "timeout": 100})],
            [text("started")],
        ]
    )
    out = run_cli("run", "-p", "start the server", "--allowedTools", "Bash", cwd=repo)
    assert out.code == 0, out.stderr
    assert {"Bash", "TaskOutput", "TaskStop"} <= set(offered(fake))
    started, _ = tool_results(fake.message_requests[2].body)
    assert "bash_1" in json.dumps(started["content"])
    pid = int((repo / "bg.pid").read_text())
    for _ in range(50):  # the runner has exited; give the kernel a moment to reap
        if not running(pid):
            break
        time.sleep(0.1)
    assert not running(pid)


def test_bash_default_timeout_from_the_environment(fake, repo, run_cli):
    env = {**base_env(fake), "BASH_DEFAULT_TIMEOUT_MS": "200"}
    fake.add_turns([[tool_use("Bash", {"command": "sleep 30"})], [text("done")]])
    out = run_cli("run", "-p", "x", "--allowedTools", "Bash", cwd=repo, env=env)
    assert out.code == 0, out.stderr
    (result,) = tool_results(fake.message_requests[1].body)
    assert "timed out after 200 ms" in json.dumps(result["content"])
    out = run_cli("run", "-p", "x", cwd=repo, env={**env, "BASH_MAX_TIMEOUT_MS": "soon"})
    assert out.code != 0 and "BASH_MAX_TIMEOUT_MS must be a whole number" in out.stderr
    assert "Traceback" not in out.stderr


def test_todowrite_and_notebookedit_by_default(fake, repo, run_cli):
    nb = repo / "n.ipynb"
    nb.write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "metadata": {},
                        "source": "1",
                        "outputs": [],
                        "execution_count": None,
                    }
                ],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 4,
            }
        )
    )
    todos = [{"content": "Edit the notebook", "status": "in_progress", "activeForm": "Editing the notebook"}]
    fake.add_turns(
        [
            [
                tool_use("TodoWrite", {"todos": todos}),
                tool_use("NotebookEdit", {"notebook_path": str(nb), "cell_id": "cell-0", "new_source": "2"}),
            ],
            [text("done")],
        ]
    )
    out = run_cli(
        "run",
        "-p",
        "x",
        "--permission-mode",
        "acceptEdits",
        "--output-format",
        "stream-json",
        "--verbose",
        cwd=repo,
    )
    assert out.code == 0, out.stderr
    todo, edit = tool_results(fake.message_requests[1].body)
    assert not todo.get("is_error") and not edit.get("is_error"), (todo, edit)
    assert json.loads(nb.read_text())["cells"][0]["source"] == "2"
    calls = [b for e in out.events if e.get("type") == "assistant" for b in e["message"]["content"]]
    assert any(b.get("name") == "TodoWrite" and b["input"]["todos"] == todos for b in calls)


def test_a_paused_server_tool_turn_is_sent_back_to_go_on(fake, repo, run_cli):
    fake.add_turns(
        [
            turn(*web_search("first"), stop_reason="pause_turn"),
            [*web_search("second"), text("both searched")],
        ]
    )
    out = run_cli("run", "-p", "search", "--allowedTools", "WebSearch", "--output-format", "json", cwd=repo)
    assert out.code == 0, out.stderr
    assert out.result["result"] == "both searched" and out.result["num_turns"] == 2
    resent = fake.message_requests[1].body["messages"][-1]
    assert resent["role"] == "assistant" and resent["content"][0]["input"] == {"query": "first"}
    (usage,) = out.result["modelUsage"].values()
    assert usage["webSearchRequests"] == 2
