"""The run as a Mermaid ``gantt`` diagram: its phases, model calls and tool calls on a clock.

GitHub and GitLab render a ```` ```mermaid ```` block in markdown. Every label is built from a
fixed word and a filtered name: only letters, digits, spaces and a few harmless marks reach the
diagram, so a tool input or a model id cannot end a task line early (``:``), start a comment or
directive (``%%``), an entity (``#...;``), a keyword line (``section``, ``click``) or leave the
code fence (a backtick). Pure: data in, text out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from runner.flow.timeline import ModelCall, ToolBatch

MAX_TASKS = 80  # model and tool spans drawn; the rest are counted under the diagram
_LABEL_CHARS = 48
_SAFE_MARKS = frozenset(" _.-/()+=@,'")


@dataclass(frozen=True)
class Phase:
    """One phase of the run, from when it was entered to when the next one was."""

    name: str
    start: float
    end: float


def label(text: str, limit: int = _LABEL_CHARS) -> str:
    """``text`` reduced to characters that mean nothing to Mermaid or markdown, on one line."""
    kept = "".join(ch if ch.isalnum() or ch in _SAFE_MARKS else " " for ch in text)
    kept = " ".join(kept.split())
    return kept if len(kept) <= limit else kept[: limit - 1].rstrip() + "…"


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _task(name: str, task_id: str, start: float, end: float, *, critical: bool = False) -> str:
    tags = "crit, " if critical else ""
    begin = _ms(start)
    return f"    {name} :{tags}{task_id}, {begin}, {max(begin, _ms(end))}"


def gantt(
    phases: Sequence[Phase],
    models: Sequence[ModelCall],
    tools: Sequence[ToolBatch],
    *,
    ended: float,
) -> tuple[str, int]:
    """The diagram's text, and how many model and tool spans were left out (``MAX_TASKS``)."""
    lines = ["gantt", "    title Run timeline", "    dateFormat x", "    axisFormat %H:%M:%S"]
    if phases:
        lines.append("    section Phases")
        lines += [_task(label(p.name) or "phase", f"p{i}", p.start, p.end) for i, p in enumerate(phases, 1)]
    spans: list[tuple[float, str]] = []
    for call in models:
        retries = f" {call.retries} retries" if call.retries else ""
        name = label(f"turn {call.turn} {call.model}{retries}")
        spans.append((call.start, "m" + _task(name, f"m{call.turn}", call.start, call.end)))
    for batch in tools:
        names = sorted({c.name for c in batch.calls})
        shown = label(" ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else ""))
        name = label(f"tools {batch.turn} {shown}")
        failed = any(c.outcome != "ok" for c in batch.calls)
        end = batch.end if batch.end is not None else ended
        spans.append((batch.start, "t" + _task(name, f"t{batch.turn}", batch.start, end, critical=failed)))
    spans.sort(key=lambda span: span[0])
    drawn = spans[:MAX_TASKS]
    for section, title in (("m", "Model calls"), ("t", "Tool calls")):
        rows = [text[1:] for _, text in drawn if text[0] == section]
        if rows:
            lines += [f"    section {title}", *rows]
    return "\n".join(lines), len(spans) - len(drawn)


def phases_from(entered: Sequence[tuple[str, float]], ended: float) -> list[Phase]:
    """Phases from the times they were entered; the last one lasts until ``ended``."""
    phases = []
    for i, (name, start) in enumerate(entered):
        end = entered[i + 1][1] if i + 1 < len(entered) else ended
        phases.append(Phase(name, start, max(start, end)))
    return phases


__all__ = ["MAX_TASKS", "Phase", "gantt", "label", "phases_from"]
