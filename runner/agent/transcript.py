"""Where events go: stdout in the chosen ``--output-format``, and the ``--transcript`` file.

Everything is redacted on the way out, so a secret the agent saw never reaches a CI log.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import IO, Any, Protocol

from runner.errors import OutputError, UsageError
from runner.sanitize import Redactor

OUTPUT_FORMATS = ("text", "json", "stream-json")


class TextStream(Protocol):
    """Where printed output goes: stdout, or a CI job's log."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


# System events a person should see whatever the output format (on stderr).
NOTICES = frozenset({"warning", "model_fallback"})


class EventSink:
    """Receives every event of a run; prints and records them as configured."""

    def __init__(
        self,
        output_format: str,
        out: TextStream,
        err: TextStream,
        redactor: Redactor,
        transcript: Path | None = None,
    ) -> None:
        if output_format not in OUTPUT_FORMATS:
            raise UsageError(
                f"--output-format must be one of {', '.join(OUTPUT_FORMATS)} (got {output_format!r})"
            )
        self.output_format = output_format
        self.out, self.err = out, err
        self.redactor = redactor
        self.result: dict[str, Any] | None = None
        self.transcript_path = transcript
        self.transcript_error: str | None = None  # why the transcript stopped being written
        # Messages the transcript holds after the init event, which the output streams do not: the
        # prompt (and a resumed session's messages), so --resume can rebuild the conversation.
        self.opening: list[dict[str, Any]] = []
        self._transcript: IO[str] | None = None
        if transcript is not None:
            try:
                transcript.parent.mkdir(parents=True, exist_ok=True)
                self._transcript = transcript.open("w", encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"--transcript: cannot write {transcript}: {exc.strerror}") from exc

    def __call__(self, event: dict[str, Any]) -> None:
        """Record one event (redacted)."""
        clean = self.redactor.data(event)
        if event.get("type") == "result":
            self.result = clean
        elif event.get("type") == "system" and event.get("subtype") in NOTICES:
            self.err.write(f"warning: {clean.get('message', '')}\n")  # a fallback, an estimated cost
        if self._transcript is None and self.output_format != "stream-json":
            return
        line = json.dumps(clean, ensure_ascii=False)
        if self._transcript is not None:
            try:
                self._transcript.write(line + "\n")
                if event.get("subtype") == "init" and event.get("type") == "system":
                    for message in self.opening:
                        entry = {**message, "session_id": event.get("session_id")}
                        self._transcript.write(
                            json.dumps(self.redactor.data(entry), ensure_ascii=False) + "\n"
                        )
                self._transcript.flush()  # a killed job still leaves every line written so far
            except OSError as exc:  # a full disk must not cost the answer the run paid for
                self._transcript_failed(exc)
        if self.output_format == "stream-json":
            self.out.write(line + "\n")
            self.out.flush()

    def _transcript_failed(self, exc: OSError) -> None:
        self.transcript_error = f"--transcript: could not write {self.transcript_path}: {exc.strerror or exc}"
        transcript, self._transcript = self._transcript, None
        if transcript is not None:
            with contextlib.suppress(OSError):
                transcript.close()

    def close(self) -> None:
        """Print the final answer for ``text`` / ``json``, then close the transcript (the answer
        first: it was paid for, and a transcript on a full disk must not cost it)."""
        try:
            self._print_result()
        finally:
            if self._transcript is not None:
                try:
                    self._transcript.close()
                except OSError as exc:
                    self._transcript_failed(exc)
                self._transcript = None

    def check_transcript(self) -> None:
        """Raise ``OutputError`` if the transcript could not be written whole."""
        if self.transcript_error:
            raise OutputError(self.transcript_error, "free disk space or pass another --transcript path")

    def _print_result(self) -> None:
        result = self.result
        if result is None:
            return
        if self.output_format == "json":
            self.out.write(json.dumps(result, ensure_ascii=False) + "\n")
        elif self.output_format == "text":
            errors = result.get("errors") or [result.get("subtype")]
            if result.get("is_error"):
                self.err.write(f"error: {'; '.join(map(str, errors))}\n")
            if result.get("result") and not (result.get("is_error") and result["result"] in errors):
                self.out.write(str(result["result"]).rstrip("\n") + "\n")
        self.out.flush()


EXECUTION_ARRAY = "claude-execution-output.json"


def execution_array(transcript: Path | None) -> Path | None:
    """The transcript as claude-code-action's ``execution_file``: one JSON array of every message,
    written next to it (``claude-execution-output.json``); None when there is no transcript."""
    if transcript is None or not transcript.is_file():
        return None
    events = []
    for line in transcript.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a killed run's last line may be cut
    target = transcript.with_name(EXECUTION_ARRAY)
    try:
        target.write_text(json.dumps(events, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError:
        return None
    return target


def opening_messages(history: list[dict[str, Any]], prompt: str) -> list[dict[str, Any]]:
    """The transcript lines that record a run's opening messages (``EventSink.opening``)."""
    messages = [*history, {"role": "user", "content": [{"type": "text", "text": prompt}]}]
    return [{"type": m["role"], "message": m, "parent_tool_use_id": None} for m in messages]
