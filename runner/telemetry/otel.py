"""The OpenTelemetry SDK behind ``observer.Backend``: tracer, meter and logger providers, OTLP
(HTTP or gRPC) and console exporters, built from ``TelemetrySettings`` alone (the SDK's own
environment lookups are not relied on: every value is passed). Imported only when telemetry is
on (the ``telemetry`` extra).

A collector that is down or slow never holds the job: each export is bounded by
``OTEL_EXPORTER_OTLP_TIMEOUT``, the flush at exit by the same bound (in a daemon thread that is
left behind if it overruns), and the SDK's own log lines are silenced in favour of one warning.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    ConsoleLogRecordExporter,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ConsoleMetricExporter,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Span, Status, StatusCode, set_span_in_context

from runner.settings.telemetry import SignalExport, TelemetrySettings
from runner.telemetry.observer import METRICS, Attributes

SCOPE = "claude-runner"


class _CountingSpans(SpanExporter):
    """An exporter that remembers whether an export failed (the SDK only logs it)."""

    def __init__(self, inner: SpanExporter, where: str) -> None:
        self.inner, self.where, self.failures = inner, where, 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception:
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            self.failures += 1
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


class _CountingMetrics(MetricExporter):
    """The same for metrics; keeps the inner exporter's temporality and aggregation."""

    def __init__(self, inner: MetricExporter, where: str) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self.inner, self.where, self.failures = inner, where, 0

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        try:
            result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        except Exception:
            result = MetricExportResult.FAILURE
        if result is not MetricExportResult.SUCCESS:
            self.failures += 1
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)


class _CountingLogs(LogRecordExporter):
    """The same for log records (Claude Code's events)."""

    def __init__(self, inner: LogRecordExporter, where: str) -> None:
        self.inner, self.where, self.failures = inner, where, 0

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        try:
            result = self.inner.export(batch)
        except Exception:
            result = LogRecordExportResult.FAILURE
        if result is not LogRecordExportResult.SUCCESS:
            self.failures += 1
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


class OtelBackend:
    """Spans and metrics through the SDK's providers, which belong to this run only."""

    def __init__(self, settings: TelemetrySettings, version: str) -> None:
        _quiet_sdk_logs()
        self.timeout_s = settings.timeout_ms / 1000
        resource = Resource({"service.version": version, **dict(settings.resource)})
        self._span_exporters: list[_CountingSpans] = []
        self._metric_exporters: list[_CountingMetrics] = []
        self.tracer_provider: TracerProvider | None = None
        self.meter_provider: MeterProvider | None = None
        self.logger_provider: LoggerProvider | None = None
        self._log_exporters: list[_CountingLogs] = []
        if settings.logs.exporters:
            self.logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
            for name in settings.logs.exporters:
                counted_logs = _CountingLogs(
                    _log_exporter(name, settings.logs, self.timeout_s), _where(name, settings.logs)
                )
                self._log_exporters.append(counted_logs)
                self.logger_provider.add_log_record_processor(
                    BatchLogRecordProcessor(
                        counted_logs,
                        schedule_delay_millis=settings.logs_interval_ms,
                        export_timeout_millis=settings.timeout_ms,
                    )
                )
        self._logger = self.logger_provider.get_logger(SCOPE, version) if self.logger_provider else None
        if settings.traces.exporters:
            self.tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
            for name in settings.traces.exporters:
                exporter = _CountingSpans(
                    _span_exporter(name, settings.traces, self.timeout_s), _where(name, settings.traces)
                )
                self._span_exporters.append(exporter)
                self.tracer_provider.add_span_processor(
                    BatchSpanProcessor(
                        exporter,
                        schedule_delay_millis=settings.traces_interval_ms,
                        export_timeout_millis=settings.timeout_ms,
                    )
                )
        self._tracer = self.tracer_provider.get_tracer(SCOPE, version) if self.tracer_provider else None
        if settings.metrics.exporters:
            readers = []
            for name in settings.metrics.exporters:
                inner = _metric_exporter(name, settings.metrics, self.timeout_s, settings.delta)
                counted = _CountingMetrics(inner, _where(name, settings.metrics))
                self._metric_exporters.append(counted)
                readers.append(
                    PeriodicExportingMetricReader(
                        counted,
                        export_interval_millis=settings.metric_interval_ms,
                        export_timeout_millis=settings.timeout_ms,
                    )
                )
            self.meter_provider = MeterProvider(
                metric_readers=readers, resource=resource, shutdown_on_exit=False
            )
            meter = self.meter_provider.get_meter(SCOPE, version)
            self._instruments: dict[str, Any] = {
                name: (meter.create_counter if kind == "counter" else meter.create_histogram)(
                    name, unit=unit, description=description
                )
                for name, (kind, unit, description) in METRICS.items()
            }

    def start_span(self, name: str, start_ns: int, attributes: Attributes, parent: object | None) -> object:
        if self._tracer is None:
            return None
        context = set_span_in_context(parent) if isinstance(parent, Span) else None
        return self._tracer.start_span(name, context=context, attributes=attributes, start_time=start_ns)

    def end_span(self, span: object, end_ns: int, attributes: Attributes, error: str | None) -> None:
        if not isinstance(span, Span):
            return
        span.set_attributes(attributes)
        if error:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=end_ns)

    def span_event(self, span: object, name: str, time_ns: int, attributes: Attributes) -> None:
        if isinstance(span, Span):
            span.add_event(name, attributes=attributes, timestamp=time_ns)

    def add(self, metric: str, value: float, attributes: Attributes) -> None:
        if self.meter_provider is None:
            return
        instrument = self._instruments[metric]
        if isinstance(instrument, Counter):
            instrument.add(value, attributes=attributes)
        elif isinstance(instrument, Histogram):
            instrument.record(value, attributes=attributes)

    def event(self, name: str, time_ns: int, attributes: Attributes) -> None:
        if self._logger is None:
            return
        stamp = (
            datetime.fromtimestamp(time_ns / 1e9, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
        record = LogRecord(
            timestamp=time_ns,
            observed_timestamp=time_ns,
            severity_number=SeverityNumber.INFO,
            body=f"claude_code.{name}",
            attributes={**attributes, "event.name": name, "event.timestamp": stamp},
        )
        self._logger.emit(record)

    def close(self) -> list[str]:
        """Flush and shut down within the timeout; one warning per destination that failed."""
        millis = int(self.timeout_s * 1000)

        def traces() -> None:
            if self.tracer_provider is not None:
                self.tracer_provider.force_flush(millis)
                self.tracer_provider.shutdown()

        def metrics() -> None:
            if self.meter_provider is not None:
                self.meter_provider.shutdown(timeout_millis=millis)

        def logs() -> None:
            if self.logger_provider is not None:
                self.logger_provider.force_flush(millis)
                self.logger_provider.shutdown()

        # Both at once, each within the timeout; a thread still waiting after it is left behind
        # (a daemon: it does not keep the process alive).
        workers = [
            threading.Thread(target=t, name="telemetry-flush", daemon=True) for t in (traces, metrics, logs)
        ]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + self.timeout_s + 1
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        lines = []
        if any(worker.is_alive() for worker in workers):
            lines.append(
                f"warning: telemetry: the collector did not answer within {self.timeout_s:g} s; "
                "what was not sent is dropped (the run is not affected)"
            )
        signals: tuple[tuple[str, Sequence[_CountingSpans | _CountingMetrics | _CountingLogs]], ...] = (
            ("spans", self._span_exporters),
            ("metrics", self._metric_exporters),
            ("events", self._log_exporters),
        )
        for what, exporters in signals:
            for exporter in exporters:
                if exporter.failures:
                    lines.append(
                        f"warning: telemetry: could not send {what} to {exporter.where}; "
                        "they are dropped (the run is not affected)"
                    )
        return lines


def _span_exporter(name: str, signal: SignalExport, timeout_s: float) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter(out=sys.stderr)  # stdout is the run's answer
    headers = dict(signal.headers)
    if signal.protocol == "grpc":
        headers = {k.lower(): v for k, v in headers.items()}  # gRPC metadata keys are lower case
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans

        return GrpcSpans(
            endpoint=signal.endpoint,
            insecure=signal.endpoint.startswith("http://"),
            headers=headers,
            timeout=timeout_s,
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans

    return HttpSpans(endpoint=signal.endpoint, headers=headers, timeout=timeout_s)


def _log_exporter(name: str, signal: SignalExport, timeout_s: float) -> LogRecordExporter:
    if name == "console":
        return ConsoleLogRecordExporter(out=sys.stderr)
    headers = dict(signal.headers)
    if signal.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogs

        grpc_headers = {k.lower(): v for k, v in headers.items()}  # gRPC metadata keys are lower case
        insecure = signal.endpoint.startswith("http://")
        return GrpcLogs(endpoint=signal.endpoint, insecure=insecure, headers=grpc_headers, timeout=timeout_s)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogs

    return HttpLogs(endpoint=signal.endpoint, headers=headers, timeout=timeout_s)


def _metric_exporter(name: str, signal: SignalExport, timeout_s: float, delta: bool) -> MetricExporter:
    kind = AggregationTemporality.DELTA if delta else AggregationTemporality.CUMULATIVE
    temporality: dict[type, AggregationTemporality] = {Counter: kind, Histogram: kind}
    if name == "console":
        return ConsoleMetricExporter(out=sys.stderr, preferred_temporality=temporality)
    headers = dict(signal.headers)
    if signal.protocol == "grpc":
        headers = {k.lower(): v for k, v in headers.items()}  # gRPC metadata keys are lower case
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetrics

        return GrpcMetrics(
            endpoint=signal.endpoint,
            insecure=signal.endpoint.startswith("http://"),
            headers=headers,
            timeout=timeout_s,
            preferred_temporality=temporality,
        )
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetrics

    return HttpMetrics(
        endpoint=signal.endpoint, headers=headers, timeout=timeout_s, preferred_temporality=temporality
    )


def _where(name: str, signal: SignalExport) -> str:
    """The destination as a warning names it: no user or password from the URL."""
    if name == "console":
        return "the console"
    parts = urlsplit(signal.endpoint)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _quiet_sdk_logs() -> None:
    """The SDK logs a traceback per failed export; the runner says it once, in one line."""
    sdk = logging.getLogger("opentelemetry")
    sdk.addHandler(logging.NullHandler())
    sdk.propagate = False
