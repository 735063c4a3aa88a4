"""The observer alone, on a backend that keeps what it is given: what a stopped, confidential or
broken run records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runner.sanitize import Redactor
from runner.telemetry.observer import RunTelemetry, TelemetryOptions


@dataclass
class Span:
    name: str
    start: int
    attributes: dict[str, Any]
    parent: Span | None
    end: int | None = None
    error: str | None = None


@dataclass
class Recorder:
    """A backend keeping spans and points; ``fail`` makes ``start_span`` raise."""

    spans: list[Span] = field(default_factory=list)
    points: list[tuple[str, float, dict[str, Any]]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    closed: bool = False
    fail: bool = False

    def start_span(self, name, start_ns, attributes, parent):
        if self.fail:
            raise RuntimeError("exporter exploded")
        span = Span(name, start_ns, dict(attributes), parent)
        self.spans.append(span)
        return span

    def end_span(self, span, end_ns, attributes, error):
        span.attributes.update(attributes)
        span.end, span.error = end_ns, error

    def span_event(self, span, name, time_ns, attributes):
        pass

    def add(self, metric, value, attributes):
        self.points.append((metric, value, dict(attributes)))

    def event(self, name, time_ns, attributes):
        self.events.append((name, dict(attributes)))

    def close(self):
        self.closed = True
        return ["warning: telemetry: could not send spans to http://collector:4318/v1/traces; dropped"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000_000

    def __call__(self) -> int:
        self.now += 1_000_000
        return self.now


INIT = {
    "type": "system",
    "subtype": "init",
    "session_id": "s-1",
    "model": "claude-x",
    "permissionMode": "default",
}


def observer(backend, warnings, **options):
    return RunTelemetry(
        lambda: backend,
        warnings.append,
        Redactor(["sk-secret-value"]),
        options=TelemetryOptions(**options),
        job={"platform": "gitlab"},
        clock=Clock(),
    )


def test_a_run_that_stopped_before_the_agent_still_exports_its_phases():
    backend, warnings = Recorder(), []
    telemetry = observer(backend, warnings)
    telemetry.phase("acknowledged")
    telemetry.phase("gathering")
    assert backend.spans == []  # nothing is opened before the agent starts
    telemetry.close()
    job, acknowledged, gathering = backend.spans
    assert job.name == "claude_runner.job" and job.attributes == {"platform": "gitlab"}
    assert [(s.attributes["phase"], s.parent) for s in (acknowledged, gathering)] == [
        ("acknowledged", job),
        ("gathering", job),
    ]
    assert acknowledged.end == gathering.start and gathering.end is not None and job.end is not None
    assert backend.closed and warnings == [
        "warning: telemetry: could not send spans to http://collector:4318/v1/traces; dropped"
    ]


def test_a_run_without_a_result_ends_its_interaction_as_an_error():
    backend, warnings = Recorder(), []
    telemetry = observer(backend, warnings)
    telemetry.agent("do it", {})
    telemetry(INIT)
    telemetry.close()
    (interaction,) = backend.spans
    assert interaction.error == "the run ended without a result" and interaction.end is not None


def test_a_confidential_run_records_no_prompt_and_no_tool_input_whatever_the_variables_say():
    backend, warnings = Recorder(), []
    telemetry = observer(backend, warnings, log_user_prompts=True, log_tool_details=True)
    telemetry.agent("the confidential issue's text", {}, quiet=True)
    telemetry(INIT)
    read = {"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/secret/plan.md"}}
    telemetry({"type": "assistant", "message": {"model": "claude-x", "content": [read], "usage": {}}})
    result = {"type": "tool_result", "tool_use_id": "t1", "content": "x"}
    telemetry({"type": "user", "message": {"content": [result]}})
    interaction, _call, tool = backend.spans
    assert interaction.attributes["user_prompt"] == "<REDACTED>"
    events = dict(backend.events)
    assert "prompt" not in events["user_prompt"] and "tool_parameters" not in events["tool_result"]
    assert tool.attributes == {
        "tool_name": "Read",
        "session.id": "s-1",
        "success": True,
        "duration_ms": tool.attributes["duration_ms"],
    }


def test_logged_prompts_are_redacted():
    backend, warnings = Recorder(), []
    telemetry = observer(backend, warnings, log_user_prompts=True)
    telemetry.agent("use key sk-secret-value please", {})
    telemetry(INIT)
    assert backend.spans[0].attributes["user_prompt"] == "use key [REDACTED] please"


def test_a_broken_backend_is_one_warning_and_the_run_goes_on():
    backend, warnings = Recorder(fail=True), []
    telemetry = observer(backend, warnings)
    telemetry.agent("do it", {})
    for _ in range(3):
        telemetry(INIT)  # raises inside: never out of the observer
    telemetry.close()
    assert warnings == ["warning: telemetry stopped: RuntimeError: exporter exploded"]
    assert not backend.closed


def test_usage_only_the_result_shows_is_counted_so_the_metrics_add_up_to_it():
    backend, warnings = Recorder(), []
    telemetry = observer(backend, warnings)
    telemetry.agent("do it", {})
    telemetry(INIT)
    usage = {"input_tokens": 5, "output_tokens": 10}
    telemetry({"type": "assistant", "message": {"model": "claude-x", "content": [], "usage": usage}})
    # A compaction's summary call spent tokens no assistant event showed.
    model_usage = {
        "claude-x": {"inputTokens": 5, "outputTokens": 25, "cacheReadInputTokens": 7, "costUSD": 1.5}
    }
    telemetry({"type": "result", "subtype": "success", "model": "claude-x", "modelUsage": model_usage})
    tokens: dict[str, float] = {}
    for metric, value, attributes in backend.points:
        if metric == "claude_code.token.usage":
            tokens[attributes["type"]] = tokens.get(attributes["type"], 0) + value
    assert tokens == {"input": 5, "output": 25, "cacheRead": 7}
    cost = sum(value for metric, value, _ in backend.points if metric == "claude_code.cost.usage")
    assert cost == 1.5
