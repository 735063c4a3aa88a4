"""Scripted-model helpers for the platform tools' end-to-end tests: turns that read the previous
tool result (a job id, a log path) from the request, as a model would."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from runner.testing.fake_messages import FakeMessagesAPI, tool_use


def last_results(request: dict[str, Any]) -> list[str]:
    """The text of the tool results in the request's last user message."""
    message = request["messages"][-1]
    out = []
    for block in message["content"] if isinstance(message["content"], list) else []:
        if block.get("type") == "tool_result":
            content = block.get("content")
            if isinstance(content, list):
                content = "".join(b.get("text", "") for b in content)
            out.append(str(content))
    return out


def then(pick: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], Any]:
    """A turn built from the last tool result, parsed as JSON."""

    def turn(request: dict[str, Any]) -> Any:
        return [pick(json.loads(last_results(request)[-1]))]

    return turn


def read_log_turn() -> Callable[[dict[str, Any]], Any]:
    """Read the log file download_job_log wrote."""
    return then(lambda result: tool_use("Read", {"file_path": result["path"]}))


def tool_results(model: FakeMessagesAPI) -> list[str]:
    """Every tool result the model was sent, in order."""
    seen: list[str] = []
    for record in model.message_requests:
        for text in last_results(record.body):
            if text not in seen:
                seen.append(text)
    return seen


def offered_tools(model: FakeMessagesAPI) -> list[str]:
    """The tool names of the first request."""
    return [t["name"] for t in model.message_requests[0].body.get("tools", [])]
