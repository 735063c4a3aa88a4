"""`claude-runner run` with Claude Code's telemetry variables: a real run (the fake Messages API,
a scripted model that calls a tool) exports its spans and metrics to a collector on loopback."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.testing.fake_messages import FakeMessagesAPI, text, tool_use
from runner.testing.otlp_collector import FakeCollector, FakeGrpcCollector
from tests.conftest import base_env

PROMPT = "Read calc.py and say what add() returns"
HEADER_TOKEN = "otlp-secret-token-5f1c2a9e"


@pytest.fixture
def collector() -> Iterator[FakeCollector]:
    with FakeCollector() as fake:
        yield fake


def telemetry_env(fake: FakeMessagesAPI, endpoint: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in base_env(fake).items() if not k.startswith("OTEL_")}
    env.update(
        CLAUDE_CODE_ENABLE_TELEMETRY="1",
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_LOGS_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_EXPORTER_OTLP_HEADERS=f"Authorization=Bearer {HEADER_TOKEN}",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=ci,team=platform%20tools",
    )
    env.update(more)
    return env


def read_script(repo: Path) -> list[list[dict[str, object]]]:
    return [
        [text("Let me look."), tool_use("Read", {"file_path": str(repo / "calc.py")})],
        [text("add() returns a - b.")],
    ]


def test_a_run_sends_its_spans_and_metrics_to_the_collector(fake, repo, run_cli, collector):
    fake.add_turns(read_script(repo))
    env = telemetry_env(fake, collector.base_url)
    out = run_cli("run", "-p", PROMPT, "--output-format", "json", "--allowedTools", "Read", cwd=repo, env=env)
    assert out.code == 0, out.stderr
    result = out.result
    assert result["result"] == "add() returns a - b."
    session = result["session_id"]

    spans = {s.name: [x for x in collector.spans if x.name == s.name] for s in collector.spans}
    assert sorted(spans) == ["claude_code.interaction", "claude_code.llm_request", "claude_code.tool"]
    (interaction,) = spans["claude_code.interaction"]
    calls = spans["claude_code.llm_request"]
    (tool,) = spans["claude_code.tool"]
    assert len(calls) == 2
    # One trace: the interaction is the root, the model and tool calls are its children.
    assert interaction.parent_span_id == ""
    assert {s.trace_id for s in collector.spans} == {interaction.trace_id}
    assert {s.parent_span_id for s in [*calls, tool]} == {interaction.span_id}
    assert interaction.attributes["session.id"] == session
    assert interaction.attributes["outcome"] == "success" and interaction.status != "ERROR"
    assert interaction.attributes["num_turns"] == 2
    assert interaction.attributes["user_prompt"] == "<REDACTED>"
    assert interaction.attributes["user_prompt_length"] == len(PROMPT)
    model = result["model"]
    assert [c.attributes["model"] for c in calls] == [model, model]
    usage = result["modelUsage"][model]
    assert sum(c.attributes["input_tokens"] for c in calls) == usage["inputTokens"]
    assert sum(c.attributes["output_tokens"] for c in calls) == usage["outputTokens"]
    assert sum(c.attributes["cache_read_tokens"] for c in calls) == usage["cacheReadInputTokens"]
    assert [c.attributes["stop_reason"] for c in calls] == ["tool_use", "end_turn"]
    assert tool.attributes["tool_name"] == "Read" and tool.attributes["success"] is True
    assert "tool_input" not in tool.attributes
    # Spans are in order: the first call, the tool, the second call, inside the interaction.
    first, second = sorted(calls, key=lambda s: s.start_ns)
    assert interaction.start_ns <= first.start_ns <= first.end_ns <= tool.start_ns
    assert tool.end_ns <= second.start_ns <= second.end_ns <= interaction.end_ns

    resource = interaction.resource
    assert resource["service.name"] == "claude-runner"
    assert resource["deployment.environment"] == "ci" and resource["team"] == "platform tools"
    assert {h.get("authorization") for h in collector.headers} == {f"Bearer {HEADER_TOKEN}"}
    assert set(collector.paths) == {"/v1/traces", "/v1/metrics", "/v1/logs"}

    tokens = collector.metric("claude_code.token.usage")
    by_type = {}
    for point in tokens:
        assert point.attributes["model"] == model and point.attributes["session.id"] == session
        assert point.unit == "tokens"
        by_type[point.attributes["type"]] = by_type.get(point.attributes["type"], 0) + point.value
    assert by_type["output"] == usage["outputTokens"] > 0
    assert by_type.get("input", 0) == usage["inputTokens"]  # the fake's prompt is all cached
    assert by_type["cacheRead"] == usage["cacheReadInputTokens"] > 0
    assert by_type["cacheCreation"] == usage["cacheCreationInputTokens"] > 0
    cost = collector.metric("claude_code.cost.usage")
    assert cost and {p.unit for p in cost} == {"USD"}
    assert sum(p.value for p in cost) == pytest.approx(result["total_cost_usd"], abs=1e-5)
    (sessions,) = collector.metric("claude_code.session.count")
    assert sessions.value == 1 and sessions.attributes["session.id"] == session
    (duration,) = collector.metric("claude_runner.run.duration")
    assert duration.count == 1 and duration.attributes["outcome"] == "success" and duration.unit == "s"

    # Claude Code's events, as log records.
    (prompt,) = collector.events("user_prompt")
    assert prompt.attributes["prompt_length"] == len(PROMPT) and "prompt" not in prompt.attributes
    assert prompt.attributes["event.name"] == "user_prompt" and prompt.attributes["session.id"] == session
    requests = collector.events("api_request")
    assert [r.attributes["model"] for r in requests] == [model, model]
    assert sum(r.attributes["output_tokens"] for r in requests) == usage["outputTokens"]
    cost_usd = sum(r.attributes["cost_usd"] for r in requests)
    assert cost_usd == pytest.approx(result["total_cost_usd"], abs=1e-5)
    (tool_result,) = collector.events("tool_result")
    assert tool_result.attributes["tool_name"] == "Read" and tool_result.attributes["success"] == "true"
    assert "tool_parameters" not in tool_result.attributes

    # Nothing secret or private left the machine: not the prompt, the API key, or the header.
    sent = json.dumps([[s.attributes, s.resource] for s in collector.spans], default=str)
    sent += json.dumps([p.attributes for p in collector.points])
    sent += json.dumps([log.attributes for log in collector.logs])
    for secret in (PROMPT, "sk-ant-test-key-0123456789", HEADER_TOKEN, "a - b"):
        assert secret not in sent
    assert HEADER_TOKEN not in out.stderr


def test_prompts_and_tool_inputs_are_recorded_only_when_asked(fake, repo, run_cli, collector):
    fake.add_turns(read_script(repo))
    env = telemetry_env(
        fake,
        collector.base_url,
        OTEL_LOG_USER_PROMPTS="1",
        OTEL_LOG_TOOL_DETAILS="1",
        OTEL_METRICS_EXPORTER="none",
    )
    out = run_cli("run", "-p", PROMPT, "--allowedTools", "Read", cwd=repo, env=env)
    assert out.code == 0, out.stderr
    (interaction,) = [s for s in collector.spans if s.name == "claude_code.interaction"]
    assert interaction.attributes["user_prompt"] == PROMPT
    (tool,) = [s for s in collector.spans if s.name == "claude_code.tool"]
    assert tool.attributes["tool_input"] == str(repo / "calc.py")
    (prompt,) = collector.events("user_prompt")
    assert prompt.attributes["prompt"] == PROMPT
    (tool_result,) = collector.events("tool_result")
    assert tool_result.attributes["tool_parameters"] == str(repo / "calc.py")
    assert collector.points == [] and set(collector.paths) == {"/v1/traces", "/v1/logs"}


def test_a_dead_collector_is_a_warning_and_the_run_succeeds(fake, repo, run_cli):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fake.add_turns(read_script(repo))
    env = telemetry_env(fake, f"http://127.0.0.1:{port}", OTEL_EXPORTER_OTLP_TIMEOUT="1000")
    out = run_cli("run", "-p", PROMPT, "--output-format", "json", "--allowedTools", "Read", cwd=repo, env=env)
    assert out.code == 0, out.stderr
    assert out.result["result"] == "add() returns a - b."
    assert "Traceback" not in out.stderr
    warnings = [line for line in out.stderr.splitlines() if "telemetry" in line]
    assert warnings and all(line.startswith("warning: telemetry: ") for line in warnings), out.stderr
    assert f"127.0.0.1:{port}" in out.stderr
    assert HEADER_TOKEN not in out.stderr


def test_without_the_extra_one_line_names_it(fake, repo, run_cli, collector, tmp_path):
    # The API comes with anthropic; the SDK is the extra's: an `opentelemetry.sdk` that cannot be
    # imported, first on the path (a portion of the `opentelemetry` namespace package).
    hidden = tmp_path / "no-otel"
    (hidden / "opentelemetry" / "sdk").mkdir(parents=True)
    (hidden / "opentelemetry" / "sdk" / "__init__.py").write_text("raise ImportError('not installed')\n")
    fake.add_turns(read_script(repo))
    env = telemetry_env(fake, collector.base_url, PYTHONPATH=str(hidden))
    out = run_cli("run", "-p", PROMPT, "--output-format", "json", "--allowedTools", "Read", cwd=repo, env=env)
    assert out.code == 0, out.stderr
    assert out.result["result"] == "add() returns a - b."
    lines = [line for line in out.stderr.splitlines() if "telemetry" in line]
    assert len(lines) == 1 and "pip install 'claude-runner[telemetry]'" in lines[0], out.stderr
    assert collector.paths == []


def test_telemetry_is_off_unless_enabled(fake, repo, run_cli, collector):
    fake.add_turns(read_script(repo))
    env = telemetry_env(fake, collector.base_url)
    del env["CLAUDE_CODE_ENABLE_TELEMETRY"]
    out = run_cli("run", "-p", PROMPT, "--allowedTools", "Read", cwd=repo, env=env)
    assert out.code == 0, out.stderr
    assert collector.paths == [] and "telemetry" not in out.stderr


def test_a_bad_variable_stops_before_the_run_in_one_line(fake, repo, run_cli, collector):
    env = telemetry_env(fake, collector.base_url, OTEL_EXPORTER_OTLP_HEADERS="Authorization")
    out = run_cli("run", "-p", PROMPT, cwd=repo, env=env)
    assert out.code == 2
    assert out.stderr.strip().splitlines() == [
        "error: OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs separated by commas "
        "(got an item without '=')"
    ]
    assert fake.message_requests == [] and collector.paths == []


def test_http_json_is_a_warning_and_the_run_goes_on(fake, repo, run_cli, collector):
    fake.add_turns(read_script(repo))
    env = telemetry_env(fake, collector.base_url, OTEL_EXPORTER_OTLP_PROTOCOL="http/json")
    out = run_cli("run", "-p", PROMPT, "--output-format", "json", "--allowedTools", "Read", cwd=repo, env=env)
    assert out.code == 0 and out.result["result"] == "add() returns a - b."
    warnings = [line for line in out.stderr.splitlines() if "http/json" in line]
    assert len(warnings) == 3 and all(
        line.startswith("warning: OTEL_EXPORTER_OTLP_PROTOCOL") for line in warnings
    )
    assert collector.paths == []


def test_a_retried_call_carries_its_retries_and_a_failed_run_is_an_error(fake, repo, run_cli, collector):
    fake.queue_fault("overloaded")  # the first request: 529, retried
    fake.add_turns([[text("Let me look."), tool_use("Read", {"file_path": str(repo / "missing.py")})]])
    env = telemetry_env(fake, collector.base_url)
    out = run_cli("run", "-p", PROMPT, "--output-format", "json", "--max-turns", "1", cwd=repo, env=env)
    assert out.code == 1 and out.result["subtype"] == "error_max_turns"
    (call,) = [s for s in collector.spans if s.name == "claude_code.llm_request"]
    assert call.attributes["attempt"] == 2
    assert [(name, attrs["attempt"], attrs["status"]) for name, attrs in call.events] == [
        ("api_retry", 1, 529)
    ]
    (error,) = collector.events("api_error")
    assert (error.attributes["status_code"], error.attributes["attempt"]) == ("529", 1)
    (tool,) = [s for s in collector.spans if s.name == "claude_code.tool"]
    assert tool.attributes["success"] is False and tool.status == "ERROR"
    (interaction,) = [s for s in collector.spans if s.name == "claude_code.interaction"]
    assert interaction.status == "ERROR" and interaction.attributes["outcome"] == "error_max_turns"
    (duration,) = collector.metric("claude_runner.run.duration")
    assert duration.attributes["outcome"] == "error_max_turns"


def test_grpc_reaches_a_grpc_collector(fake, repo, run_cli):
    with FakeGrpcCollector() as grpc_collector:
        fake.add_turns(read_script(repo))
        env = telemetry_env(fake, grpc_collector.base_url, OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
        out = run_cli(
            "run", "-p", PROMPT, "--output-format", "json", "--allowedTools", "Read", cwd=repo, env=env
        )
    assert out.code == 0, out.stderr
    assert "telemetry" not in out.stderr, out.stderr
    assert sorted(set(grpc_collector.span_names())) == [
        "claude_code.interaction",
        "claude_code.llm_request",
        "claude_code.tool",
    ]
    (sessions,) = grpc_collector.metric("claude_code.session.count")
    assert sessions.attributes["session.id"] == out.result["session_id"]
    assert {h.get("authorization") for h in grpc_collector.headers} == {f"Bearer {HEADER_TOKEN}"}
    assert len(grpc_collector.events("api_request")) == 2


def test_grpc_without_its_extra_is_one_line_and_the_run_succeeds(fake, repo, run_cli, tmp_path):
    # The `telemetry` extra (and the container image) has OTLP over HTTP only: grpcio is the
    # `telemetry-grpc` extra's. A `grpc` that cannot be imported, first on the path.
    hidden = tmp_path / "no-grpc"
    (hidden / "grpc").mkdir(parents=True)
    (hidden / "grpc" / "__init__.py").write_text("raise ImportError('not installed')\n")
    with FakeGrpcCollector() as grpc_collector:
        fake.add_turns(read_script(repo))
        env = telemetry_env(
            fake, grpc_collector.base_url, OTEL_EXPORTER_OTLP_PROTOCOL="grpc", PYTHONPATH=str(hidden)
        )
        out = run_cli(
            "run", "-p", PROMPT, "--output-format", "json", "--allowedTools", "Read", cwd=repo, env=env
        )
        assert grpc_collector.span_names() == []
    assert out.code == 0, out.stderr
    assert out.result["result"] == "add() returns a - b."
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if "telemetry" in line]
    assert len(lines) == 1, out.stderr
    assert "OTEL_EXPORTER_OTLP_PROTOCOL=grpc" in lines[0]
    assert "pip install 'claude-runner[telemetry-grpc]'" in lines[0]


def test_a_collector_that_never_answers_does_not_hold_the_run(fake, repo, run_cli):
    with socket.socket() as silent:  # connections are queued by the kernel, never answered
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        fake.add_turns(read_script(repo))
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        env = telemetry_env(fake, endpoint, OTEL_EXPORTER_OTLP_TIMEOUT="1000")
        out = run_cli(
            "run", "-p", PROMPT, "--output-format", "json", "--allowedTools", "Read", cwd=repo, env=env
        )
    assert out.code == 0, out.stderr
    assert out.result["result"] == "add() returns a - b."
    warnings = [line for line in out.stderr.splitlines() if "telemetry" in line]
    assert warnings and all(line.startswith("warning: telemetry: ") for line in warnings), out.stderr
    assert "Traceback" not in out.stderr
