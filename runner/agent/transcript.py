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
        if self._transcript is None and self.output_format != "stream-json":
            return
        line = json.dumps(clean, ensure_ascii=False)
        if self._transcript is not None:
            try:
                self._transcript.write(line + "\n")
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
