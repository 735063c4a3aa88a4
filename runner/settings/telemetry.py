"""OpenTelemetry settings, read once: Claude Code's variables (``CLAUDE_CODE_ENABLE_TELEMETRY``,
``OTEL_*``), so a collector set up for Claude Code receives the runner's runs too: traces,
metrics, and Claude Code's events as log records.

Only names and numbers are read here; the SDK is imported by ``runner/telemetry/`` when a run
starts with telemetry on. A malformed value is a one-line usage error; a valid one the runner
does not support (the ``prometheus`` exporter, the ``http/json`` protocol) is a warning, so a
setup made for Claude Code never stops a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from runner.errors import UsageError
from runner.settings.run import env_int

ENABLE_VAR = "CLAUDE_CODE_ENABLE_TELEMETRY"
PROTOCOLS = ("http/protobuf", "grpc")
EXPORTERS = ("otlp", "console")
# The port each protocol's collector listens on by default (the OpenTelemetry specification's).
DEFAULT_ENDPOINTS = {"http/protobuf": "http://localhost:4318", "grpc": "http://localhost:4317"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SignalExport:
    """Where one signal (traces, metrics or logs) goes: its exporters, and for ``otlp`` the collector."""

    exporters: tuple[str, ...] = ()  # "otlp", "console"; empty: the signal is off
    protocol: str = "http/protobuf"
    endpoint: str = DEFAULT_ENDPOINTS["http/protobuf"]  # the full URL (HTTP: with /v1/<signal>)
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TelemetrySettings:
    """What to export, where, and what may be recorded; ``enabled`` False: nothing is loaded."""

    enabled: bool = False
    traces: SignalExport = field(default_factory=SignalExport)
    metrics: SignalExport = field(default_factory=SignalExport)
    logs: SignalExport = field(default_factory=SignalExport)  # Claude Code's events, as log records
    metric_interval_ms: int = 60_000  # OTEL_METRIC_EXPORT_INTERVAL
    traces_interval_ms: int = 5_000  # OTEL_TRACES_EXPORT_INTERVAL (the batch's schedule)
    logs_interval_ms: int = 5_000  # OTEL_LOGS_EXPORT_INTERVAL
    timeout_ms: int = 10_000  # OTEL_EXPORTER_OTLP_TIMEOUT: one export; the flush at exit too
    delta: bool = True  # OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (Claude Code: delta)
    resource: tuple[tuple[str, str], ...] = ()  # OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME
    log_user_prompts: bool = False  # OTEL_LOG_USER_PROMPTS: the prompt on the interaction span
    log_tool_details: bool = False  # OTEL_LOG_TOOL_DETAILS: a tool call's input on its span
    include_session_id: bool = True  # OTEL_METRICS_INCLUDE_SESSION_ID
    include_version: bool = False  # OTEL_METRICS_INCLUDE_VERSION
    warnings: tuple[str, ...] = ()

    @property
    def secret_values(self) -> tuple[str, ...]:
        """The header values (tokens): redacted from everything the runner writes."""
        return tuple(v for signal in (self.traces, self.metrics, self.logs) for _, v in signal.headers if v)


def read_telemetry_settings(env: Mapping[str, str]) -> TelemetrySettings:
    """The telemetry settings; off unless ``CLAUDE_CODE_ENABLE_TELEMETRY`` is true."""
    if not _flag(env, ENABLE_VAR, False):
        return TelemetrySettings()
    warnings: list[str] = []
    traces = _signal(env, "traces", warnings)
    metrics = _signal(env, "metrics", warnings)
    logs = _signal(env, "logs", warnings)
    if not traces.exporters and not metrics.exporters and not logs.exporters:
        warnings.append(
            f"warning: {ENABLE_VAR} is set but none of OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, "
            "OTEL_LOGS_EXPORTER names an exporter (otlp, console): nothing is exported"
        )
    temporality = env.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta").strip().lower()
    if temporality not in ("delta", "cumulative"):
        raise UsageError(
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE must be delta or cumulative "
            f"(got {temporality!r})"
        )
    resource = dict(_pairs(env.get("OTEL_RESOURCE_ATTRIBUTES", ""), "OTEL_RESOURCE_ATTRIBUTES"))
    resource["service.name"] = env.get("OTEL_SERVICE_NAME", "").strip() or resource.get(
        "service.name", "claude-runner"
    )
    return TelemetrySettings(
        enabled=bool(traces.exporters or metrics.exporters or logs.exporters),
        traces=traces,
        metrics=metrics,
        logs=logs,
        metric_interval_ms=_positive(env, "OTEL_METRIC_EXPORT_INTERVAL", 60_000),
        traces_interval_ms=_positive(env, "OTEL_TRACES_EXPORT_INTERVAL", 5_000),
        logs_interval_ms=_positive(env, "OTEL_LOGS_EXPORT_INTERVAL", 5_000),
        timeout_ms=_positive(env, "OTEL_EXPORTER_OTLP_TIMEOUT", 10_000),
        delta=temporality == "delta",
        resource=tuple(resource.items()),
        log_user_prompts=_flag(env, "OTEL_LOG_USER_PROMPTS", False),
        log_tool_details=_flag(env, "OTEL_LOG_TOOL_DETAILS", False),
        include_session_id=_flag(env, "OTEL_METRICS_INCLUDE_SESSION_ID", True),
        include_version=_flag(env, "OTEL_METRICS_INCLUDE_VERSION", False),
        warnings=tuple(warnings),
    )


def _signal(env: Mapping[str, str], signal: str, warnings: list[str]) -> SignalExport:
    """One signal's exporters and collector: ``OTEL_EXPORTER_OTLP_<SIGNAL>_*`` over the general ones."""
    upper = signal.upper()
    exporters = _exporters(env, f"OTEL_{upper}_EXPORTER", warnings, known=EXPORTERS)
    protocol_var = next(
        (n for n in (f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL") if env.get(n)),
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    )
    protocol = env.get(protocol_var, "").strip().lower() or "http/protobuf"
    if "otlp" in exporters and protocol not in PROTOCOLS:  # http/json: Claude Code's, not ours
        warnings.append(
            f"warning: {protocol_var}={protocol} is not supported by claude-runner (http/protobuf, grpc): "
            f"{signal} are not sent over OTLP"
        )
        exporters = tuple(e for e in exporters if e != "otlp")
    specific = env.get(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT", "").strip()
    general = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or DEFAULT_ENDPOINTS.get(
        protocol, DEFAULT_ENDPOINTS["http/protobuf"]
    )
    endpoint = specific or general
    if not endpoint.startswith(("http://", "https://")):
        name = f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT" if specific else "OTEL_EXPORTER_OTLP_ENDPOINT"
        raise UsageError(f"{name} must be an http:// or https:// URL (got {endpoint!r})")
    if not specific and protocol == "http/protobuf":  # the general endpoint is the collector's base
        endpoint = endpoint.rstrip("/") + f"/v1/{signal}"
    headers = dict(_pairs(env.get("OTEL_EXPORTER_OTLP_HEADERS", ""), "OTEL_EXPORTER_OTLP_HEADERS"))
    headers.update(
        _pairs(env.get(f"OTEL_EXPORTER_OTLP_{upper}_HEADERS", ""), f"OTEL_EXPORTER_OTLP_{upper}_HEADERS")
    )
    return SignalExport(exporters, protocol, endpoint, tuple(headers.items()))


def _exporters(
    env: Mapping[str, str], name: str, warnings: list[str], *, known: tuple[str, ...]
) -> tuple[str, ...]:
    """A comma-separated exporter list; ``none`` is off, one the runner lacks is a warning."""
    wanted = [e.strip().lower() for e in env.get(name, "").split(",") if e.strip()]
    chosen = []
    for exporter in wanted:
        if exporter == "none":
            continue
        if known and exporter not in known:
            warnings.append(
                f"warning: {name}={exporter} is not supported by claude-runner (otlp, console); ignored"
            )
            continue
        chosen.append(exporter)
    return tuple(dict.fromkeys(chosen))


def _pairs(value: str, name: str) -> list[tuple[str, str]]:
    """``key=value,key2=value2`` (values percent-decoded, as the specification says)."""
    pairs = []
    for item in value.split(","):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{name} must be key=value pairs separated by commas (got an item without '=')")
        pairs.append((key.strip(), unquote(val.strip())))
    return pairs


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise UsageError(f"{name} must be 1 or 0 (got {raw!r})")


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = env_int(env, name, default)
    if value <= 0:
        raise UsageError(f"{name} must be a number of milliseconds greater than 0")
    return value
