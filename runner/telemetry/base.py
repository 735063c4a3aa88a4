"""What a run's code holds of telemetry: the observer interface, and the one that does nothing.

Free of the agent and the SDK, so the code on the acknowledgement path (the run's record of its
phases) can hold an observer without importing either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from runner.agent.usage import Price


class RunObserver(Protocol):
    """What a run's code calls: the phases, the agent's prompt and prices, its events, and
    ``close`` at the end."""

    def __call__(self, event: Mapping[str, Any]) -> None: ...

    def phase(self, name: str) -> None: ...

    def agent(self, prompt: str, prices: Mapping[str, Price], *, quiet: bool = False) -> None: ...

    def close(self) -> None: ...


class NoTelemetry:
    """The observer when telemetry is off: does nothing, loads nothing."""

    def __call__(self, event: Mapping[str, Any]) -> None:
        """Ignore the event."""

    def phase(self, name: str) -> None:
        """Ignore the phase."""

    def agent(self, prompt: str, prices: Mapping[str, Price], *, quiet: bool = False) -> None:
        """Ignore the agent's start."""

    def close(self) -> None:
        """Nothing to flush."""
