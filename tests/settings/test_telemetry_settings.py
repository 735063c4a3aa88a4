"""Claude Code's telemetry variables, read once: where each signal goes, what is refused."""

from __future__ import annotations

import pytest

from runner.errors import UsageError
from runner.settings.telemetry import read_telemetry_settings

ON = {"CLAUDE_CODE_ENABLE_TELEMETRY": "1"}


def test_off_unless_enabled_even_with_exporters():
    settings = read_telemetry_settings({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp"})
    assert not settings.enabled and settings.warnings == ()


def test_enabled_without_an_exporter_says_nothing_is_exported():
    settings = read_telemetry_settings(ON)
    assert not settings.enabled
    (warning,) = settings.warnings
    assert "OTEL_LOGS_EXPORTER" in warning and "nothing is exported" in warning


def test_the_general_http_endpoint_gets_each_signals_path_a_specific_one_is_kept():
    settings = read_telemetry_settings(
        {
            **ON,
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "otlp,console",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example.com:4318/",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "https://metrics.example.com/custom",
        }
    )
    assert settings.enabled
    assert settings.traces.endpoint == "https://otel.example.com:4318/v1/traces"
    assert settings.metrics.endpoint == "https://metrics.example.com/custom"
    assert settings.metrics.exporters == ("otlp", "console")


def test_grpc_defaults_to_port_4317_without_a_path():
    settings = read_telemetry_settings(
        {**ON, "OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    )
    assert (settings.traces.protocol, settings.traces.endpoint) == ("grpc", "http://localhost:4317")
    assert settings.metrics.exporters == ()


def test_headers_per_signal_win_and_are_secret():
    settings = read_telemetry_settings(
        {
            **ON,
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20abc, x-team=a",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-team=b",
        }
    )
    assert dict(settings.traces.headers) == {"Authorization": "Bearer abc", "x-team": "b"}
    assert "Bearer abc" in settings.secret_values


def test_resource_attributes_and_the_service_name():
    settings = read_telemetry_settings(
        {**ON, "OTEL_METRICS_EXPORTER": "otlp", "OTEL_RESOURCE_ATTRIBUTES": "team=a%2Cb,service.name=x"}
    )
    assert dict(settings.resource) == {"team": "a,b", "service.name": "x"}
    named = read_telemetry_settings({**ON, "OTEL_METRICS_EXPORTER": "otlp", "OTEL_SERVICE_NAME": "ci-agent"})
    assert dict(named.resource)["service.name"] == "ci-agent"
    assert dict(read_telemetry_settings({**ON, "OTEL_METRICS_EXPORTER": "otlp"}).resource) == {
        "service.name": "claude-runner"
    }


def test_exporters_the_runner_lacks_are_warnings():
    settings = read_telemetry_settings(
        {
            **ON,
            "OTEL_METRICS_EXPORTER": "prometheus,otlp",
            "OTEL_LOGS_EXPORTER": "otlp",
            "OTEL_TRACES_EXPORTER": "none",
        }
    )
    assert settings.metrics.exporters == ("otlp",) and settings.traces.exporters == ()
    assert settings.logs.exporters == ("otlp",) and settings.logs.endpoint == "http://localhost:4318/v1/logs"
    (warning,) = settings.warnings
    assert "OTEL_METRICS_EXPORTER=prometheus" in warning


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"OTEL_EXPORTER_OTLP_HEADERS": "Authorization"}, "OTEL_EXPORTER_OTLP_HEADERS"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ({"OTEL_METRIC_EXPORT_INTERVAL": "10s"}, "OTEL_METRIC_EXPORT_INTERVAL"),
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "0"}, "OTEL_EXPORTER_OTLP_TIMEOUT"),
        ({"OTEL_LOG_USER_PROMPTS": "maybe"}, "OTEL_LOG_USER_PROMPTS"),
        ({"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "lowmemory"}, "TEMPORALITY_PREFERENCE"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_the_variable(variables, named):
    with pytest.raises(UsageError) as raised:
        read_telemetry_settings({**ON, "OTEL_TRACES_EXPORTER": "otlp", **variables})
    assert named in str(raised.value) and "\n" not in str(raised.value)
    assert raised.value.exit_code == 2


def test_a_header_value_is_never_in_the_error():
    with pytest.raises(UsageError) as raised:
        read_telemetry_settings(
            {**ON, "OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_HEADERS": "a=secret-1,b"}
        )
    assert "secret-1" not in str(raised.value)


def test_a_protocol_claude_code_has_and_the_runner_lacks_is_a_warning():
    settings = read_telemetry_settings(
        {
            **ON,
            "OTEL_TRACES_EXPORTER": "otlp,console",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json",
        }
    )
    assert settings.traces.exporters == ("console",) and settings.metrics.exporters == ("otlp",)
    (warning,) = settings.warnings
    assert "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json is not supported" in warning
