"""The values one agent turn is run with and ends in: its spec, limits, state and outcome."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.agent import permissions
from runner.agent.cancel import CancelToken
from runner.agent.context import ContextPolicy
from runner.agent.model_call import ModelCallError
from runner.agent.model_params import OutputOptions
from runner.agent.retry import RetryPolicy
from runner.agent.structured import StructuredOutputTool
from runner.agent.tools.base import Tool, ToolContext
from runner.agent.usage import UsageTracker
from runner.errors import RunnerError
from runner.hooks.runner import HookRunner


@dataclass(frozen=True)
class Limits:
    """When a run stops even though the model has not finished."""

    max_turns: int | None = None
    timeout_s: float | None = None
    max_budget_usd: float | None = None
    max_output_tokens: int | None = None  # None: the model's default (agent/model_params.py)


@dataclass(frozen=True)
class AgentSpec:
    """Everything one agent turn needs, as values."""

    prompt: str
    model: str
    system_prompt: str
    tools: Sequence[Tool]
    policy: permissions.PermissionPolicy
    workspace: ToolContext
    limits: Limits = field(default_factory=Limits)
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    structured: StructuredOutputTool | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    stream: bool = True
    api_timeout_s: float = 600.0
    api_key_source: str = "none"
    cancel: CancelToken = field(default_factory=CancelToken)
    output: OutputOptions = field(default_factory=OutputOptions)  # effort and thinking
    fallback_model: str | None = None
    context: ContextPolicy = field(default_factory=ContextPolicy)  # how the history fits the window
    # The first message's content blocks when it is more than ``prompt``'s text (a thread's images).
    prompt_content: tuple[dict[str, Any], ...] = ()
    mcp_servers: Sequence[Mapping[str, str]] = ()  # {name, status[, error]} of the run's MCP servers
    hooks: HookRunner | None = None  # the settings' hooks (runner/hooks/)
    betas: tuple[str, ...] = ()  # anthropic-beta headers
    history: tuple[dict[str, Any], ...] = ()  # a resumed session's messages, before the prompt
    server_tools: Sequence[dict[str, Any]] = ()  # run by the API (web search): definitions only


@dataclass
class AgentOutcome:
    """The result envelope, and the model error that ended the run, if one did."""

    result: dict[str, Any]
    error: ModelCallError | None = None
    runner_error: RunnerError | None = None  # e.g. cloud credentials that could not be refreshed mid-run


@dataclass
class RunState:
    """What a run has done so far (the loop's counters)."""

    started: float
    usage: UsageTracker
    turns: int = 0
    api_ms: int = 0
    denials: list[dict[str, Any]] = field(default_factory=list)
    last_text: str = ""
    nudges: int = 0
    model: str = ""  # the model that gave the last answer
    warned: set[str] = field(default_factory=set)
    stop_hook_turns: int = 0
