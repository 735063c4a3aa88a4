"""Server-sent events as the Anthropic Messages API frames them (stdlib only).

`message_events` turns a complete Message into the event sequence the real API streams
(`message_start`, `content_block_start`, a `ping`, `content_block_delta`..., `content_block_stop`,
`message_delta`, `message_stop`), `encode_event` frames one event, and `parse_sse` reads a stream
back, so tests can check the fake's output and recorded API captures with the same parser.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

JSONDict = dict[str, Any]


@dataclass(frozen=True)
class SSEEvent:
    """One parsed server-sent event: its `event:` name and its `data:` decoded as JSON."""

    event: str
    data: JSONDict


def encode_event(name: str, data: Mapping[str, Any]) -> bytes:
    """Frame one event the way the API does: `event: NAME`, `data: JSON`, blank line."""
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def chunks(s: str, size: int) -> list[str]:
    """Split `s` into pieces of at most `size` characters (an empty string gives no piece)."""
    size = max(size, 1)
    return [s[i : i + size] for i in range(0, len(s), size)]


def _json_pieces(obj: Any) -> list[str]:
    # The API opens every tool input with an empty partial_json, then streams a few pieces.
    raw = json.dumps(obj)
    return ["", *chunks(raw, min(12, max(1, len(raw) // 3)))]


def _block_events(index: int, block: Mapping[str, Any]) -> Iterator[tuple[str, JSONDict]]:
    kind = block.get("type")
    if kind == "text":
        start: JSONDict = {"type": "text", "text": ""}
        deltas: list[JSONDict] = [
            {"type": "text_delta", "text": t} for t in chunks(str(block.get("text", "")), 24)
        ]
    elif kind in ("tool_use", "server_tool_use"):
        start = {k: v for k, v in block.items() if k != "input"}
        if kind == "tool_use":
            start.setdefault("caller", {"type": "direct"})
        start["input"] = {}
        pieces = _json_pieces(block.get("input", {}))
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        thought = chunks(str(block.get("thinking", "")), 24)
        deltas = [{"type": "thinking_delta", "thinking": t} for t in thought]
        deltas.append({"type": "signature_delta", "signature": str(block.get("signature", ""))})
    elif kind == "compaction":  # as the API streams it: an empty block, then one delta with the summary
        start = {"type": "compaction", "content": None, "encrypted_content": None}
        summary = {"content": block.get("content"), "encrypted_content": block.get("encrypted_content")}
        deltas = [{"type": "compaction_delta", **summary}]
    else:  # other blocks arrive whole in content_block_start
        start, deltas = dict(block), []
    yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
    if index == 0:
        yield "ping", {"type": "ping"}
    for delta in deltas:
        yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    yield "content_block_stop", {"type": "content_block_stop", "index": index}


def message_events(message: Mapping[str, Any]) -> list[tuple[str, JSONDict]]:
    """The event sequence that streams `message` (a complete Messages API `message` object)."""
    usage = dict(message.get("usage") or {})
    opening = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    events: list[tuple[str, JSONDict]] = [("message_start", {"type": "message_start", "message": opening})]
    for i, block in enumerate(message.get("content") or []):
        events.extend(_block_events(i, block))
    if not message.get("content"):
        events.append(("ping", {"type": "ping"}))
    delta = {"stop_reason": message.get("stop_reason"), "stop_sequence": message.get("stop_sequence")}
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": delta,
                "usage": {
                    "output_tokens": usage.get("output_tokens", 0),
                    **({"server_tool_use": usage["server_tool_use"]} if "server_tool_use" in usage else {}),
                },
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def parse_sse(raw: str | bytes) -> list[SSEEvent]:
    """Parse an SSE stream into events (`event:` + JSON `data:`); comments and blank data are skipped."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    out: list[SSEEvent] = []
    name: str | None = None
    data: list[str] = []
    for line in [*text.replace("\r\n", "\n").split("\n"), ""]:
        if line == "":
            if data:
                out.append(SSEEvent(name or "message", json.loads("\n".join(data))))
            name, data = None, []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
    return out
