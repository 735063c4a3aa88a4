"""A run's events as OpenTelemetry spans, metrics and Claude Code's events, with Claude Code's names.

``RunTelemetry`` is an event sink like the live log: it reads the stream-json events the loop
emits (``init``, ``api_retry``, ``assistant``, ``user``, ``result``) and the CI flow's phases, and
turns them into spans and metric points on a ``Backend``. The backend (the OpenTelemetry SDK,
``otel.py``) is opened lazily, when the agent starts (or at the end, for a run that stopped in an
earlier phase), so nothing is imported before the tracking comment is posted; phases seen before
then become spans with their own start and end times.

Nothing here may stop a run: a failing backend is a warning line, then telemetry goes quiet.
Attributes are names and numbers; the prompt and tools' inputs only when ``OTEL_LOG_USER_PROMPTS``
/ ``OTEL_LOG_TOOL_DETAILS`` say so, and redacted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from runner.agent.live_log import short_input
from runner.agent.usage import Price, UsageTracker
from runner.sanitize import Redactor
from runner.telemetry.base import NoTelemetry, RunObserver

Attributes = dict[str, str | int | float | bool]

# Span names: Claude Code's where it has one (its traces beta), the runner's own for CI phases.
JOB_SPAN = "claude_runner.job"
PHASE_SPAN = "claude_runner.phase"
INTERACTION_SPAN = "claude_code.interaction"
LLM_SPAN = "claude_code.llm_request"
TOOL_SPAN = "claude_code.tool"

# name -> (kind, unit, description); "counter" or "histogram".
METRICS: dict[str, tuple[str, str, str]] = {
    "claude_code.session.count": ("counter", "count", "Agent runs started"),
    "claude_code.token.usage": ("counter", "tokens", "Tokens used, by type and model"),
    "claude_code.cost.usage": ("counter", "USD", "Estimated cost, by model"),
    "claude_runner.run.duration": ("histogram", "s", "Duration of an agent run, by outcome"),
    "claude_runner.phase.duration": ("histogram", "s", "Duration of a CI run's phase"),
}
# Claude Code's token types (its `type` attribute), from the API's usage fields.
TOKEN_TYPES = {
    "input_tokens": "input",
    "output_tokens": "output",
    "cache_read_input_tokens": "cacheRead",
    "cache_creation_input_tokens": "cacheCreation",
}
# The same, as the result's ``modelUsage`` names them.
RESULT_TOKEN_TYPES = {
    "inputTokens": "input",
    "outputTokens": "output",
    "cacheReadInputTokens": "cacheRead",
    "cacheCreationInputTokens": "cacheCreation",
}
PROMPT_CHARS = 4096  # a logged prompt, at most
REDACTED = "<REDACTED>"  # what Claude Code records instead of a prompt it may not log


class Backend(Protocol):
    """Where spans and metric points go (the SDK adapter, or a test's recorder)."""

    def start_span(self, name: str, start_ns: int, attributes: Attributes, parent: object | None) -> object:
        """Start a span at ``start_ns`` under ``parent``; returns its handle."""

    def end_span(self, span: object, end_ns: int, attributes: Attributes, error: str | None) -> None:
        """Set more attributes, an error status when ``error``, and end the span at ``end_ns``."""

    def span_event(self, span: object, name: str, time_ns: int, attributes: Attributes) -> None:
        """Add an event to a span."""

    def add(self, metric: str, value: float, attributes: Attributes) -> None:
        """Add to a counter, or record a histogram point (see ``METRICS``)."""

    def event(self, name: str, time_ns: int, attributes: Attributes) -> None:
        """Emit Claude Code's event ``claude_code.<name>`` as a log record."""

    def close(self) -> list[str]:
        """Flush and stop, within the export timeout; returns warning lines."""


@dataclass(frozen=True)
class TelemetryOptions:
    """What the observer records beyond names and numbers, and the metrics' standard attributes."""

    log_user_prompts: bool = False
    log_tool_details: bool = False
    include_session_id: bool = True
    version: str | None = None  # app.version on metrics (OTEL_METRICS_INCLUDE_VERSION)


class RunTelemetry:
    """Spans and metrics of one run, fed its events; ``open_backend`` is called once, lazily."""

    def __init__(
        self,
        open_backend: Callable[[], Backend | None],
        warn: Callable[[str], None],
        redactor: Redactor,
        *,
        options: TelemetryOptions | None = None,
        job: Attributes | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._open, self._warn, self.redactor, self.clock = open_backend, warn, redactor, clock
        self.options = options or TelemetryOptions()
        self._prompt = ""
        self._job_attributes: Attributes = dict(job or {})
        self._backend: Backend | None = None
        self._opened = self._dead = False
        self._created = clock()
        self._phases: list[tuple[str, int]] = []  # seen before the backend opened
        self._job: object | None = None
        self._phase: tuple[str, int, object] | None = None  # the current phase: name, start, span
        self._interaction: object | None = None
        self._session = ""
        self._usage = UsageTracker()
        self._waiting_since = self._created  # when the model call now running was sent
        self._retries: list[tuple[int, Attributes]] = []
        self._tools: dict[str, tuple[str, Attributes]] = {}
        self._tools_started = self._created

    # --- the observer interface ---------------------------------------------------------------

    def __call__(self, event: Mapping[str, Any]) -> None:
        """Record one stream-json event; never raises."""
        self._guard(lambda: self._event(event))

    def phase(self, name: str) -> None:
        """The CI run entered phase ``name``; never raises."""
        self._guard(lambda: self._enter_phase(name, self.clock()))

    def agent(self, prompt: str, prices: Mapping[str, Price], *, quiet: bool = False) -> None:
        """The agent turn about to start: its prompt (recorded only with ``OTEL_LOG_USER_PROMPTS``)
        and the prices its cost is reckoned at. ``quiet`` (a confidential issue's run): neither the
        prompt nor tools' inputs are recorded, whatever the variables say."""
        self._prompt = prompt
        self._usage = UsageTracker(prices=dict(prices))
        if quiet:
            self.options = replace(self.options, log_user_prompts=False, log_tool_details=False)

    def close(self) -> None:
        """End the open spans, flush (bounded by the export timeout) and print what failed."""
        if self._phases and not self._opened:
            self._guard(self._backend_or_none)
        backend = self._backend
        if backend is None or self._dead:
            return
        now = self.clock()

        def end() -> None:
            if self._interaction is not None:  # a run that never sent its result
                backend.end_span(self._interaction, now, {}, "the run ended without a result")
                self._interaction = None
            self._end_phase(now)
            if self._job is not None:
                backend.end_span(self._job, now, {}, None)
                self._job = None

        self._guard(end)
        self._dead = True  # closed: later events and a second close do nothing
        try:
            lines = backend.close()
        except Exception as exc:
            lines = [f"warning: telemetry: could not flush ({type(exc).__name__}: {exc})"]
        for line in lines:
            self._warn(self.redactor.text(line))

    # --- internals ----------------------------------------------------------------------------

    def _guard(self, action: Callable[[], object]) -> None:
        if self._dead:
            return
        try:
            action()
        except Exception as exc:
            self._dead = True
            self._warn(self.redactor.text(f"warning: telemetry stopped: {type(exc).__name__}: {exc}"))

    def _backend_or_none(self) -> Backend | None:
        if not self._opened:
            self._opened = True
            self._backend = self._open()
            if self._backend is not None and self._phases:
                self._job = self._backend.start_span(JOB_SPAN, self._created, self._job_attributes, None)
                for name, start in self._phases:
                    self._enter_phase(name, start)
            self._phases = []
        return self._backend

    def _enter_phase(self, name: str, start: int) -> None:
        if not self._opened:
            self._phases.append((name, start))
            return
        backend = self._backend
        if backend is None:
            return
        if self._job is None:
            self._job = backend.start_span(JOB_SPAN, self._created, self._job_attributes, None)
        self._end_phase(start)
        span = backend.start_span(PHASE_SPAN, start, {"phase": name}, self._job)
        self._phase = (name, start, span)

    def _end_phase(self, end: int) -> None:
        if self._phase is None or self._backend is None:
            return
        name, start, span = self._phase
        self._phase = None
        self._backend.end_span(span, end, {"duration_ms": (end - start) // 1_000_000}, None)
        self._backend.add("claude_runner.phase.duration", (end - start) / 1e9, {"phase": name})

    def _event(self, event: Mapping[str, Any]) -> None:
        kind, subtype = event.get("type"), event.get("subtype")
        if kind not in ("system", "assistant", "user", "result"):
            return
        backend = self._backend_or_none()
        if backend is None:
            return
        now = self.clock()
        if kind == "system" and subtype == "init":
            self._start(backend, event, now)
        elif kind == "system" and subtype == "api_retry":
            retry: Attributes = {
                "attempt": int(event.get("attempt") or 0),
                "status": int(event.get("error_status") or 0),
                "retry_delay_ms": int(event.get("retry_delay_ms") or 0),
            }
            self._retries.append((now, retry))
            error: Attributes = {
                "session.id": self._session,
                "error": str(event.get("error") or ""),
                "status_code": str(event.get("error_status") or "undefined"),
                "attempt": retry["attempt"],
                "duration_ms": (now - self._waiting_since) // 1_000_000,
            }
            backend.event("api_error", now, error)
        elif kind == "assistant":
            self._model_call(backend, event.get("message") or {}, now)
        elif kind == "user":
            self._tool_results(backend, event.get("message") or {}, now)
        elif kind == "result":
            self._result(backend, event, now)

    def _metric_attributes(self, **more: str) -> Attributes:
        attributes: Attributes = {}
        if self.options.include_session_id and self._session:
            attributes["session.id"] = self._session
        if self.options.version:
            attributes["app.version"] = self.options.version
        attributes.update(more)
        return attributes

    def _start(self, backend: Backend, event: Mapping[str, Any], now: int) -> None:
        self._session = str(event.get("session_id") or "")
        prompt = self._prompt
        shown = self.redactor.text(prompt[:PROMPT_CHARS]) if self.options.log_user_prompts else REDACTED
        attributes: Attributes = {
            "session.id": self._session,
            "model": str(event.get("model") or ""),
            "permission_mode": str(event.get("permissionMode") or ""),
            "user_prompt": shown,
            "user_prompt_length": len(prompt),
        }
        parent = self._phase[2] if self._phase is not None else None
        self._interaction = backend.start_span(INTERACTION_SPAN, now, attributes, parent)
        self._waiting_since = now
        backend.add("claude_code.session.count", 1, self._metric_attributes())
        prompt_event: Attributes = {"session.id": self._session, "prompt_length": len(prompt)}
        if self.options.log_user_prompts:
            prompt_event["prompt"] = shown
        backend.event("user_prompt", now, prompt_event)

    def _model_call(self, backend: Backend, message: Mapping[str, Any], now: int) -> None:
        model = str(message.get("model") or "")
        usage = message.get("usage") or {}
        cost = self._usage.add(model, usage)
        attributes: Attributes = {
            "session.id": self._session,
            "model": model,
            "input_tokens": int(usage.get("input_tokens") or 0),
            "output_tokens": int(usage.get("output_tokens") or 0),
            "cache_read_tokens": int(usage.get("cache_read_input_tokens") or 0),
            "cache_creation_tokens": int(usage.get("cache_creation_input_tokens") or 0),
            "cost_usd": round(cost, 6),
            "duration_ms": (now - self._waiting_since) // 1_000_000,
            "stop_reason": str(message.get("stop_reason") or ""),
            "success": True,
            "attempt": len(self._retries) + 1,
        }
        span = backend.start_span(LLM_SPAN, self._waiting_since, {}, self._interaction)
        for at, retry in self._retries:
            backend.span_event(span, "api_retry", at, retry)
        self._retries = []
        backend.end_span(span, now, attributes, None)
        request = {k: attributes[k] for k in ("session.id", "model", "cost_usd", "duration_ms")}
        request.update({k: v for k, v in attributes.items() if k.endswith("_tokens")})
        backend.event("api_request", now, request)
        for field_name, token_type in TOKEN_TYPES.items():
            count = int(usage.get(field_name) or 0)
            if count:
                backend.add(
                    "claude_code.token.usage", count, self._metric_attributes(type=token_type, model=model)
                )
        backend.add("claude_code.cost.usage", cost, self._metric_attributes(model=model))
        for block in message.get("content") or []:
            if block.get("type") != "tool_use":
                continue
            name = str(block.get("name") or "")
            details: Attributes = {"tool_name": name}
            if self.options.log_tool_details:
                details["tool_input"] = self.redactor.text(short_input(name, block.get("input") or {}, 1000))
            self._tools[str(block.get("id"))] = (name, details)
        self._tools_started = now

    def _tool_results(self, backend: Backend, message: Mapping[str, Any], now: int) -> None:
        for block in message.get("content") or []:
            if block.get("type") != "tool_result":
                continue
            name, attributes = self._tools.pop(str(block.get("tool_use_id")), ("", {"tool_name": "unknown"}))
            failed = bool(block.get("is_error"))
            span = backend.start_span(TOOL_SPAN, self._tools_started, {}, self._interaction)
            done: Attributes = {
                **attributes,
                "session.id": self._session,
                "success": not failed,
                "duration_ms": (now - self._tools_started) // 1_000_000,
            }
            backend.end_span(span, now, done, f"{name or 'the tool'} returned an error" if failed else None)
            result = {k: v for k, v in done.items() if k != "tool_input"}
            if "tool_input" in done:  # Claude Code's name for it on this event
                result["tool_parameters"] = done["tool_input"]
            backend.event("tool_result", now, {**result, "success": "true" if not failed else "false"})
        self._waiting_since = now

    def _result(self, backend: Backend, event: Mapping[str, Any], now: int) -> None:
        outcome = str(event.get("subtype") or "")
        attributes: Attributes = {
            "outcome": outcome,
            "num_turns": int(event.get("num_turns") or 0),
            "total_cost_usd": float(event.get("total_cost_usd") or 0),
            "duration_ms": int(event.get("duration_ms") or 0),
            "permission_denials": len(event.get("permission_denials") or []),
        }
        if self._interaction is not None:
            error = f"the run ended with {outcome}" if event.get("is_error") else None
            backend.end_span(self._interaction, now, attributes, error)
            self._interaction = None
        self._reconcile(backend, event.get("modelUsage") or {})
        seconds = int(event.get("duration_ms") or 0) / 1000
        model = str(event.get("model") or "")
        backend.add(
            "claude_runner.run.duration", seconds, self._metric_attributes(outcome=outcome, model=model)
        )

    def _reconcile(self, backend: Backend, totals: Mapping[str, Mapping[str, Any]]) -> None:
        """Count what the result has and no ``assistant`` event showed (a compaction's summary
        call): the metrics then add up to the result's tokens and ``total_cost_usd``."""
        seen = self._usage.model_usage()
        for model, usage in totals.items():
            counted = seen.get(model, {})
            for field_name, token_type in RESULT_TOKEN_TYPES.items():
                missing = int(usage.get(field_name) or 0) - int(counted.get(field_name) or 0)
                if missing > 0:
                    attributes = self._metric_attributes(type=token_type, model=model)
                    backend.add("claude_code.token.usage", missing, attributes)
            cost = float(usage.get("costUSD") or 0) - float(counted.get("costUSD") or 0)
            if cost > 1e-6:
                backend.add("claude_code.cost.usage", cost, self._metric_attributes(model=model))


__all__ = ["Backend", "NoTelemetry", "RunObserver", "RunTelemetry", "TelemetryOptions"]
