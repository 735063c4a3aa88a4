"""The stream-json events the loop emits: ``init``, ``api_retry`` and the result envelope, with
Claude Code's field names."""

from __future__ import annotations

import time
import uuid
from typing import Any

from runner.agent.model_call import ModelCallError
from runner.agent.spec import AgentSpec, RunState
from runner.providers.fixes import model_error_fix


def init_event(spec: AgentSpec, tool_names: list[str]) -> dict[str, Any]:
    return {
        "type": "system",
        "subtype": "init",
        "session_id": spec.session_id,
        "cwd": str(spec.workspace.cwd),
        "tools": tool_names,
        "mcp_servers": [{"name": s["name"], "status": s["status"]} for s in spec.mcp_servers],
        "model": spec.model,
        "permissionMode": spec.policy.mode,
        "apiKeySource": spec.api_key_source,
        "uuid": str(uuid.uuid4()),
    }


def retry_event(spec: AgentSpec, attempt: int, delay: float, error: ModelCallError) -> dict[str, Any]:
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


def result_event(spec: AgentSpec, state: RunState, subtype: str, error: str | None) -> dict[str, Any]:
    is_error = subtype != "success"
    result: dict[str, Any] = {
        "type": "result",
        "subtype": subtype,
        "is_error": is_error,
        "duration_ms": int((time.monotonic() - state.started) * 1000),
        "duration_api_ms": state.api_ms,
        "num_turns": state.usage.turns,  # the subagents' turns included
        "result": state.last_text if not is_error or state.last_text else (error or ""),
        "session_id": spec.session_id,
        "model": state.model or spec.model,
        "total_cost_usd": round(state.usage.total_cost_usd, 6),
        "usage": state.usage.totals(),
        "modelUsage": state.usage.model_usage(),
        "permission_denials": state.denials,
        "uuid": str(uuid.uuid4()),
    }
    if state.usage.cost_is_estimate:
        result["cost_is_estimate"] = True
    if error:
        result["errors"] = [error]
    if spec.mcp_servers:
        result["mcp_servers"] = [dict(s) for s in spec.mcp_servers]
    if spec.structured is not None:
        result["structured_output"] = spec.structured.value
    return result


def model_error_text(exc: ModelCallError, key_source: str = "") -> str:
    text = f"model API error: {exc.message}"
    if exc.retries:
        text += f" (gave up after {exc.retries} {'retry' if exc.retries == 1 else 'retries'})"
    text = f"{text} (request-id {exc.request_id})" if exc.request_id else text
    return f"{text} — {model_error_fix(exc.status, key_source=key_source)}"  # doctor's fixes


def minutes(seconds: float | None) -> str:
    if seconds is None:
        return "configured"
    return f"{seconds / 60:g}-minute" if seconds >= 60 else f"{seconds:g}-second"
