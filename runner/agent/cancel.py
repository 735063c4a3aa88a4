"""Cancelling a run from a signal handler, so it stays cancelled.

A signal can arrive while the HTTP client is reading; the exception raised there may be
wrapped into a connection error and look retryable. The token remembers the cancellation,
and every retry and every loop step checks it.
"""

from __future__ import annotations


class Interrupted(Exception):
    """The run was cancelled (SIGTERM/SIGINT from a cancelled CI job)."""


class CancelToken:
    """Set once by a signal handler; checked by the loop and the retry logic."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def cancel(self, reason: str) -> None:
        """Mark the run cancelled and stop what is running now."""
        self.reason = reason
        raise Interrupted(reason)

    def check(self) -> None:
        """Raise ``Interrupted`` if the run was cancelled."""
        if self.reason is not None:
            raise Interrupted(self.reason)
