"""Subagent rules without a run: tools and modes only narrow, calls run bounded and in order,
PreCompact hooks fire before a summary."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from runner.agent import permissions
from runner.agent.agent_defs import AgentDefinition
from runner.agent.agent_sources import run_agents
from runner.agent.context import ContextPolicy
from runner.agent.loop import AgentSpec, run_agent
from runner.agent.subagents import AgentTool, subagent_policy, subagent_tools
from runner.agent.tool_batch import run_calls
from runner.agent.tools import build_tools
from runner.agent.tools.base import ToolContext
from runner.hooks.config import parse_hooks
from runner.hooks.runner import HookRunner
from runner.settings.claude_flags import parse_agents
from runner.settings.run import RunSettings
from runner.testing.fake_messages import FakeMessagesAPI, text, tool_use


def agent(tools: tuple[str, ...] | None = None, disallowed: tuple[str, ...] = ()) -> AgentDefinition:
    return AgentDefinition("a", "d", "p", tools, None, None, "test", disallowed_tools=disallowed)


def test_a_subagent_gets_the_parents_tools_it_names_and_never_the_agent_tool() -> None:
    parent = [*build_tools(["Read", "Grep", "Bash", "TodoWrite"]), AgentTool({}, {})]
    names = lambda tools: [t.name for t in tools]  # noqa: E731
    assert names(subagent_tools(parent, agent())) == ["Read", "Grep", "Bash"]  # the checklist is the parent's
    assert names(subagent_tools(parent, agent(("Read", "Write", "Agent", "Task(x)")))) == ["Read"]
    assert names(subagent_tools(parent, agent(None, ("Bash",)))) == ["Read", "Grep"]
    assert names(subagent_tools(parent, agent(()))) == []


@pytest.mark.parametrize(
    ("parent", "asked", "mode"),
    [
        ("acceptEdits", "plan", "plan"),
        ("acceptEdits", "default", "default"),
        ("default", "bypassPermissions", "default"),
        ("plan", "acceptEdits", "plan"),
        ("plan", None, "plan"),
        ("bypassPermissions", "acceptEdits", "acceptEdits"),
    ],
)
def test_a_permission_mode_only_narrows(tmp_path: Path, parent: str, asked: str | None, mode: str) -> None:
    policy = permissions.PermissionPolicy(cwd=tmp_path, home=tmp_path, mode=parent)
    assert subagent_policy(policy, asked).mode == mode


def test_task_and_agent_rules_cover_both_names(tmp_path: Path) -> None:
    policy = permissions.build_policy(
        mode="default",
        allowed_tools=(),
        disallowed_tools=("Task(reviewer)",),
        settings=(),
        cwd=tmp_path,
        add_dirs=(),
        home=tmp_path,
    )
    denied = permissions.decide(
        policy, "Agent", {"subagent_type": "reviewer"}, read_only=True, edits_files=False
    )
    allowed = permissions.decide(
        policy, "Agent", {"subagent_type": "scout"}, read_only=True, edits_files=False
    )
    assert not denied.allowed and "Task(reviewer)" in denied.reason and allowed.allowed
    outright = permissions.build_policy(
        mode="default",
        allowed_tools=(),
        disallowed_tools=("Agent",),
        settings=(),
        cwd=tmp_path,
        add_dirs=(),
        home=tmp_path,
    )
    assert not permissions.can_ever_allow(outright, "Task", read_only=True, edits_files=False)


def test_concurrent_calls_run_at_most_four_at_once_and_answer_in_order() -> None:
    active, most, started, lock = 0, 0, 0, threading.Condition()

    def run_one(call: dict[str, Any]) -> str:
        nonlocal active, most, started
        with lock:
            active, started = active + 1, started + 1
            most = max(most, active)
            lock.notify_all()
            # Hold until four run together, or all six have started: proves overlap, not speed.
            lock.wait_for(lambda: active >= 4 or started == 6, timeout=30)
            active -= 1
        return str(call["id"])

    calls = [{"id": f"c{i}", "name": "Agent"} for i in range(6)]
    assert run_calls(calls, run_one, lambda call: call["name"] == "Agent") == [f"c{i}" for i in range(6)]
    assert most == 4


def test_a_call_of_another_tool_runs_alone_between_batches() -> None:
    seen: list[tuple[str, str]] = []

    def run_one(call: dict[str, Any]) -> str:
        seen.append((call["id"], threading.current_thread().name))
        return str(call["id"])

    calls = [{"id": "a1", "name": "Agent"}, {"id": "a2", "name": "Agent"}, {"id": "r", "name": "Read"}]
    calls.append({"id": "a3", "name": "Agent"})
    assert run_calls(calls, run_one, lambda call: call["name"] == "Agent") == ["a1", "a2", "r", "a3"]
    threads = dict(seen)
    assert threads["r"] == threads["a3"] == threading.current_thread().name  # alone: in the loop's thread
    assert threads["a1"].startswith("subagent") and threads["a2"].startswith("subagent")
    assert [call for call, _ in seen].index("r") == 2  # after the batch before it, before the next


@pytest.fixture
def api() -> Iterator[FakeMessagesAPI]:
    with FakeMessagesAPI() as fake:
        yield fake


def test_pre_compact_hooks_run_before_the_history_is_summarised(api: FakeMessagesAPI, tmp_path: Path) -> None:
    hook = {"type": "command", "command": 'cat >> "$CLAUDE_PROJECT_DIR/pre-compact.jsonl"'}
    after = {
        "type": "command",
        "command": 'f="$CLAUDE_PROJECT_DIR/post-compact.jsonl"; cat >> "$f"; echo >> "$f"',
    }
    config = {
        "PreCompact": [{"matcher": "auto", "hooks": [hook]}],
        "PostCompact": [{"matcher": "auto", "hooks": [after]}],
    }
    hooks = HookRunner(parse_hooks(config, "test"), "sess-9")
    body = "x = 1\n" * 700  # Write inputs stay in the history: only a summary makes room
    api.add_turns(
        [
            *(
                [tool_use("Write", {"file_path": str(tmp_path / f"w{i}.py"), "content": body})]
                for i in range(16)
            ),
            [text("Written.")],
        ]
    )
    spec = AgentSpec(
        prompt="Write the files.",
        model="claude-opus-4-8",
        system_prompt="You are a test agent.",
        tools=build_tools(["Write"]),
        policy=permissions.PermissionPolicy(cwd=tmp_path, home=tmp_path, mode="acceptEdits"),
        workspace=ToolContext(cwd=tmp_path, subprocess_env={"PATH": "/usr/bin:/bin"}),
        api_timeout_s=30,
        context=ContextPolicy(window=20_000, threshold=16_000, keep_tool_results=3),
        hooks=hooks,
    )
    client = anthropic.Anthropic(api_key="sk-test", base_url=api.base_url, max_retries=0)
    outcome = run_agent(spec, client, lambda event: None)
    assert outcome.result["subtype"] == "success"
    summaries = [r for r in api.message_requests if (r.body.get("tool_choice") or {}).get("type") == "none"]
    runs = [json.loads(line) for line in (tmp_path / "pre-compact.jsonl").read_text().splitlines()]
    assert summaries and len(runs) == len(summaries)
    assert runs[0] == {
        "session_id": "sess-9",
        "transcript_path": "",
        "cwd": str(tmp_path),
        "permission_mode": "default",
        "hook_event_name": "PreCompact",
        "trigger": "auto",
        "custom_instructions": "",
    }
    # PostCompact follows each summary, with the summary that replaced the turns.
    done = [json.loads(line) for line in (tmp_path / "post-compact.jsonl").read_text().splitlines() if line]
    assert [d["hook_event_name"] for d in done] == ["PostCompact"] * len(summaries)
    assert {d["trigger"] for d in done} == {"auto"}
    summary_text = json.dumps(api.message_requests[-1].body["messages"][0])
    assert done[-1]["compact_summary"] and done[-1]["compact_summary"] in summary_text


def test_later_sources_replace_agents_of_the_same_name(tmp_path: Path) -> None:
    def write(folder: Path, name: str, prompt: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.md").write_text(f"---\nname: {name}\ndescription: d\n---\n{prompt}\n")

    config, repo = tmp_path / "config", tmp_path / "repo"
    write(config / "agents", "shared", "user")
    write(config / "agents", "mine", "user")
    write(repo / ".claude" / "agents", "shared", "project")
    write(repo / ".claude" / "agents", "cli", "project")
    plugin = AgentDefinition("review:checker", "d", "plugin", None, None, None, "plugin")
    flags = parse_agents('{"cli": {"description": "d", "prompt": "flag", "model": "inherit"}}')
    warnings: list[str] = []

    def agents(settings: RunSettings, trusted: bool = False) -> dict[str, str]:
        found = run_agents(
            settings,
            cwd=repo,
            config_dir=config,
            project_agents=None,
            trusted_project=trusted,
            warn=warnings.append,
            plugin_agents=[plugin],
        )
        return {name: a.prompt for name, a in found.items()}

    everything = agents(RunSettings(prompt="x", cwd=repo, agents=flags))
    assert everything == {
        "general-purpose": everything["general-purpose"],
        "review:checker": "plugin",
        "shared": "project",
        "mine": "user",
        "cli": "flag",
    }
    only_user = agents(RunSettings(prompt="x", cwd=repo, setting_sources=("user",)))
    assert only_user["shared"] == "user" and "cli" not in only_user
    # On a CI flow the workspace's files are never read: the caller passes the trusted ones.
    assert "cli" not in agents(RunSettings(prompt="x", cwd=repo), trusted=True)
    assert warnings == []
