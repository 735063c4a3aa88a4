"""A loopback OpenTelemetry collector: OTLP/HTTP (``/v1/traces``, ``/v1/metrics``, ``/v1/logs``), protobuf
bodies decoded with ``opentelemetry-proto`` (it comes with the OTLP exporter of the
``telemetry`` extra), kept as plain values a test reads."""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from runner.testing.loopback import FakeServer, LoopbackServer


@dataclass
class ReceivedSpan:
    """One span as the collector got it."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status: str  # "UNSET", "OK" or "ERROR"
    status_message: str
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class ReceivedPoint:
    """One metric data point: a sum's or gauge's value, or a histogram's sum and count."""

    metric: str
    unit: str
    value: float
    attributes: dict[str, Any]
    resource: dict[str, Any]
    count: int = 0  # histograms: how many values were recorded


@dataclass
class ReceivedLog:
    """One log record (a Claude Code event): its body (``claude_code.<name>``) and attributes."""

    body: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    time_ns: int


class FakeCollector(LoopbackServer):
    """Accepts OTLP/HTTP protobuf exports; ``spans``, ``points`` and ``headers`` are what arrived."""

    _thread_name = "fake-otlp-collector"

    def __init__(self) -> None:
        self._address = ("127.0.0.1", 0)
        self.spans: list[ReceivedSpan] = []
        self.points: list[ReceivedPoint] = []
        self.logs: list[ReceivedLog] = []
        self.headers: list[dict[str, str]] = []  # each request's headers, lower-case names
        self.paths: list[str] = []
        self._lock = threading.Lock()

    def _make_server(self) -> FakeServer:
        return FakeServer(self._address, _Handler, self)

    def span_names(self) -> list[str]:
        """The names of the spans received, in order."""
        with self._lock:
            return [s.name for s in self.spans]

    def metric(self, name: str) -> list[ReceivedPoint]:
        """The data points of metric ``name``."""
        with self._lock:
            return [p for p in self.points if p.metric == name]

    def events(self, name: str) -> list[ReceivedLog]:
        """The log records of Claude Code's event ``name`` (``api_request``, ...)."""
        with self._lock:
            return [log for log in self.logs if log.body == f"claude_code.{name}"]

    def receive(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        """Decode one export; the HTTP status to answer."""
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        if path == "/v1/traces":
            self.record(path, headers, ExportTraceServiceRequest.FromString(body))
        elif path == "/v1/metrics":
            self.record(path, headers, ExportMetricsServiceRequest.FromString(body))
        elif path == "/v1/logs":
            self.record(path, headers, ExportLogsServiceRequest.FromString(body))
        else:
            return 404
        return 200

    def record(self, path: str, headers: dict[str, str], request: Any) -> None:
        """Keep one decoded export request (traces or metrics)."""
        with self._lock:
            self.headers.append(headers)
            self.paths.append(path)
            if path == "/v1/traces":
                self.spans += [span for rs in request.resource_spans for span in _spans(rs)]
            elif path == "/v1/metrics":
                self.points += [point for rm in request.resource_metrics for point in _points(rm)]
            else:
                self.logs += [log for rl in request.resource_logs for log in _logs(rl)]


class FakeGrpcCollector(FakeCollector):
    """The same collector over OTLP/gRPC (``grpcio``, which comes with the gRPC exporter): what
    arrives is recorded under the HTTP paths, so a test reads both alike."""

    def __init__(self) -> None:
        super().__init__()
        self._grpc: Any = None
        self._grpc_port = 0

    def start(self) -> FakeGrpcCollector:
        """Serve on a loopback port (idempotent)."""
        if self._grpc is None:
            from concurrent import futures

            import grpc  # type: ignore[import-untyped]
            from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
            from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
            from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

            collector = self

            class Traces(trace_service_pb2_grpc.TraceServiceServicer):
                def Export(self, request: Any, context: Any) -> Any:
                    collector.record("/v1/traces", dict(context.invocation_metadata()), request)
                    return trace_service_pb2.ExportTraceServiceResponse()

            class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
                def Export(self, request: Any, context: Any) -> Any:
                    collector.record("/v1/metrics", dict(context.invocation_metadata()), request)
                    return metrics_service_pb2.ExportMetricsServiceResponse()

            class Logs(logs_service_pb2_grpc.LogsServiceServicer):
                def Export(self, request: Any, context: Any) -> Any:
                    collector.record("/v1/logs", dict(context.invocation_metadata()), request)
                    return logs_service_pb2.ExportLogsServiceResponse()

            server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
            trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)  # type: ignore[no-untyped-call]
            metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)  # type: ignore[no-untyped-call]
            logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), server)  # type: ignore[no-untyped-call]
            self._grpc_port = server.add_insecure_port("127.0.0.1:0")
            server.start()
            self._grpc = server
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._grpc is not None:
            self._grpc.stop(grace=None)
            self._grpc = None

    @property
    def port(self) -> int:
        """The gRPC port."""
        return self._grpc_port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (an insecure gRPC endpoint)."""
        return f"http://127.0.0.1:{self._grpc_port}"


def _spans(resource_spans: Any) -> list[ReceivedSpan]:
    resource = _attributes(resource_spans.resource.attributes)
    out = []
    for scope in resource_spans.scope_spans:
        for span in scope.spans:
            out.append(
                ReceivedSpan(
                    name=span.name,
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex(),
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    attributes=_attributes(span.attributes),
                    resource=resource,
                    status=("UNSET", "OK", "ERROR")[span.status.code],
                    status_message=span.status.message,
                    events=[(e.name, _attributes(e.attributes)) for e in span.events],
                )
            )
    return out


def _logs(resource_logs: Any) -> list[ReceivedLog]:
    resource = _attributes(resource_logs.resource.attributes)
    return [
        ReceivedLog(record.body.string_value, _attributes(record.attributes), resource, record.time_unix_nano)
        for scope in resource_logs.scope_logs
        for record in scope.log_records
    ]


def _points(resource_metrics: Any) -> list[ReceivedPoint]:
    resource = _attributes(resource_metrics.resource.attributes)
    out = []
    for scope in resource_metrics.scope_metrics:
        for metric in scope.metrics:
            kind = metric.WhichOneof("data")
            data = getattr(metric, kind)
            for point in data.data_points:
                attributes = _attributes(point.attributes)
                if kind == "histogram":
                    value, count = point.sum, point.count
                else:
                    value = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
                    count = 0
                out.append(ReceivedPoint(metric.name, metric.unit, value, attributes, resource, count))
    return out


def _attributes(pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        kind = pair.value.WhichOneof("value")
        out[pair.key] = getattr(pair.value, kind) if kind else None
    return out


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status = self.server.fake.receive(self.path.split("?")[0], body, headers)
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a test reads what arrived, not the access log."""
