"""A CI job's log made readable: timestamps off, and trimmed around the failure.

Pure functions: ``trim_log`` keeps the head of the log, a window around every line that looks like
a failure (the last ones first when there are many), and the tail, and says what it cut. A log of a
few thousand lines is kept whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# GitHub prefixes every line with its time ("2024-05-01T10:00:00.1234567Z "); GitLab's raw trace
# carries ANSI colours and section markers ("section_start:1700000000:step_script\r\x1b[0K").
_TIMESTAMP = re.compile(r"^\ufeff?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SECTION = re.compile(r"section_(?:start|end):\d+:[^\r\n]*?\r")
# What a failing line says: test runners, compilers, shells and Actions' own annotations.
_FAILURE = re.compile(
    r"##\[error\]|\berror\b|\bERROR\b|\bfailed\b|\bFAILED\b|\bFAIL\b|\bfailure\b|Traceback|"
    r"\bException\b|\bpanic:|AssertionError|exit code [1-9]|exited with code [1-9]|"
    r"Process completed with exit code [1-9]|ERROR: Job failed",
    re.IGNORECASE,
)
HEAD_LINES = 40
TAIL_LINES = 150
CONTEXT_LINES = 40  # before and after each failing line
MAX_WINDOWS = 8  # failing regions kept (the last ones: a failure's cause is usually near the end)
WHOLE_LINES = 3000  # a log this short is kept whole


@dataclass(frozen=True)
class TrimmedLog:
    """The readable log, and what was done to it."""

    text: str
    total_lines: int
    kept_lines: int
    failure_lines: tuple[int, ...]  # 1-based line numbers in ``text`` of the lines that look failing


def clean_line(line: str) -> str:
    """One log line without its timestamp, colours and section markers; of a line a progress bar
    rewrote (``\r``), what the terminal showed last."""
    line = _ANSI.sub("", _SECTION.sub("", _TIMESTAMP.sub("", line))).rstrip("\r")
    return next((part for part in reversed(line.split("\r")) if part.strip()), "")


def trim_log(raw: str) -> TrimmedLog:
    """``raw`` cleaned, and cut to the parts that explain a failure when it is long."""
    lines = [clean_line(line) for line in raw.rstrip("\n").split("\n")]  # not splitlines: "\r" is no end
    failing = [i for i, line in enumerate(lines) if _FAILURE.search(line)]
    if len(lines) <= WHOLE_LINES:
        return TrimmedLog("\n".join(lines) + "\n", len(lines), len(lines), tuple(i + 1 for i in failing))
    keep: set[int] = set(range(min(HEAD_LINES, len(lines))))
    keep |= set(range(max(0, len(lines) - TAIL_LINES), len(lines)))
    for i in _last_regions(failing):
        keep |= set(range(max(0, i - CONTEXT_LINES), min(len(lines), i + CONTEXT_LINES + 1)))
    out: list[str] = []
    marks: list[int] = []
    previous = -1
    for i in sorted(keep):
        if i != previous + 1:
            out.append(f"[... {i - previous - 1} lines cut by claude-runner ...]")
        out.append(lines[i])
        if i in failing:
            marks.append(len(out))
        previous = i
    if previous < len(lines) - 1:
        out.append(f"[... {len(lines) - previous - 1} lines cut by claude-runner ...]")
    return TrimmedLog("\n".join(out) + "\n", len(lines), len(keep), tuple(marks))


def _last_regions(failing: list[int]) -> list[int]:
    """The failing lines that start a region (a failure within the context of the previous one
    belongs to it), the last ``MAX_WINDOWS`` regions."""
    starts: list[int] = []
    for i in failing:
        if not starts or i - starts[-1] > CONTEXT_LINES:
            starts.append(i)
    regions = starts[-MAX_WINDOWS:]
    return [i for i in failing if i >= regions[0]] if regions else []
