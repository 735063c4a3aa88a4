"""The run as a person watching a CI log reads it: one line per model call, tool call and retry.

Fed the same events the loop emits (``--output-format stream-json``'s), it writes short redacted
lines; a heartbeat says what the run is waiting for when nothing was printed for a while, so a
slow model or a long command never looks like a hang.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from runner.agent.usage import DEFAULT_PRICES, Price, UsageTracker
from runner.sanitize import Redactor

HEARTBEAT_S = 10.0
_INPUT_CHARS = 80  # a tool call's input, as shown on its line
_FULL_OUTPUT_CHARS = 20_000  # show_full_output: a tool's output, at most

# What a retried status means, in words (None: no response arrived).
_STATUS_WORDS = {
    None: "connection failed",
    408: "request timeout",
    409: "conflict",
    429: "rate limited",
    500: "server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
    529: "overloaded",
}

# The input field that best says what a call does, per tool; others show their JSON.
_KEY_INPUT = {
    "Bash": "command",
    "Read": "file_path",
    "Write": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
    "Glob": "pattern",
    "Grep": "pattern",
    "WebFetch": "url",
    "WebSearch": "query",
}


def short_input(tool: str, args: Mapping[str, Any], limit: int = _INPUT_CHARS) -> str:
    """A one-line summary of a tool call's input (the caller redacts it)."""
    key = _KEY_INPUT.get(tool)
    value = args.get(key) if key else None
    text = str(value) if isinstance(value, str) else json.dumps(args, ensure_ascii=False, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def retry_line(event: Mapping[str, Any]) -> str:
    """``529 overloaded, retrying in 4 s, attempt 2 of 8`` for a ``system/api_retry`` event."""
    status = event.get("error_status")
    words = _STATUS_WORDS.get(status, str(event.get("error") or "error"))
    what = f"{status} {words}" if status is not None else words
    delay = round(float(event.get("retry_delay_ms") or 0) / 1000, 1)
    return (
        f"model API: {what}, retrying in {delay:g} s, "
        f"attempt {event.get('attempt')} of {event.get('max_retries')}"
    )


class LiveLog:
    """Turns agent events into log lines; ``start``/``stop`` run the heartbeat thread.

    ``full``: also each tool's whole output (redacted), for ``show_full_output``.
    ``quiet``: tool names only, never their inputs or outputs (a confidential issue's run).
    ``clock``/``heartbeat_s``: injectable so a test can drive ``tick`` without waiting.
    """

    def __init__(
        self,
        write: Callable[[str], None],
        redactor: Redactor,
        *,
        prices: Mapping[str, Price] = DEFAULT_PRICES,
        full: bool = False,
        quiet: bool = False,
        clock: Callable[[], float] = time.monotonic,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self._write, self.redactor = write, redactor
        self.full, self.quiet = full, quiet
        self.clock, self.heartbeat_s = clock, heartbeat_s
        self._usage = UsageTracker(prices=dict(prices))
        self._lock = threading.Lock()
        self._turn = 0
        self._pending: dict[str, tuple[str, str]] = {}  # tool_use id -> (tool, short input)
        self._last_line = self._waiting_since = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def say(self, line: str) -> None:
        """Write one redacted line and note the time (the heartbeat counts from it)."""
        with self._lock:
            self._last_line = self.clock()
        self._write(self.redactor.text(line))

    def __call__(self, event: Mapping[str, Any]) -> None:
        """Log one event."""
        kind, subtype = event.get("type"), event.get("subtype")
        if kind == "system" and subtype == "init":
            self._waiting_since = self.clock()
            tools = event.get("tools") or []
            self.say(
                f"Claude starts: model {event.get('model')}, {len(tools)} tools, "
                f"permission mode {event.get('permissionMode')}"
            )
        elif kind == "system" and subtype == "api_retry":
            self.say(retry_line(event))
        elif kind == "assistant":
            self._assistant(event.get("message") or {})
        elif kind == "user":
            self._tool_results(event.get("message") or {})
        elif kind == "result":
            self._result(event)

    def _assistant(self, message: Mapping[str, Any]) -> None:
        self._turn += 1
        model = str(message.get("model") or "")
        usage = message.get("usage") or {}
        self._usage.add(model, usage)
        tokens = f"{usage.get('input_tokens', 0)} in, {usage.get('output_tokens', 0)} out tokens"
        cached = usage.get("cache_read_input_tokens") or 0
        if cached:
            tokens += f" ({cached} read from cache)"
        self.say(f"turn {self._turn}: {model}, {tokens}, ${self._usage.total_cost_usd:.4f} so far")
        for block in message.get("content") or []:
            if block.get("type") != "tool_use":
                continue
            name = str(block.get("name") or "")
            shown = "" if self.quiet else short_input(name, block.get("input") or {})
            self._pending[str(block.get("id"))] = (name, shown)
        self._waiting_since = self.clock()

    def _tool_results(self, message: Mapping[str, Any]) -> None:
        for block in message.get("content") or []:
            if block.get("type") != "tool_result":
                continue
            name, shown = self._pending.pop(str(block.get("tool_use_id")), ("tool", ""))
            output = result_text(block.get("content"))
            if block.get("is_error"):
                first = "" if self.quiet else ": " + (output.strip().splitlines() or [""])[0][:_INPUT_CHARS]
                outcome = f"failed{first}"
            else:
                outcome = f"ok ({len(output.encode())} bytes)"
            self.say(f"  {name}" + (f" {shown}" if shown else "") + f" → {outcome}")
            if self.full and not self.quiet and output:
                clipped = output[:_FULL_OUTPUT_CHARS]
                for line in clipped.rstrip("\n").splitlines():
                    self.say(f"    | {line}")
                if len(output) > len(clipped):
                    self.say(f"    | ... ({len(output) - len(clipped)} more characters)")
        self._waiting_since = self.clock()

    def _result(self, event: Mapping[str, Any]) -> None:
        seconds = (event.get("duration_ms") or 0) / 1000
        summary = (
            f"{event.get('num_turns')} turns, ${float(event.get('total_cost_usd') or 0):.4f}, {seconds:.1f} s"
        )
        if event.get("is_error"):
            self.say(f"Claude stopped: {event.get('subtype')} ({summary})")
        else:
            self.say(f"Claude finished ({summary})")

    def tick(self) -> str | None:
        """The heartbeat line due now, if nothing was printed for ``heartbeat_s``; it is written."""
        now = self.clock()
        with self._lock:
            if now - self._last_line < self.heartbeat_s:
                return None
        waited = int(now - self._waiting_since)
        if self._pending:
            names = ", ".join(sorted({name for name, _ in self._pending.values()}))
            line = f"still running {names} ({waited} s)"
        else:
            line = f"still waiting for the model (turn {self._turn + 1}, {waited} s)"
        self.say(line)
        return line

    def start(self) -> None:
        """Start the heartbeat thread (a daemon: it never keeps the process alive)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="live-log-heartbeat", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the heartbeat thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LiveLog:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _beat(self) -> None:
        while not self._stop.wait(min(1.0, self.heartbeat_s / 4)):
            self.tick()


def result_text(content: Any) -> str:
    """A tool result's text: the string, or its text blocks joined by lines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


def tee(*sinks: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """One ``emit`` that hands each event to every sink in turn."""

    def emit(event: dict[str, Any]) -> None:
        for sink in sinks:
            sink(event)

    return emit
