"""Opening a run's telemetry: the settings' warnings, the secret headers, the lazy SDK."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from runner import __version__
from runner.sanitize import Redactor
from runner.settings.telemetry import TelemetrySettings
from runner.telemetry.base import NoTelemetry, RunObserver
from runner.telemetry.observer import Backend, RunTelemetry, TelemetryOptions

MISSING_EXTRA = (
    "warning: telemetry is on (CLAUDE_CODE_ENABLE_TELEMETRY) but the OpenTelemetry SDK is not installed: "
    "pip install 'claude-runner[telemetry]'; this run exports nothing"
)
MISSING_GRPC = (
    "warning: telemetry: OTLP over gRPC (OTEL_EXPORTER_OTLP_PROTOCOL=grpc) needs the gRPC exporter, "
    "which is not installed: pip install 'claude-runner[telemetry-grpc]', or use http/protobuf; "
    "this run exports nothing"
)


def _wants_grpc(settings: TelemetrySettings) -> bool:
    return any(
        "otlp" in signal.exporters and signal.protocol == "grpc"
        for signal in (settings.traces, settings.metrics, settings.logs)
    )


def _grpc_exporter_installed() -> bool:
    # grpcio (19 MB) is the `telemetry-grpc` extra's, not the `telemetry` one's (nor the image's).
    try:
        import opentelemetry.exporter.otlp.proto.grpc.exporter  # noqa: F401
    except ImportError:
        return False
    return True


def open_telemetry(
    settings: TelemetrySettings,
    warn: Callable[[str], None],
    redactor: Redactor,
    *,
    job: Mapping[str, str | int | None] | None = None,
) -> RunObserver:
    """The run's observer: ``NoTelemetry`` when off; else one that loads the SDK when the agent starts.

    ``warn`` gets the settings' warnings now, and one line later if the SDK is missing or an
    export fails. The exporters' header values are added to ``redactor``. ``job``: the CI job's
    attributes (platform, repository; None values left out), on the span its phases hang from.
    """
    for line in settings.warnings:
        warn(line)
    if not settings.enabled:
        return NoTelemetry()
    redactor.add(*settings.secret_values)

    def open_backend() -> Backend | None:
        try:
            from runner.telemetry.otel import OtelBackend
        except ImportError:
            warn(MISSING_EXTRA)
            return None
        if _wants_grpc(settings) and not _grpc_exporter_installed():
            warn(MISSING_GRPC)
            return None
        return OtelBackend(settings, __version__)

    options = TelemetryOptions(
        log_user_prompts=settings.log_user_prompts,
        log_tool_details=settings.log_tool_details,
        include_session_id=settings.include_session_id,
        version=__version__ if settings.include_version else None,
    )
    return RunTelemetry(
        open_backend,
        warn,
        redactor,
        options=options,
        job={k: v for k, v in (job or {}).items() if v is not None},
    )


__all__ = ["NoTelemetry", "RunObserver", "open_telemetry"]
