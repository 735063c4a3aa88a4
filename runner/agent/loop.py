"""The tool-use loop: model call, tool calls, results, until an answer or a limit.

Pure orchestration: the model client and the event sink are passed in; tools and the
permission policy are values. Every way out of the loop produces a result envelope with
Claude Code's field names, so callers never have to handle a half-finished run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from runner.agent import permissions
from runner.agent.cancel import Interrupted
from runner.agent.compaction import ContextKeeper, summary_request
from runner.agent.continuation import SUBTYPE as CUT_OFF
from runner.agent.continuation import Continuation
from runner.agent.conversation import CACHE, Conversation, encode_body
from runner.agent.fallback import ModelChoice
from runner.agent.loop_events import init_event, minutes, model_error_text, result_event, retry_event
from runner.agent.model_call import (
    DeadlineExceeded,
    ModelCallError,
    ModelResponse,
    call_with_retries,
    count_tokens,
)
from runner.agent.model_params import output_fields
from runner.agent.spec import AgentOutcome, AgentSpec, Limits, RunState
from runner.agent.tool_batch import run_calls
from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult
from runner.agent.usage import UsageTracker
from runner.errors import RunnerError
from runner.hooks.runner import HookStop, tool_response

Emit = Callable[[dict[str, Any]], None]
# How often the model may end its turn without calling StructuredOutput before we give up.
MAX_STRUCTURED_NUDGES = 2
# How often Stop hooks may keep a turn going (they see stop_hook_active=true after the first).
MAX_STOP_HOOK_TURNS = 3


def run_agent(spec: AgentSpec, client: Any, emit: Emit, usage: UsageTracker | None = None) -> AgentOutcome:
    """Run the loop to an end state and emit every event, the result last."""
    state = RunState(started=time.monotonic(), usage=usage or UsageTracker())
    deadline = state.started + spec.limits.timeout_s if spec.limits.timeout_s else None
    ctx = replace(spec.workspace, deadline=deadline)
    tools = {t.name: t for t in spec.tools}
    if spec.structured is not None:
        tools[spec.structured.name] = spec.structured
    definitions = [*(t.definition() for t in tools.values()), *spec.server_tools]
    # Claude Code lists the server-side web search as its WebSearch tool.
    emit(init_event(spec, [*tools, *(["WebSearch"] if spec.server_tools else [])]))
    for tool in list(tools.values()):  # a former name still reaches the tool, unoffered
        for alias in tool.aliases:
            tools.setdefault(alias, tool)
    first = list(spec.prompt_content) or [{"type": "text", "text": spec.prompt}]
    messages = Conversation(_opening(spec.history, first))
    choice, cut_off, sent = ModelChoice(spec.model, spec.fallback_model), Continuation(), {"max_tokens": 0}

    def warn(message: str) -> None:
        if message not in state.warned:
            state.warned.add(message)
            emit({"type": "system", "subtype": "warning", "message": message, "session_id": spec.session_id})

    fixed = len(encode_body(_request(spec, definitions, Conversation(), spec.model, warn)))
    hooks = spec.hooks
    context = ContextKeeper(
        spec.context,
        fixed_size=fixed,
        session_id=spec.session_id,
        pre_compact=(lambda trigger: hooks.pre_compact(trigger, ctx)) if hooks else (lambda trigger: True),
        post_compact=(lambda trigger, summary: hooks.post_compact(trigger, summary, ctx))
        if hooks
        else (lambda trigger, summary: None),
    )

    def finish(subtype: str, error: str | None = None, exc: ModelCallError | None = None) -> AgentOutcome:
        if spec.hooks is not None:
            if exc is not None or subtype == CUT_OFF:  # the turn ended on an API error
                kind = exc.kind if exc is not None else "max_output_tokens"
                code = str(exc.status or "connection") if exc is not None else "max_tokens"
                spec.hooks.stop_failure(kind, code, error or "", ctx)
            spec.hooks.end("other", ctx)
        result = result_event(spec, state, subtype, error)
        emit(result)
        return AgentOutcome(result, exc)

    try:
        if spec.hooks is not None:
            added, refused = spec.hooks.start(spec.prompt, resumed=bool(spec.history), ctx=ctx)
            if refused is not None:
                return finish(
                    "error_during_execution", f"a UserPromptSubmit hook refused the prompt: {refused}"
                )
            opening = messages[-1]  # replaced, not changed in place: the conversation keeps its JSON
            messages[-1] = {
                **opening,
                "content": [*opening["content"], *({"type": "text", "text": c} for c in added)],
            }
        while True:
            spec.cancel.check()
            stop = _limit_reached(spec.limits, state, deadline)
            if stop:
                return finish(*stop)

            def on_retry(attempt: int, delay: float, error: ModelCallError) -> None:
                emit(retry_event(spec, attempt, delay, error))

            def ask(params: dict[str, Any]) -> ModelResponse:
                return call_with_retries(
                    client,
                    params,
                    stream=spec.stream,
                    deadline=deadline,
                    timeout_s=spec.api_timeout_s,
                    policy=spec.retry,
                    on_retry=on_retry,
                    cancel=spec.cancel,
                )

            def summarise(history: list[dict[str, Any]]) -> str | None:
                request = summary_request(
                    _request(spec, definitions, Conversation(history), spec.model, warn)
                )
                try:
                    return _summary(ask(request), state)
                except ModelCallError:  # the old turns are dropped without a summary
                    return None

            def count() -> int | None:
                return count_tokens(
                    client,
                    _with_server(
                        _request(spec, definitions, messages, spec.model, warn), context.server_params()
                    ),
                )

            def call(model: str) -> ModelResponse:
                params = _with_server(
                    _request(spec, definitions, messages, model, warn), context.server_params()
                )
                sent["max_tokens"] = params["max_tokens"]
                return ask(params)

            compacted = context.fit(spec.model, messages, summarise, count)
            if compacted is not None:
                emit(compacted)
            try:
                model, response = choice.call(
                    call, lambda event: emit({**event, "session_id": spec.session_id})
                )
            except ModelCallError as exc:
                if context.refused(exc):  # the API would not compact for this model: the floor alone
                    continue
                raise
            context.observe(model, context.request_size(messages), response.content, response.usage)
            state.turns += 1
            state.usage.count_turn()  # the run's turns: a subagent's count too
            state.api_ms += response.api_ms
            state.model = response.model or model
            state.usage.add(state.model, response.usage)
            if state.model in state.usage.estimated:
                warn(f"{state.model} is not in the price table: its cost is an estimate at the highest price")
            emit(
                {
                    "type": "assistant",
                    "message": response.as_message(),
                    "parent_tool_use_id": None,
                    "session_id": spec.session_id,
                }
            )
            messages.append({"role": "assistant", "content": _replayable(response.content)})
            compacted = context.after_response(model, messages)
            if compacted is not None:
                emit(compacted)
            texts = [b["text"] for b in response.content if b.get("type") == "text" and b.get("text")]
            if texts or cut_off.prefix:
                state.last_text = cut_off.joined(texts)
            cut = cut_off.after(response.stop_reason, response.content, sent["max_tokens"])
            if cut is not None:  # stop_reason max_tokens: never an answer
                if cut.error or cut.replay is None or cut.prompt is None:
                    return finish(CUT_OFF, cut.error)
                messages[-1] = {"role": "assistant", "content": cut.replay}
                messages.append(cut.prompt)
                continue
            calls = [b for b in response.content if b.get("type") == "tool_use"]
            if not calls:
                if response.stop_reason == "pause_turn":  # a long server-tool turn: send it back to go on
                    continue
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
                if spec.hooks is not None and state.stop_hook_turns < MAX_STOP_HOOK_TURNS:
                    more = spec.hooks.stop(
                        active=state.stop_hook_turns > 0, ctx=ctx, last_message=state.last_text
                    )
                    if more is not None:
                        state.stop_hook_turns += 1
                        messages.append({"role": "user", "content": [{"type": "text", "text": more}]})
                        continue
                return finish("success")
            results = run_calls(
                calls,
                lambda call: _run_tool(spec, tools, call, ctx, state),
                lambda call: getattr(tools.get(call.get("name", "")), "concurrent", False),
            )
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
        return finish("error_timeout", f"stopped after the {minutes(spec.limits.timeout_s)} time limit")
    except ModelCallError as exc:
        if spec.cancel.reason is not None:
            return finish("error_during_execution", f"cancelled by {spec.cancel.reason}")
        return finish("error_during_execution", model_error_text(exc, spec.api_key_source), exc)
    except Interrupted as exc:
        return finish("error_during_execution", f"cancelled by {exc or 'a signal'}")
    except HookStop as exc:
        return finish("error_during_execution", f"a hook stopped the run: {exc}")
    except RunnerError as exc:  # raised by a provider client, e.g. a refused credential refresh
        outcome = finish("error_during_execution", exc.one_line())
        outcome.runner_error = exc
        return outcome


def _limit_reached(limits: Limits, state: RunState, deadline: float | None) -> tuple[str, str] | None:
    """Checked before every model call, so a limit never allows one call more."""
    if limits.max_turns is not None and state.usage.turns >= limits.max_turns:
        return "error_max_turns", f"reached the limit of {limits.max_turns} turns"
    if deadline is not None and time.monotonic() >= deadline:
        return "error_timeout", f"stopped after the {minutes(limits.timeout_s)} time limit"
    if limits.max_budget_usd is not None and state.usage.total_cost_usd >= limits.max_budget_usd:
        return "error_max_budget", (
            f"spent ${state.usage.total_cost_usd:.4f}, reaching the budget of ${limits.max_budget_usd:.4f}"
        )
    return None


def _request(
    spec: AgentSpec,
    definitions: list[dict[str, Any]],
    messages: Conversation,
    model: str,
    warn: Callable[[str], None],
) -> dict[str, Any]:
    """The Messages API request, with prompt-cache breakpoints.

    One breakpoint closes the stable prefix (tools + system); two more sit on the last
    blocks of the two newest messages, so each turn reads everything before it from the
    cache and writes only what is new.
    """
    fields, warnings = output_fields(model, spec.output, spec.limits.max_output_tokens)
    for line in warnings:
        warn(line)
    params: dict[str, Any] = {
        "model": model,
        **fields,
        "system": [{"type": "text", "text": spec.system_prompt, "cache_control": CACHE}],
        "messages": messages.wire(),
    }
    if definitions:
        params["tools"] = definitions
    if spec.betas:
        params["betas"] = list(spec.betas)
    return params


def _with_server(params: dict[str, Any], server: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with the context keeper's server fields; beta flags from both are kept."""
    merged = {**params, **server}
    if params.get("betas") and server.get("betas"):
        merged["betas"] = list(dict.fromkeys([*params["betas"], *server["betas"]]))
    return merged


def _summary(response: ModelResponse, state: RunState) -> str | None:
    """The summary text of a compaction request (its usage is the run's too)."""
    state.usage.add(response.model, response.usage)
    texts = [b["text"] for b in response.content if b.get("type") == "text" and b.get("text")]
    return "\n".join(texts) or None


def _opening(history: Sequence[dict[str, Any]], prompt: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first messages: a resumed session's, then the prompt (joined to a trailing user message)."""
    messages = [dict(m) for m in history]
    if messages and messages[-1]["role"] == "user":
        messages[-1]["content"] = [*messages[-1]["content"], *prompt]
    else:
        messages.append({"role": "user", "content": list(prompt)})
    return messages


def _replayable(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Assistant content as it can be sent back (invalid tool input replaced by an empty object)."""
    out = []
    for block in content:
        if block.get("type") == "tool_use" and "__invalid_json__" in block.get("input", {}):
            block = {**block, "input": {}}
        out.append(block)
    return out


def _run_tool(
    spec: AgentSpec, tools: Mapping[str, Tool], call: dict[str, Any], ctx: ToolContext, state: RunState
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
    policy = spec.policy
    if spec.hooks is not None:
        hook = spec.hooks.before_tool(name, args, call_id, ctx)
        if hook.block:
            state.denials.append({"tool_name": name, "tool_use_id": call_id, "tool_input": args})
            return ToolResult(f"PreToolUse hook denied this call: {hook.reason}", True).to_block(call_id)
        args = hook.updated_input if hook.updated_input is not None else args
        # A hook's allow skips the allow rules; deny and ask rules still apply.
        # Not in plan mode, which reviews run in to stay read-only.
        policy = replace(policy, mode="bypassPermissions") if hook.allow and policy.mode != "plan" else policy
    if tool.needs_permission:
        decision = permissions.decide(
            policy, name, args, read_only=tool.read_only, edits_files=tool.edits_files
        )
        if not decision.allowed:
            state.denials.append({"tool_name": name, "tool_use_id": call_id, "tool_input": args})
            return ToolResult(decision.reason, True).to_block(call_id)
    try:
        result = tool.run(args, replace(ctx, tool_use_id=call_id))
    except ToolError as exc:
        result = ToolResult(str(exc), True)
    except Interrupted:
        raise
    except Exception as exc:  # a bug in a tool must not end the run: the model can work around it
        result = ToolResult(f"{name} failed unexpectedly: {type(exc).__name__}: {exc}", True)
    state.denials.extend(result.denials)
    block = result.to_block(call_id)
    if spec.hooks is not None and (
        note := spec.hooks.after_tool(name, args, call_id, tool_response(block), ctx)
    ):
        event = "PostToolUseFailure" if block.get("is_error") else "PostToolUse"
        block["content"] = [*_blocks(block["content"]), {"type": "text", "text": f"{event} hook: {note}"}]
    return block


def _blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def check_input(schema: Mapping[str, Any], args: Mapping[str, Any]) -> str | None:
    """A first check of a tool call: required parameters present (tools check their own types)."""
    missing = [k for k in schema.get("required", []) if k not in args]
    return f"missing required parameter(s): {', '.join(missing)}" if missing else None


__all__ = ["AgentOutcome", "AgentSpec", "Interrupted", "Limits", "ModelResponse", "run_agent"]
