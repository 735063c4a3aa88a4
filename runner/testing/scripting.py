"""Scripted assistant turns and injected faults for the fake Messages API (stdlib only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from runner.testing.sse import JSONDict

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
}
_STATUS_KINDS = {status: kind for kind, (status, _, _) in FAULT_KINDS.items() if status}


def text(value: str) -> JSONDict:
    """A text content block."""
    return {"type": "text", "text": value}


def tool_use(name: str, input: Mapping[str, Any] | None = None, id: str | None = None) -> JSONDict:
    """A tool_use content block; without `id` one like `toolu_01...` is generated when served."""
    block: JSONDict = {"type": "tool_use", "name": name, "input": dict(input or {})}
    if id is not None:
        block["id"] = id
    return block


@dataclass(frozen=True)
class Fault:
    """An injected failure. `kind` is a key of FAULT_KINDS; `retry_after` (seconds) goes in the
    `retry-after` header; `delay_s` is how long a "hang" lasts; `after_events` is how many SSE events
    a "drop" sends before closing (default: up to the first content delta)."""

    kind: str
    message: str | None = None
    retry_after: float | None = None
    delay_s: float = 30.0
    after_events: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")

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

    @classmethod
    def coerce(cls, spec: Any, request: JSONDict) -> Turn:
        """A fresh Turn from a Turn, a block list (a bare string in it is a text block), a single
        block, a string (a text turn), a JSON object with "content" (and "stop_reason", "model",
        "delay_s", "faults"), or a callable `(request_json) -> any of these`."""
        if callable(spec) and not isinstance(spec, Turn):
            return cls.coerce(spec(request), request)
        if isinstance(spec, Turn):
            return cls(
                [dict(b) for b in spec.content], spec.stop_reason, spec.model, spec.delay_s, list(spec.faults)
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
) -> Turn:
    """A scripted turn from blocks (a bare string is a text block) with optional overrides."""
    return Turn(
        [text(b) if isinstance(b, str) else dict(b) for b in blocks],
        stop_reason,
        model,
        delay_s,
        [Fault.coerce(f) for f in faults],
    )
