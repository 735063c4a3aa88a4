"""``--fallback-model``: another model answers when the model asked for is unavailable.

As in Claude Code: after the retries, an overloaded model (529, or an ``overloaded_error`` in a
stream) is replaced by the fallback for that call only; a model the provider does not know (404)
is replaced for the rest of the run. Each switch is announced with a ``system`` event
(``subtype: "model_fallback"``) and a warning; usage and cost are counted per model, and the
result's ``model`` names the model that gave the last answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runner.agent.model_call import ModelCallError, ModelResponse

OVERLOADED = 529
NOT_FOUND = 404


@dataclass
class ModelChoice:
    """The model the next call uses, and the one to fall back to."""

    current: str
    fallback: str | None = None

    def call(
        self,
        call: Callable[[str], ModelResponse],
        notify: Callable[[dict[str, Any]], None],
    ) -> tuple[str, ModelResponse]:
        """Call ``call(model)`` with the current model, then with the fallback if it is unavailable;
        returns the model that answered and its response."""
        try:
            return self.current, call(self.current)
        except ModelCallError as error:
            unavailable = error.status in (OVERLOADED, NOT_FOUND)
            if self.fallback is None or self.fallback == self.current or not unavailable:
                raise
            primary = self.current
            if error.status == NOT_FOUND:
                self.current = self.fallback  # a missing model stays missing
            notify(_event(primary, self.fallback, error))
            return self.fallback, call(self.fallback)


def _event(primary: str, fallback: str, error: ModelCallError) -> dict[str, Any]:
    scope = "for the rest of the run" if error.status == NOT_FOUND else "for this call"
    return {
        "type": "system",
        "subtype": "model_fallback",
        "from_model": primary,
        "to_model": fallback,
        "error_status": error.status,
        "message": f"{primary} is unavailable ({error.message}); {fallback} answers {scope}",
        "uuid": str(uuid.uuid4()),
    }


__all__ = ["ModelChoice"]
