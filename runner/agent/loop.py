"""The tool-use loop: model call, tool calls, results, until an answer or a limit.

Pure orchestration: the model client and the event sink are passed in; tools and the
permission policy are values. Every way out of the loop produces a result envelope with
Claude Code's field names, so callers never have to handle a half-finished run.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from runner.agent import permissions
from runner.agent.cancel import CancelToken, Interrupted
from runner.agent.model_call import DeadlineExceeded, ModelCallError, ModelResponse, call_with_retries
from runner.agent.retry import RetryPolicy
from runner.agent.structured import StructuredOutputTool
from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult
from runner.agent.usage import UsageTracker
from runner.errors import RunnerError
from runner.providers.fixes import model_error_fix

Emit = Callable[[dict[str, Any]], None]
CACHE = {"type": "ephemeral"}
# How often the model may end its turn without calling StructuredOutput before we give up.
MAX_STRUCTURED_NUDGES = 2


@dataclass(frozen=True)
class Limits:
    """When a run stops even though the model has not finished."""

    max_turns: int | None = None
    timeout_s: float | None = None
    max_budget_usd: float | None = None
    max_output_tokens: int = 16384


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


@dataclass
class AgentOutcome:
    """The result envelope, and the model error that ended the run, if one did."""

    result: dict[str, Any]
    error: ModelCallError | None = None
    runner_error: RunnerError | None = None  # e.g. cloud credentials that could not be refreshed mid-run


@dataclass
class _RunState:
    started: float
    usage: UsageTracker
    turns: int = 0
    api_ms: int = 0
    denials: list[dict[str, Any]] = field(default_factory=list)
    last_text: str = ""
    nudges: int = 0


def run_agent(spec: AgentSpec, client: Any, emit: Emit, usage: UsageTracker | None = None) -> AgentOutcome:
    """Run the loop to an end state and emit every event, the result last."""
    state = _RunState(started=time.monotonic(), usage=usage or UsageTracker())
    deadline = state.started + spec.limits.timeout_s if spec.limits.timeout_s else None
    ctx = replace(spec.workspace, deadline=deadline)
    tools = {t.name: t for t in spec.tools}
    if spec.structured is not None:
        tools[spec.structured.name] = spec.structured
    definitions = [t.definition() for t in tools.values()]
    emit(_init_event(spec, list(tools)))
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": spec.prompt}]}]

    def finish(subtype: str, error: str | None = None, exc: ModelCallError | None = None) -> AgentOutcome:
        result = _result_event(spec, state, subtype, error)
        emit(result)
        return AgentOutcome(result, exc)

    try:
        while True:
            spec.cancel.check()
            stop = _limit_reached(spec.limits, state, deadline)
            if stop:
                return finish(*stop)
            params = _request(spec, definitions, messages)

            def on_retry(attempt: int, delay: float, error: ModelCallError) -> None:
                emit(_retry_event(spec, attempt, delay, error))

            response = call_with_retries(
                client,
                params,
                stream=spec.stream,
                deadline=deadline,
                timeout_s=spec.api_timeout_s,
                policy=spec.retry,
                on_retry=on_retry,
                cancel=spec.cancel,
            )
            state.turns += 1
            state.api_ms += response.api_ms
            state.usage.add(response.model or spec.model, response.usage)
            emit(
                {
                    "type": "assistant",
                    "message": response.as_message(),
                    "parent_tool_use_id": None,
                    "session_id": spec.session_id,
                }
            )
            messages.append({"role": "assistant", "content": _replayable(response.content)})
            texts = [b["text"] for b in response.content if b.get("type") == "text" and b.get("text")]
            if texts:
                state.last_text = "\n".join(texts)
            calls = [b for b in response.content if b.get("type") == "tool_use"]
            if not calls:
                if response.stop_reason == "refusal":
                    return finish(
                        "error_during_execution", "the model declined the request (stop_reason: refusal)"
                    )
                if spec.structured is not None and spec.structured.value is None:
                    if state.nudges >= MAX_STRUCTURED_NUDGES:
                        return finish(
                            "error_during_execution",
                            "the model did not return the required structured output",
                        )
                    state.nudges += 1
                    messages.append(
                        {
                            "role": "user",
                            "content": [
                                {
                                    "type": "text",
                                    "text": (
                                        f"Call the {spec.structured.name} tool with your final answer; "
                                        "it must match the schema."
                                    ),
                                }
                            ],
                        }
                    )
                    continue
                return finish("success")
            results = [_run_tool(spec, tools, call, ctx, state) for call in calls]
            emit(
                {
                    "type": "user",
                    "message": {"role": "user", "content": results},
                    "parent_tool_use_id": None,
                    "session_id": spec.session_id,
                }
            )
            messages.append({"role": "user", "content": results})
            if spec.structured is not None and spec.structured.value is not None:
                state.last_text = json.dumps(spec.structured.value)
                return finish("success")
    except DeadlineExceeded:
        return finish("error_timeout", f"stopped after the {_minutes(spec.limits.timeout_s)} time limit")
    except ModelCallError as exc:
        if spec.cancel.reason is not None:
            return finish("error_during_execution", f"cancelled by {spec.cancel.reason}")
        return finish("error_during_execution", _model_error_text(exc, spec.api_key_source), exc)
    except Interrupted as exc:
        return finish("error_during_execution", f"cancelled by {exc or 'a signal'}")
    except RunnerError as exc:  # raised by a provider client, e.g. a refused credential refresh
        outcome = finish("error_during_execution", exc.one_line())
        outcome.runner_error = exc
        return outcome


def _limit_reached(limits: Limits, state: _RunState, deadline: float | None) -> tuple[str, str] | None:
    """Checked before every model call, so a limit never allows one call more."""
    if limits.max_turns is not None and state.turns >= limits.max_turns:
        return "error_max_turns", f"reached the limit of {limits.max_turns} turns"
    if deadline is not None and time.monotonic() >= deadline:
        return "error_timeout", f"stopped after the {_minutes(limits.timeout_s)} time limit"
    if limits.max_budget_usd is not None and state.usage.total_cost_usd >= limits.max_budget_usd:
        return "error_max_budget", (
            f"spent ${state.usage.total_cost_usd:.4f}, reaching the budget of ${limits.max_budget_usd:.4f}"
        )
    return None


def _request(
    spec: AgentSpec, definitions: list[dict[str, Any]], messages: list[dict[str, Any]]
) -> dict[str, Any]:
    """The Messages API request, with prompt-cache breakpoints.

    One breakpoint closes the stable prefix (tools + system); two more sit on the last
    blocks of the two newest messages, so each turn reads everything before it from the
    cache and writes only what is new.
    """
    params: dict[str, Any] = {
        "model": spec.model,
        "max_tokens": spec.limits.max_output_tokens,
        "system": [{"type": "text", "text": spec.system_prompt, "cache_control": CACHE}],
        "messages": _with_tail_breakpoints(messages),
    }
    if definitions:
        params["tools"] = definitions
    return params


def _with_tail_breakpoints(messages: list[dict[str, Any]], count: int = 2) -> list[dict[str, Any]]:
    marked = list(messages)
    for index in range(len(marked) - 1, max(len(marked) - 1 - count, -1), -1):
        content = marked[index]["content"]
        if not content:
            continue
        last = {**content[-1], "cache_control": CACHE}
        marked[index] = {**marked[index], "content": [*content[:-1], last]}
    return marked


def _replayable(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Assistant content as it can be sent back (invalid tool input replaced by an empty object)."""
    out = []
    for block in content:
        if block.get("type") == "tool_use" and "__invalid_json__" in block.get("input", {}):
            block = {**block, "input": {}}
        out.append(block)
    return out


def _run_tool(
    spec: AgentSpec, tools: Mapping[str, Tool], call: dict[str, Any], ctx: ToolContext, state: _RunState
) -> dict[str, Any]:
    """Check permission, validate input, run, and turn any failure into a result the model can read."""
    name, args, call_id = call.get("name", ""), call.get("input") or {}, call.get("id", "")
    tool = tools.get(name)
    if tool is None:
        return ToolResult(f"No such tool available: {name}. Available: {', '.join(tools)}", True).to_block(
            call_id
        )
    if "__invalid_json__" in args:
        return ToolResult(f"The input for {name} was not valid JSON; send the call again.", True).to_block(
            call_id
        )
    problem = check_input(tool.definition()["input_schema"], args)
    if problem:
        return ToolResult(f"Invalid input for {name}: {problem}", True).to_block(call_id)
    if tool.needs_permission:
        decision = permissions.decide(
            spec.policy, name, args, read_only=tool.read_only, edits_files=tool.edits_files
        )
        if not decision.allowed:
            state.denials.append({"tool_name": name, "tool_use_id": call_id, "tool_input": args})
            return ToolResult(decision.reason, True).to_block(call_id)
    try:
        result = tool.run(args, ctx)
    except ToolError as exc:
        result = ToolResult(str(exc), True)
    except Interrupted:
        raise
    except Exception as exc:  # a bug in a tool must not end the run: the model can work around it
        result = ToolResult(f"{name} failed unexpectedly: {type(exc).__name__}: {exc}", True)
    return result.to_block(call_id)


def check_input(schema: Mapping[str, Any], args: Mapping[str, Any]) -> str | None:
    """A first check of a tool call: required parameters present (tools check their own types)."""
    missing = [k for k in schema.get("required", []) if k not in args]
    return f"missing required parameter(s): {', '.join(missing)}" if missing else None


def _init_event(spec: AgentSpec, tool_names: list[str]) -> dict[str, Any]:
    return {
        "type": "system",
        "subtype": "init",
        "session_id": spec.session_id,
        "cwd": str(spec.workspace.cwd),
        "tools": tool_names,
        "mcp_servers": [],
        "model": spec.model,
        "permissionMode": spec.policy.mode,
        "apiKeySource": spec.api_key_source,
        "uuid": str(uuid.uuid4()),
    }


def _retry_event(spec: AgentSpec, attempt: int, delay: float, error: ModelCallError) -> dict[str, Any]:
    return {
        "type": "system",
        "subtype": "api_retry",
        "attempt": attempt,
        "max_retries": spec.retry.max_retries,
        "retry_delay_ms": int(delay * 1000),
        "error_status": error.status,
        "error": error.kind,
        "message": error.message,
        "uuid": str(uuid.uuid4()),
        "session_id": spec.session_id,
    }


def _result_event(spec: AgentSpec, state: _RunState, subtype: str, error: str | None) -> dict[str, Any]:
    is_error = subtype != "success"
    result: dict[str, Any] = {
        "type": "result",
        "subtype": subtype,
        "is_error": is_error,
        "duration_ms": int((time.monotonic() - state.started) * 1000),
        "duration_api_ms": state.api_ms,
        "num_turns": state.turns,
        "result": state.last_text if not is_error or state.last_text else (error or ""),
        "session_id": spec.session_id,
        "total_cost_usd": round(state.usage.total_cost_usd, 6),
        "usage": state.usage.totals(),
        "modelUsage": state.usage.model_usage(),
        "permission_denials": state.denials,
        "uuid": str(uuid.uuid4()),
    }
    if error:
        result["errors"] = [error]
    if spec.structured is not None:
        result["structured_output"] = spec.structured.value
    return result


def _model_error_text(exc: ModelCallError, key_source: str) -> str:
    text = f"model API error: {exc.message}"
    if exc.retries:
        text += f" (gave up after {exc.retries} {'retry' if exc.retries == 1 else 'retries'})"
    text = f"{text} (request-id {exc.request_id})" if exc.request_id else text
    return f"{text} — {model_error_fix(exc.status, key_source=key_source)}"  # doctor's fixes


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "configured"
    return f"{seconds / 60:g}-minute" if seconds >= 60 else f"{seconds:g}-second"


__all__ = ["AgentOutcome", "AgentSpec", "Interrupted", "Limits", "ModelResponse", "run_agent"]
