"""Scripted assistant turns and injected faults for the fake Messages API (stdlib only)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from runner.testing.sse import JSONDict, encode_event

DONE_TEXT = "Done."
# kind -> (HTTP status, error.type, default message), as the API reports them
FAULT_KINDS: dict[str, tuple[int, str, str]] = {
    "rate_limit": (429, "rate_limit_error", "This request would exceed your rate limit. Try again later."),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "api_error": (500, "api_error", "Internal server error"),
    "invalid_request": (400, "invalid_request_error", "Invalid request"),
    "authentication": (401, "authentication_error", "invalid x-api-key"),
    "permission": (403, "permission_error", "Your API key does not have permission to use this resource."),
    "not_found": (404, "not_found_error", "Not Found"),
    "drop": (0, "", ""),  # the connection closes part-way through the reply
    "hang": (0, "", ""),  # nothing is sent for delay_s seconds, then the connection closes
    # A streamed reply (HTTP 200) that fails part-way, as the API's streams can:
    "stream_error": (0, "", ""),  # an `event: error` (type `error`, default overloaded_error) ends it
    "malformed": (0, "", ""),  # one event's data line is not valid JSON (default: its JSON cut in half)
    "truncate": (0, "", ""),  # the body ends cleanly, but before message_stop
}
_STATUS_KINDS = {status: kind for kind, (status, _, _) in FAULT_KINDS.items() if status}
# Faults whose reply streams part of the scripted turn (which is then served again, whole, next time).
PARTIAL_KINDS = frozenset({"drop", "stream_error", "malformed", "truncate"})


def text(value: str) -> JSONDict:
    """A text content block."""
    return {"type": "text", "text": value}


def tool_use(name: str, input: Mapping[str, Any] | None = None, id: str | None = None) -> JSONDict:
    """A tool_use content block; without `id` one like `toolu_01...` is generated when served."""
    block: JSONDict = {"type": "tool_use", "name": name, "input": dict(input or {})}
    if id is not None:
        block["id"] = id
    return block


def web_search(query: str, results: Sequence[Mapping[str, str]] = ()) -> list[JSONDict]:
    """The API's server-side web search, as it appears in a turn: a ``server_tool_use`` block and
    its ``web_search_tool_result`` (``results``: dicts with ``url``, ``title``); the fake links their
    ids and counts the search in ``usage.server_tool_use``. Splice the list into a turn."""
    found = [
        {
            "type": "web_search_result",
            "url": r["url"],
            "title": r.get("title", r["url"]),
            "encrypted_content": r.get("encrypted_content", "opaque"),
            **({"page_age": r["page_age"]} if "page_age" in r else {}),
        }
        for r in results
    ]
    return [
        {"type": "server_tool_use", "name": "web_search", "input": {"query": query}},
        {"type": "web_search_tool_result", "content": found},
    ]


@dataclass(frozen=True)
class Fault:
    """An injected failure. `kind` is a key of FAULT_KINDS; `retry_after` (seconds) goes in the
    `retry-after` header; `delay_s` is how long a "hang" lasts.

    Where a stream fault strikes ("drop", "stream_error", "malformed", "truncate"): after
    `after_events` SSE events if set, else after `after_deltas` content deltas (default 1; 0 is
    before the first delta). `error`: the `error.type` of a "stream_error" (an API type such as
    "api_error", or a status kind such as "overloaded"). `data`: the text of a "malformed" data line
    (default: the event's own JSON cut in half). A request that did not ask for a stream gets the
    HTTP error of the same type for "stream_error", and half its JSON body for "malformed" and
    "truncate"."""

    kind: str
    message: str | None = None
    retry_after: float | None = None
    delay_s: float = 30.0
    after_events: int | None = None
    error: str | None = None
    after_deltas: int | None = None
    data: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if self.after_deltas is not None and self.after_deltas < 0:
            raise ValueError(f"after_deltas must be 0 or more, not {self.after_deltas}")

    def error_body(self) -> tuple[str | None, JSONDict]:
        """For a "stream_error": the status kind its type is answered with over HTTP (None if the
        type is not one of FAULT_KINDS), and the error object the stream carries."""
        wanted = self.error or "overloaded_error"
        matches = [k for k, (status, etype, _) in FAULT_KINDS.items() if status and wanted in (k, etype)]
        kind = matches[0] if matches else None
        etype, default = (FAULT_KINDS[kind][1], FAULT_KINDS[kind][2]) if kind else (wanted, "Error")
        return kind, {"type": "error", "error": {"type": etype, "message": self.message or default}}

    def cut(self, events: Sequence[tuple[str, JSONDict]]) -> int:
        """How many of a stream's events are sent as they are before this fault strikes (never
        message_delta or message_stop, unless `after_events` says so)."""
        if self.after_events is not None:
            return max(0, min(self.after_events, len(events)))
        wanted = 1 if self.after_deltas is None else self.after_deltas
        names = [name for name, _ in events]
        end = names.index("message_delta") if "message_delta" in names else len(names)
        deltas = [i for i, name in enumerate(names) if name == "content_block_delta"]
        if wanted == 0:
            return deltas[0] if deltas else end
        return deltas[wanted - 1] + 1 if len(deltas) >= wanted else end

    def stream_tail(self, events: Sequence[tuple[str, JSONDict]]) -> list[bytes]:
        """The SSE frames a "stream_error" or "malformed" fault sends after `events[:self.cut(events)]`
        (nothing for a "truncate")."""
        cut = self.cut(events)
        if self.kind == "stream_error":
            return [encode_event("error", self.error_body()[1])]
        if self.kind != "malformed":
            return []
        name, data = events[cut] if cut < len(events) else ("message_stop", {"type": "message_stop"})
        raw = json.dumps(data, separators=(",", ":"))
        line = self.data if self.data is not None else raw[: len(raw) // 2]
        # The broken event replaces the one it was cut from; the rest of the stream still follows.
        return [f"event: {name}\ndata: {line}\n\n".encode(), *(encode_event(*e) for e in events[cut + 1 :])]

    @classmethod
    def coerce(cls, spec: Fault | Mapping[str, Any] | str | int) -> Fault:
        """A Fault from a Fault, a kind name, an HTTP status, or a JSON object with "kind" or "status"."""
        if isinstance(spec, Fault):
            return spec
        if isinstance(spec, str | int):
            spec = {"kind": spec}
        kind = spec.get("kind", spec.get("status"))
        kind = _STATUS_KINDS.get(int(kind), str(kind)) if str(kind).isdigit() else str(kind)
        return cls(
            kind,
            spec.get("message"),
            spec.get("retry_after"),
            float(spec.get("delay_s", 30.0)),
            spec.get("after_events"),
            spec.get("error"),
            spec.get("after_deltas"),
            spec.get("data"),
        )


def fault(kind: str, **options: Any) -> Fault:
    """Shorthand for `Fault(kind, ...)`, e.g. `fault("rate_limit", retry_after=2)`."""
    return Fault(kind, **options)


@dataclass
class Turn:
    """One scripted assistant reply. `faults` are served, one per request, before the turn itself."""

    content: list[JSONDict]
    stop_reason: str | None = None
    model: str | None = None
    delay_s: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    # Answer 400, as the API does, unless the request sends back the thinking blocks served with
    # the tool calls of its last assistant message, unchanged.
    check_thinking: bool = False

    @classmethod
    def coerce(cls, spec: Any, request: JSONDict) -> Turn:
        """A fresh Turn from a Turn, a block list (a bare string in it is a text block), a single
        block, a string (a text turn), a JSON object with "content" (and "stop_reason", "model",
        "delay_s", "faults"), or a callable `(request_json) -> any of these`."""
        if callable(spec) and not isinstance(spec, Turn):
            return cls.coerce(spec(request), request)
        if isinstance(spec, Turn):
            return cls(
                [dict(b) for b in spec.content],
                spec.stop_reason,
                spec.model,
                spec.delay_s,
                list(spec.faults),
                spec.check_thinking,
            )
        if isinstance(spec, str):
            return cls([text(spec)])
        if isinstance(spec, Mapping) and "content" in spec:
            return cls(
                [dict(b) for b in spec["content"]],
                spec.get("stop_reason"),
                spec.get("model"),
                float(spec.get("delay_s", 0.0)),
                [Fault.coerce(f) for f in spec.get("faults", [])],
                bool(spec.get("check_thinking", False)),
            )
        if isinstance(spec, Mapping):
            return cls([dict(spec)])
        blocks = cast(Sequence[Mapping[str, Any] | str], spec)
        return cls([text(b) if isinstance(b, str) else dict(b) for b in blocks])


def turn(
    *blocks: JSONDict | str,
    stop_reason: str | None = None,
    model: str | None = None,
    delay_s: float = 0.0,
    faults: Iterable[Fault | str] = (),
    check_thinking: bool = False,
) -> Turn:
    """A scripted turn from blocks (a bare string is a text block) with optional overrides."""
    return Turn(
        [text(b) if isinstance(b, str) else dict(b) for b in blocks],
        stop_reason,
        model,
        delay_s,
        [Fault.coerce(f) for f in faults],
        check_thinking,
    )


def thinking(value: str, signature: str | None = None) -> JSONDict:
    """A thinking block; without `signature` the fake signs it when served."""
    block: JSONDict = {"type": "thinking", "thinking": value}
    if signature is not None:
        block["signature"] = signature
    return block


def redacted_thinking(data: str | None = None) -> JSONDict:
    """A redacted_thinking block (its `data` made up when served if not given)."""
    return {"type": "redacted_thinking", "data": data} if data else {"type": "redacted_thinking"}
