"""Subagents end to end: the real CLI, the fake Messages API with a scripted model, a real repo.

The model calls the Agent tool (Claude Code's Task); a project agent from `.claude/agents/` runs
its own loop, whose requests, stream lines, permissions, cost and hooks are checked here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.testing.fake_messages import text, tool_use

REVIEWER = """---
name: reviewer
description: Reviews one file and reports problems.
tools: Read, Grep, Bash, Write
permissionMode: bypassPermissions
---
You are the reviewer agent. Report problems with file and line.
"""


def add_agent(repo: Path, body: str = REVIEWER, name: str = "reviewer") -> None:
    folder = repo / ".claude" / "agents"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.md").write_text(body)


def agent_call(prompt: str, kind: str, call_id: str, name: str = "Agent") -> dict[str, Any]:
    return tool_use(name, {"description": "review", "prompt": prompt, "subagent_type": kind}, id=call_id)


def system_text(body: dict[str, Any]) -> str:
    return "".join(block["text"] for block in body["system"])


def results_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for m in body["messages"] for b in m["content"] if b.get("type") == "tool_result"]


def test_a_project_agent_runs_with_its_own_prompt_and_tools_and_its_cost_is_the_runs(fake, repo, run_cli):
    add_agent(repo)
    fake.add_turns(
        [
            [text("Delegating."), agent_call("Review calc.py", "reviewer", "toolu_task1", name="Task")],
            [tool_use("Read", {"file_path": "calc.py"})],
            [text("calc.py:2 subtracts instead of adding.")],
            [text("The reviewer found that add() subtracts.")],
        ]
    )
    out = run_cli(
        "run", "-p", "Review calc.py", "--output-format", "stream-json", "--allowedTools", "Bash", cwd=repo
    )
    assert out.code == 0, out.stderr
    parent, child, child_last, parent_last = (r.body for r in fake.message_requests)
    # The subagent's requests: its own system prompt, its tools (never Agent), a fresh history.
    assert system_text(child).startswith("You are the reviewer agent.")
    assert "You are the reviewer agent" not in system_text(parent)
    # Write is the agent's but not the parent's (no allow rule for it): not offered.
    assert sorted(t["name"] for t in child["tools"]) == ["Bash", "Grep", "Read"]
    assert "Agent" in [t["name"] for t in parent["tools"]]
    assert [[b["text"] for b in m["content"]] for m in child["messages"]] == [["Review calc.py"]]
    assert "def add" in json.dumps(results_of(child_last))
    # Its final message is the Task result the parent reads (the old name reaches the tool).
    (answer,) = results_of(parent_last)
    assert answer["tool_use_id"] == "toolu_task1" and not answer.get("is_error")
    assert "calc.py:2 subtracts instead of adding." in json.dumps(answer["content"])
    # Its turns, tokens and cost are the run's.
    result = out.result
    assert result["num_turns"] == 4
    assert result["usage"]["output_tokens"] == sum(r.usage["output_tokens"] for r in fake.message_requests)
    assert result["total_cost_usd"] > 0
    # stream-json: the subagent's lines name the Task call; the parent's name none.
    lines = [e for e in out.events if e["type"] in ("user", "assistant")]
    nested = [e for e in lines if e.get("parent_tool_use_id") == "toolu_task1"]
    assert [e["type"] for e in nested] == ["user", "assistant", "user", "assistant"]
    assert nested[0]["message"]["content"][0]["text"] == "Review calc.py"
    assert all(e["parent_tool_use_id"] is None for e in lines if e not in nested)
    assert [e["type"] for e in out.events].count("result") == 1
    assert [e.get("subtype") for e in out.events].count("init") == 1


def test_a_subagent_cannot_use_a_tool_or_command_its_parent_may_not(fake, repo, run_cli):
    # The agent names Bash and asks for bypassPermissions; the parent may run `git status` only.
    add_agent(repo)
    fake.add_turns(
        [
            [agent_call("Clean up", "reviewer", "toolu_a")],
            [
                tool_use("Bash", {"command": "rm calc.py"}),
                tool_use("Write", {"file_path": "x.txt", "content": "x"}),
            ],
            [text("I could not remove it.")],
            [text("Done.")],
        ]
    )
    out = run_cli(
        "run", "-p", "x", "--output-format", "json", "--allowedTools", "Bash(git status:*)", cwd=repo
    )
    assert out.code == 0, out.stderr
    child, child_last = fake.message_requests[1].body, fake.message_requests[2].body
    assert sorted(t["name"] for t in child["tools"]) == ["Bash", "Grep", "Read"]
    bash, write = results_of(child_last)
    assert bash["is_error"] and "denied" in json.dumps(bash["content"])
    assert write["is_error"] and "No such tool available: Write" in json.dumps(write["content"])
    assert (repo / "calc.py").exists() and not (repo / "x.txt").exists()
    # The subagent's denied call is the run's: listed in the result.
    assert [d["tool_name"] for d in out.result["permission_denials"]] == ["Bash"]


def test_several_agent_calls_run_and_answer_in_call_order(fake, repo, run_cli):
    add_agent(repo)
    agents = json.dumps({"scout": {"description": "Finds things.", "prompt": "You are the scout agent."}})

    def subagent(request: dict[str, Any]) -> list[dict[str, Any]]:
        task = request["messages"][0]["content"][0]["text"]
        return [text(f"{system_text(request).split('.')[0]} did: {task}")]

    fake.add_turns(
        [
            [
                agent_call("task one", "scout", "toolu_1"),
                agent_call("task two", "reviewer", "toolu_2"),
                agent_call("task three", "general-purpose", "toolu_3"),
            ],
            subagent,
            subagent,
            subagent,
            [text("All three answered.")],
        ]
    )
    out = run_cli("run", "-p", "x", "--output-format", "json", "--agents", agents, cwd=repo)
    assert out.code == 0, out.stderr
    answers = results_of(fake.message_requests[-1].body)
    assert [a["tool_use_id"] for a in answers] == ["toolu_1", "toolu_2", "toolu_3"]
    texts = [json.dumps(a["content"]) for a in answers]
    assert "You are the scout agent did: task one" in texts[0]
    assert "You are the reviewer agent did: task two" in texts[1]
    assert "did: task three" in texts[2] and "general-purpose" not in texts[2]
    assert out.result["num_turns"] == 5


def test_an_unknown_agent_type_is_an_error_the_model_reads(fake, repo, run_cli):
    fake.add_turns([[agent_call("x", "nobody", "toolu_x")], [text("ok")]])
    out = run_cli("run", "-p", "x", "--output-format", "json", cwd=repo)
    assert out.code == 0, out.stderr
    (answer,) = results_of(fake.message_requests[-1].body)
    assert answer["is_error"] and "Agent type 'nobody' not found" in json.dumps(answer["content"])
    assert "general-purpose" in json.dumps(answer["content"])


def test_subagent_stop_hooks_run_and_can_keep_the_subagent_going(fake, repo, run_cli):
    add_agent(repo)
    stop_once = (
        'input=$(cat); echo "$input" >> "$CLAUDE_PROJECT_DIR/subagent-stops.jsonl"; '
        'case "$input" in *\'"stop_hook_active": false\'*) '
        'echo \'{"decision": "block", "reason": "Also name the test file."}\';; esac'
    )
    settings = {
        "hooks": {
            "SubagentStop": [{"matcher": "reviewer", "hooks": [{"type": "command", "command": stop_once}]}],
            "Stop": [{"hooks": [{"type": "command", "command": 'cat >> "$CLAUDE_PROJECT_DIR/stops.jsonl"'}]}],
        }
    }
    (repo / ".claude" / "settings.json").write_text(json.dumps(settings))
    fake.add_turns(
        [
            [agent_call("Review calc.py", "reviewer", "toolu_r")],
            [text("add() subtracts.")],
            [text("add() subtracts; no test file covers it.")],
            [text("Reported.")],
        ]
    )
    out = run_cli("run", "-p", "x", "--output-format", "json", cwd=repo)
    assert out.code == 0, out.stderr
    stops = [json.loads(line) for line in (repo / "subagent-stops.jsonl").read_text().splitlines()]
    assert [s["stop_hook_active"] for s in stops] == [False, True]
    assert {s["hook_event_name"] for s in stops} == {"SubagentStop"}
    assert {s["agent_type"] for s in stops} == {"reviewer"} and all(s["agent_id"] for s in stops)
    # Each stop hook reads the answer it is judging.
    assert [s["last_assistant_message"] for s in stops] == [
        "add() subtracts.",
        "add() subtracts; no test file covers it.",
    ]
    (main_stop,) = [json.loads(line) for line in (repo / "stops.jsonl").read_text().splitlines()]
    assert main_stop["last_assistant_message"] == "Reported."
    # The hook's reason went to the subagent, and its second answer to the parent.
    child_again = fake.message_requests[2].body
    assert child_again["messages"][-1]["content"][-1]["text"] == "Also name the test file."
    (answer,) = results_of(fake.message_requests[3].body)
    assert "no test file covers it" in json.dumps(answer["content"])
    # Stop fired once, for the main agent's end only.
    assert len((repo / "stops.jsonl").read_text().splitlines()) == 1


def test_subagent_start_hooks_give_the_subagent_context_and_never_the_parent(fake, repo, run_cli):
    add_agent(repo)
    start = (
        'input=$(cat); echo "$input" >> "$CLAUDE_PROJECT_DIR/subagent-starts.jsonl"; '
        'echo \'{"hookSpecificOutput": {"hookEventName": "SubagentStart", '
        '"additionalContext": "The style guide is docs/STYLE.md."}}\''
    )
    other = 'cat >> "$CLAUDE_PROJECT_DIR/other-starts.jsonl"'
    settings = {
        "hooks": {
            "SubagentStart": [
                {"matcher": "reviewer", "hooks": [{"type": "command", "command": start}]},
                {"matcher": "scout", "hooks": [{"type": "command", "command": other}]},
            ]
        }
    }
    (repo / ".claude" / "settings.json").write_text(json.dumps(settings))
    fake.add_turns(
        [[agent_call("Review calc.py", "reviewer", "toolu_r")], [text("Looks fine.")], [text("Done.")]]
    )
    out = run_cli("run", "-p", "x", "--output-format", "json", cwd=repo)
    assert out.code == 0, out.stderr
    (started,) = [json.loads(line) for line in (repo / "subagent-starts.jsonl").read_text().splitlines()]
    assert started["hook_event_name"] == "SubagentStart" and started["agent_type"] == "reviewer"
    assert started["agent_id"]
    assert not (repo / "other-starts.jsonl").exists()  # the matcher is the agent type
    child_first = json.dumps(fake.message_requests[1].body["messages"][0])
    assert "The style guide is docs/STYLE.md." in child_first and "Review calc.py" in child_first
    parent_requests = [fake.message_requests[0].body, fake.message_requests[2].body]
    assert all("STYLE.md" not in json.dumps(r["messages"]) for r in parent_requests)


def test_a_subagents_turns_count_toward_the_runs_turn_limit(fake, repo, run_cli):
    # The subagent would list the folder forever: the run's third turn is its last.
    fake.add_turns([[agent_call("Look around", "general-purpose", "toolu_g")]] + [[tool_use("LS", {})]] * 6)
    out = run_cli("run", "-p", "x", "--output-format", "json", "--max-turns", "3", cwd=repo)
    assert out.code == 1
    assert out.result["subtype"] == "error_max_turns" and out.result["num_turns"] == 3
    assert len(fake.message_requests) == 3
