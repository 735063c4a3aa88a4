"""When each part of a run happened: the agent's events stamped as they arrive, for the run report.

``RunTimeline`` is one more event sink next to the live log and the transcript (the events carry
no times of their own). It keeps a small copy of each event: the model, its usage and the tool
calls of an assistant message; which calls failed in a tool result; retries and the result.
``model_calls`` and ``tool_batches`` turn that into spans: a model call runs from the event
before it (the start, or the previous turn's tool results) to its message; a turn's tools run,
one after another, from that message to their results (the loop reports them together, so a
turn's tools share one span).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.agent.live_log import short_input


@dataclass(frozen=True)
class TimedEvent:
    """One agent event, reduced to what the report shows, and when it arrived (epoch seconds)."""

    at: float
    event: Mapping[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """One tool call: its name, a one-line input, and how it ended."""

    id: str
    name: str
    input: str
    outcome: str = "no result"  # "ok", "error", "denied", or "no result" (the run stopped first)


@dataclass(frozen=True)
class ModelCall:
    """One model call (a turn): its span, model, tokens, and the retries it needed."""

    turn: int
    start: float
    end: float
    model: str
    input_tokens: int
    output_tokens: int
    retries: int = 0


@dataclass(frozen=True)
class ToolBatch:
    """The tool calls of one turn, run one after another, and their span."""

    turn: int
    start: float
    end: float | None  # None: the run stopped before they finished
    calls: tuple[ToolCall, ...]


def _shown(block: Mapping[str, Any]) -> str:
    """A tool call's input as the log shows it: one short line (a Write's content is not kept)."""
    args = block.get("input")
    return short_input(str(block.get("name", "")), args if isinstance(args, Mapping) else {})


def _compact(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the report needs of an event (a tool's output is not kept)."""
    kind, subtype = event.get("type"), event.get("subtype")
    raw = event.get("message")
    message: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    blocks = message.get("content")
    content: list[Any] = blocks if isinstance(blocks, list) else []
    if kind == "system" and subtype in ("init", "api_retry"):
        return {"type": kind, "subtype": subtype, "model": event.get("model")}
    if kind == "assistant":
        calls = [
            {"id": str(b.get("id", "")), "name": str(b.get("name", "")), "input": _shown(b)}
            for b in content
            if isinstance(b, Mapping) and b.get("type") == "tool_use"
        ]
        return {
            "type": kind,
            "model": message.get("model"),
            "usage": message.get("usage") or {},
            "calls": calls,
        }
    if kind == "user":
        results = [
            {"id": str(b.get("tool_use_id", "")), "error": bool(b.get("is_error"))}
            for b in content
            if isinstance(b, Mapping) and b.get("type") == "tool_result"
        ]
        return {"type": kind, "results": results} if results else None
    if kind == "result":
        return dict(event)
    return None


@dataclass
class RunTimeline:
    """An event sink that stamps each event with the time it arrived."""

    clock: Callable[[], float] = time.time
    events: list[TimedEvent] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, event: Mapping[str, Any]) -> None:
        """Record one event (called by the loop, through ``tee``)."""
        kept = _compact(event)
        if kept is not None:
            with self._lock:
                self.events.append(TimedEvent(self.clock(), kept))


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def model_calls(events: Iterable[TimedEvent]) -> list[ModelCall]:
    """The run's model calls, in order."""
    calls: list[ModelCall] = []
    since: float | None = None
    retries = 0
    for timed in events:
        kind = timed.event.get("type")
        if kind == "system" and timed.event.get("subtype") == "api_retry":
            retries += 1
        elif kind == "assistant":
            usage = timed.event.get("usage") or {}
            start = since if since is not None else timed.at
            model = str(timed.event.get("model") or "")
            tokens_in = sum(
                _int(usage.get(k))
                for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
            )
            calls.append(
                ModelCall(
                    len(calls) + 1,
                    start,
                    timed.at,
                    model,
                    tokens_in,
                    _int(usage.get("output_tokens")),
                    retries,
                )
            )
            retries = 0
        if kind in ("system", "user", "assistant") and timed.event.get("subtype") != "api_retry":
            since = timed.at
    return calls


def _ended(call: ToolCall, errors: Mapping[str, bool], denied: set[str]) -> ToolCall:
    if call.id not in errors:
        return call
    outcome = "denied" if call.id in denied else "error" if errors[call.id] else "ok"
    return ToolCall(call.id, call.name, call.input, outcome)


def tool_batches(events: Iterable[TimedEvent], *, quiet: bool = False) -> list[ToolBatch]:
    """Each turn's tool calls, with their outcomes and span (``quiet``: no inputs)."""
    batches: list[ToolBatch] = []
    denied: set[str] = set()
    open_batch: tuple[int, float, list[ToolCall]] | None = None
    turn = 0
    timed_list = list(events)
    for timed in timed_list:
        if timed.event.get("type") == "result":
            denied |= {
                str(d.get("tool_use_id", ""))
                for d in timed.event.get("permission_denials") or []
                if isinstance(d, Mapping)
            }
    for timed in timed_list:
        kind = timed.event.get("type")
        if kind == "assistant":
            turn += 1
            if open_batch is not None:  # never answered (should not happen): closed without an end
                batches.append(ToolBatch(open_batch[0], open_batch[1], None, tuple(open_batch[2])))
                open_batch = None
            calls = [
                ToolCall(c["id"], c["name"], "" if quiet else c["input"])
                for c in timed.event.get("calls") or []
            ]
            if calls:
                open_batch = (turn, timed.at, calls)
        elif kind == "user" and open_batch is not None:
            errors = {r["id"]: r["error"] for r in timed.event.get("results") or []}
            ended = [_ended(c, errors, denied) for c in open_batch[2]]
            batches.append(ToolBatch(open_batch[0], open_batch[1], timed.at, tuple(ended)))
            open_batch = None
    if open_batch is not None:
        batches.append(ToolBatch(open_batch[0], open_batch[1], None, tuple(open_batch[2])))
    return batches


def result_of(events: Iterable[TimedEvent]) -> Mapping[str, Any] | None:
    """The run's result event, if it got that far."""
    found: Mapping[str, Any] | None = None
    for timed in events:
        if timed.event.get("type") == "result":
            found = timed.event
    return found


__all__ = [
    "ModelCall",
    "RunTimeline",
    "TimedEvent",
    "ToolBatch",
    "ToolCall",
    "model_calls",
    "result_of",
    "tool_batches",
]
