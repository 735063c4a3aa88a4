"""The ``Agent`` tool (Claude Code's ``Task``, renamed in 2.1.63; both names reach it): the model
hands a task to a subagent, which runs its own loop and answers with its final message.

A subagent's tools and permissions are never wider than its parent's: its tools are the parent's
offered tools that its definition names (all of them when it names none), never the Agent tool
itself (no nesting), under the parent's permission policy, whose mode its ``permissionMode`` can
only narrow. It shares the run's usage tracker, so its turns, tokens and cost count toward the
run's limits and totals, and the run's deadline. Its messages go to the run's event stream with
``parent_tool_use_id`` set to the Agent call's id, as Claude Code's stream-json does.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from runner.agent.agent_defs import AgentDefinition
from runner.agent.loop import run_agent
from runner.agent.permissions import PermissionPolicy
from runner.agent.spec import AgentSpec
from runner.agent.tools.base import ReadLedger, Tool, ToolContext, ToolError, ToolResult, str_arg
from runner.agent.usage import UsageTracker

Emit = Callable[[dict[str, Any]], None]

TOOL_NAME = "Agent"
LEGACY_NAME = "Task"
SUBAGENT_TOOLS = frozenset({TOOL_NAME, LEGACY_NAME})
MODEL_ALIASES = ("sonnet", "opus", "haiku")  # the Agent tool's optional `model` input
# The tracking comment's checklist is the main agent's: a subagent's list would replace it.
PARENT_ONLY_TOOLS = frozenset({"TodoWrite", "update_progress"})
# Permission modes from the narrowest to the widest: a subagent's can only narrow its parent's.
_MODE_RANK = {"plan": 0, "default": 1, "dontAsk": 1, "acceptEdits": 2, "bypassPermissions": 3}

GENERAL_PURPOSE = AgentDefinition(
    name="general-purpose",
    description=(
        "General-purpose agent for researching complex questions, searching for code, and "
        "executing multi-step tasks. Use it when a search or a piece of work would take many "
        "steps, or several can be done independently at once."
    ),
    prompt=(
        "You are an agent that another agent has handed one task to, in a CI job where nobody can "
        "answer questions. Do the task with your tools, thoroughly but without going beyond it: "
        "search broadly when you do not know where something is, read before you change, and "
        "verify what you can. Your final message is all the delegating agent sees: make it a "
        "complete, self-contained report of what you found or did (file paths, names, results), "
        "and say plainly what you could not do."
    ),
    tools=None,
    model=None,
    permission_mode=None,
    source="built-in",
)


@dataclasses.dataclass
class _Run:
    """What a bound Agent tool runs subagents with: the parent's spec, client, stream and usage."""

    parent: AgentSpec
    client: Any
    emit: Emit
    usage: UsageTracker
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)  # one line at a time


class AgentTool(Tool):
    """Launch a subagent for a task; its final message is the result."""

    name: ClassVar[str] = TOOL_NAME
    aliases: ClassVar[tuple[str, ...]] = (LEGACY_NAME,)
    description: ClassVar[str] = "Launch a new agent to handle a complex, multi-step task on its own."
    # It changes nothing itself: the subagent's own calls are checked. `Agent(name)` deny rules apply.
    read_only: ClassVar[bool] = True
    concurrent: ClassVar[bool] = True
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "description": {"type": "string", "description": "A short (3-5 word) description of the task"},
            "prompt": {"type": "string", "description": "The task for the agent to perform"},
            "subagent_type": {
                "type": "string",
                "description": "The type of specialized agent to use for this task",
            },
            "model": {
                "type": "string",
                "enum": list(MODEL_ALIASES),
                "description": "Optional model for this agent; by default the agent's own, or yours",
            },
        },
        "required": ["description", "prompt", "subagent_type"],
        "additionalProperties": False,
    }

    def __init__(self, agents: Mapping[str, AgentDefinition], models: Mapping[str, str]) -> None:
        """``agents`` by name; ``models``: model aliases and names resolved for the provider."""
        self.agents = dict(agents)
        self.models = dict(models)
        self._run: _Run | None = None

    def bind(self, parent: AgentSpec, client: Any, emit: Emit, usage: UsageTracker) -> None:
        """Give the tool what the run's subagents use: called once the run's client exists."""
        self._run = _Run(parent, client, emit, usage)

    def definition(self) -> dict[str, Any]:
        """The tool as the model sees it, with the agent types it can launch."""
        lines = [
            f"- {a.name}: {a.description} (Tools: {', '.join(a.tools) if a.tools is not None else '*'})"
            for a in self.agents.values()
        ]
        text = (
            "Launch a new agent to handle a complex, multi-step task on its own, in a fresh context. "
            "It sees only the prompt you give it, so include everything it needs; its final message "
            "comes back to you as the result (the user does not see it: relay what matters). Launch "
            "several at once, in one message, for independent tasks.\n\nAvailable agent types:\n"
            + "\n".join(lines)
        )
        return {"name": self.name, "description": text, "input_schema": self.input_schema}

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Run the subagent to its end and return its final message."""
        prompt = str_arg(args, "prompt")
        kind = str_arg(args, "subagent_type", required=False) or GENERAL_PURPOSE.name
        agent = self.agents.get(kind)
        if agent is None:
            raise ToolError(f"Agent type '{kind}' not found. Available agents: {', '.join(self.agents)}")
        if self._run is None:
            raise ToolError("subagents are not available in this run")
        run = self._run
        alias = args.get("model")
        model = self.models.get(alias) if isinstance(alias, str) else None
        spec = subagent_spec(run.parent, agent, prompt, ctx, model or self.models.get(agent.model or ""))

        def emit(event: dict[str, Any]) -> None:
            kind = event.get("type")
            if kind == "result" or (kind == "system" and event.get("subtype") == "init"):
                return  # the subagent's end is the tool result; the run has one init and one result
            if kind in ("user", "assistant"):
                event = {**event, "parent_tool_use_id": ctx.tool_use_id}
            with run.lock:
                run.emit(event)

        emit(
            {
                "type": "user",
                "message": {"role": "user", "content": [{"type": "text", "text": prompt}]},
                "session_id": spec.session_id,
            }
        )
        outcome = run_agent(spec, run.client, emit, run.usage)
        text = str(outcome.result.get("result") or "")
        denials = list(outcome.result.get("permission_denials") or [])  # the run's too
        if not outcome.result.get("is_error"):
            return ToolResult(text or f"The {agent.name} agent finished without a message.", denials=denials)
        errors = "; ".join(outcome.result.get("errors") or [str(outcome.result.get("subtype"))])
        last = f" Its last message: {text}" if text and text not in errors else ""
        message = f"The {agent.name} agent stopped before finishing: {errors}.{last}"
        return ToolResult(message, True, denials)


def subagent_spec(
    parent: AgentSpec, agent: AgentDefinition, prompt: str, ctx: ToolContext, model: str | None
) -> AgentSpec:
    """The spec a subagent runs with: its own prompt, system prompt, model and fresh history;
    the parent's tools and permissions, narrowed; the run's remaining time."""
    tools = subagent_tools(parent.tools, agent)
    remaining = None if ctx.deadline is None else max(ctx.deadline - time.monotonic(), 0.001)
    web_search = agent.tools is None or "WebSearch" in agent.tools
    web_search = web_search and "WebSearch" not in agent.disallowed_tools
    return dataclasses.replace(
        parent,
        prompt=prompt,
        prompt_content=(),
        model=model or parent.model,
        fallback_model=parent.fallback_model if model is None else None,
        system_prompt=f"{agent.prompt}\n\nWorking directory: {ctx.cwd}.",
        tools=tools,
        policy=subagent_policy(parent.policy, agent.permission_mode),
        # Files the parent read are not the subagent's: Write and Edit want them read again.
        workspace=dataclasses.replace(ctx, read_files=ReadLedger(), tool_use_id="", deadline=None),
        limits=dataclasses.replace(parent.limits, timeout_s=remaining),
        structured=None,
        history=(),
        hooks=parent.hooks.for_subagent(agent.name, uuid.uuid4().hex[:16]) if parent.hooks else None,
        server_tools=list(parent.server_tools) if web_search else [],
    )


def subagent_tools(offered: Sequence[Tool], agent: AgentDefinition) -> list[Tool]:
    """The parent's offered tools the agent may have: those it names (all when it names none),
    minus its ``disallowedTools``; never the Agent tool, nor the progress checklist's tools."""
    wanted = None if agent.tools is None else {_base_name(name) for name in agent.tools}
    unwanted = {_base_name(name) for name in agent.disallowed_tools}

    def named(tool: Tool, names: set[str]) -> bool:
        return tool.name in names or any(
            n.startswith("mcp__") and tool.name.startswith(n + "__") for n in names
        )

    return [
        tool
        for tool in offered
        if tool.name not in SUBAGENT_TOOLS | PARENT_ONLY_TOOLS
        and (wanted is None or named(tool, wanted))
        and not named(tool, unwanted)
    ]


def subagent_policy(parent: PermissionPolicy, mode: str | None) -> PermissionPolicy:
    """The parent's policy; the agent's ``permissionMode`` applies only where it is narrower."""
    if mode is None or _MODE_RANK.get(mode, 3) >= _MODE_RANK.get(parent.mode, 3):
        return parent
    return dataclasses.replace(parent, mode=mode)


def bind_subagents(spec: AgentSpec, client: Any, emit: Emit, usage: UsageTracker) -> None:
    """Bind the run's Agent tool, if it offers one, to the run's client, stream and usage."""
    for tool in spec.tools:
        if isinstance(tool, AgentTool):
            tool.bind(spec, client, emit, usage)


def _base_name(name: str) -> str:
    """``Agent(reviewer)`` -> ``Agent``; ``Bash(git:*)`` -> ``Bash`` (a tool list names tools)."""
    return name.split("(", 1)[0].strip()
