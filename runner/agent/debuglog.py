"""``--debug [filter]``, ``--debug-file`` and ``--verbose``: a log of what the run does, never its
secrets (lines go through the run's redactor).

Categories: ``api`` (model calls and retries), ``tools`` (tool calls and their outcome), ``hooks``
and ``settings``. ``--debug`` logs every category, or those its filter names (``"api,hooks"``;
``"!tools"`` logs all but tools); ``--verbose`` logs the turn by turn categories, api and tools.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any

from runner.sanitize import Redactor

CATEGORIES = ("api", "tools", "hooks", "settings")
_TURNS = frozenset({"api", "tools"})


class DebugLog:
    """Writes ``[DEBUG] category: text`` lines for the enabled categories."""

    def __init__(
        self, filter_text: str | None, *, verbose: bool, out: IO[str], redactor: Redactor | None = None
    ) -> None:
        self.categories = enabled_categories(filter_text, verbose=verbose)
        self.out = out
        self.redactor = redactor or Redactor()

    def __call__(self, category: str, text: str) -> None:
        """Log ``text`` when ``category`` is enabled."""
        if category in self.categories:
            self.out.write(f"[DEBUG] {category}: {self.redactor.text(text)}\n")
            self.out.flush()

    def category(self, name: str) -> Callable[[str], None]:
        """A one-argument logger for ``name``."""
        return lambda text: self(name, text)

    def watch(self, emit: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        """``emit``, logging the model calls and tool calls its events show on the way."""

        def watched(event: dict[str, Any]) -> None:
            _describe(self, event)
            emit(event)

        return watched


def enabled_categories(filter_text: str | None, *, verbose: bool) -> frozenset[str]:
    """The categories a ``--debug`` filter (None: not given) and ``--verbose`` turn on."""
    if filter_text is None:
        return _TURNS if verbose else frozenset()
    names = [n.strip() for n in filter_text.split(",") if n.strip()]
    excluded = {n[1:] for n in names if n.startswith("!")}
    included = {n for n in names if not n.startswith("!")}
    chosen = included or set(CATEGORIES)
    return frozenset(c for c in chosen - excluded)


def _describe(log: DebugLog, event: dict[str, Any]) -> None:
    kind = event.get("type")
    if kind == "assistant":
        message = event.get("message") or {}
        usage = message.get("usage") or {}
        log(
            "api",
            f"response from {message.get('model')}: stop_reason={message.get('stop_reason')}, "
            f"input_tokens={usage.get('input_tokens')}, output_tokens={usage.get('output_tokens')}",
        )
        for block in message.get("content") or []:
            if block.get("type") == "tool_use":
                arguments = json.dumps(block.get("input"), ensure_ascii=False)[:300]
                log("tools", f"call {block.get('name')} {arguments}")
    elif kind == "user":
        for block in (event.get("message") or {}).get("content") or []:
            if block.get("type") == "tool_result":
                state = "error" if block.get("is_error") else "ok"
                log("tools", f"result {block.get('tool_use_id')}: {state}")
    elif kind == "system" and event.get("subtype") == "api_retry":
        delay = event.get("retry_delay_ms")
        log("api", f"retry {event.get('attempt')} in {delay} ms: {event.get('message')}")
