"""OpenTelemetry of a run, configured as Claude Code's (``CLAUDE_CODE_ENABLE_TELEMETRY``, ``OTEL_*``):
``base.py`` is what a run's code holds (the observer interface, the one that does nothing),
``setup.py`` opens the run's observer, ``observer.py`` turns the run's events into spans, metric
points and Claude Code's events with its names, ``otel.py`` hands them to the OpenTelemetry SDK
(the ``telemetry`` extra, imported only when telemetry is on and the agent starts). Nothing is
imported here, so holding an observer costs nothing."""
