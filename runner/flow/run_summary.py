"""The run report: what a mention run did, for the step summary (GitHub) and the report file
(GitLab), after the summary's status, answer and links: the tool calls and denials, tokens and
cost per model, time per phase, a Mermaid timeline of phases, model calls and tool calls, and
where the transcript is.

Built from the events the loop emitted, stamped as they arrived (``timeline.py``), and the times
the flow entered its phases. Every piece of text from the run (a tool's input, a model id, a
denied command) goes into a code span or a diagram label it cannot leave (``report_md.py``,
``gantt.py``); the caller redacts the whole. Pure: data in, markdown out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.agent.live_log import short_input
from runner.flow.gantt import gantt, label, phases_from
from runner.flow.report_md import code_span, fenced, link
from runner.flow.timeline import ModelCall, TimedEvent, ToolBatch, model_calls, result_of, tool_batches

MAX_TOOL_LINES = 200  # tool calls listed one a line; the rest are counted
MAX_DENIAL_LINES = 50
_OUTCOME = {"ok": "ok", "error": "❌ error", "denied": "⛔ denied", "no result": "no result"}


@dataclass(frozen=True)
class ReportInput:
    """What the report is made of."""

    events: Sequence[TimedEvent] = ()
    phases: Sequence[tuple[str, float]] = ()  # (phase, epoch seconds it was entered)
    ended: float = 0.0  # when the report was made (the last phase ends then)
    transcript_url: str | None = None  # where the transcript can be read, when it is known
    transcript_note: str = ""  # otherwise where it is (e.g. "the step's `transcript_file` output")
    quiet: bool = False  # a confidential issue's run: tool names only, never their inputs


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{int(value // 60)} min {value % 60:.0f} s"


def _phase_table(data: ReportInput) -> list[str]:
    phases = phases_from(data.phases, data.ended)
    if not phases:
        return []
    first = phases[0].start
    rows = [
        f"| {label(p.name)} | +{_seconds(p.start - first)} | {_seconds(p.end - p.start)} |" for p in phases
    ]
    total = _seconds(data.ended - first)
    return [
        "#### Time per phase",
        "",
        "| phase | started | took |",
        "| --- | ---: | ---: |",
        *rows,
        f"| **total** | | **{total}** |",
    ]


def _usage_rows(result: Mapping[str, Any] | None, calls: Sequence[ModelCall]) -> list[list[str]]:
    counts: dict[str, int] = {}
    for call in calls:
        counts[call.model] = counts.get(call.model, 0) + 1
    usage = (result or {}).get("modelUsage")
    rows = []
    if isinstance(usage, Mapping) and usage:
        for model, u in usage.items():
            if not isinstance(u, Mapping):
                continue
            rows.append(
                [
                    label(str(model), 80) or "?",
                    str(counts.get(str(model), 0)),
                    *(
                        str(int(u.get(k) or 0))
                        for k in (
                            "inputTokens",
                            "outputTokens",
                            "cacheReadInputTokens",
                            "cacheCreationInputTokens",
                        )
                    ),
                    f"${float(u.get('costUSD') or 0):.4f}",
                ]
            )
        return rows
    totals: dict[str, list[int]] = {}
    for call in calls:  # no result (the run stopped early): the tokens the calls reported, no cost
        entry = totals.setdefault(call.model, [0, 0])
        entry[0] += call.input_tokens
        entry[1] += call.output_tokens
    return [
        [label(model, 80) or "?", str(counts[model]), str(i), str(o), "–", "–", "–"]
        for model, (i, o) in totals.items()
    ]


def _usage_table(result: Mapping[str, Any] | None, calls: Sequence[ModelCall]) -> list[str]:
    rows = _usage_rows(result, calls)
    if not rows:
        return []
    lines = [
        "#### Tokens and cost per model",
        "",
        "| model | calls | input | output | cache read | cache write | cost |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(f"| {' | '.join(row)} |" for row in rows),
    ]
    if result is not None:
        estimate = " (an estimate)" if result.get("cost_is_estimate") else ""
        cost = f"**${float(result.get('total_cost_usd') or 0):.4f}**{estimate}"
        lines.append(f"| **total** | **{len(calls)}** | | | | | {cost} |")
    return lines


def _tool_lines(batches: Sequence[ToolBatch]) -> list[str]:
    calls = [(batch.turn, call) for batch in batches for call in batch.calls]
    if not calls:
        return []
    failed = sum(1 for _, c in calls if c.outcome == "error")
    denied = sum(1 for _, c in calls if c.outcome == "denied")
    lines = [f"#### Tool calls: {len(calls)} ({failed} failed, {denied} denied)", ""]
    for turn, call in calls[:MAX_TOOL_LINES]:
        shown = f" {code_span(call.input)}" if call.input else ""
        lines.append(
            f"- turn {turn}: {code_span(label(call.name, 80) or '?')}{shown} → {_OUTCOME[call.outcome]}"
        )
    if len(calls) > MAX_TOOL_LINES:
        lines.append(f"- … and {len(calls) - MAX_TOOL_LINES} more (every call is in the transcript)")
    return lines


def _denial_lines(result: Mapping[str, Any] | None, quiet: bool) -> list[str]:
    denials = [d for d in (result or {}).get("permission_denials") or [] if isinstance(d, Mapping)]
    if not denials:
        return []
    lines = [f"#### Denied: {len(denials)}", ""]
    for denial in denials[:MAX_DENIAL_LINES]:
        name = str(denial.get("tool_name") or "?")
        args = denial.get("tool_input")
        shown = "" if quiet or not isinstance(args, Mapping) else " " + code_span(short_input(name, args))
        lines.append(f"- {code_span(label(name, 80) or '?')}{shown.rstrip()}")
    if len(denials) > MAX_DENIAL_LINES:
        lines.append(f"- … and {len(denials) - MAX_DENIAL_LINES} more")
    lines += [
        "",
        "A denied call needs an allow rule (`claude_args: --allowedTools ...`) or another approach.",
    ]
    return lines


def _timeline(data: ReportInput, calls: Sequence[ModelCall], batches: Sequence[ToolBatch]) -> list[str]:
    phases = phases_from(data.phases, data.ended)
    if not phases and not calls:
        return []
    diagram, left_out = gantt(phases, calls, batches, ended=data.ended)
    # Labels are filtered (no backtick): the fence cannot be closed from inside the diagram.
    lines = ["#### Timeline", "", fenced(diagram, "mermaid")]
    if left_out:
        lines += ["", f"_The diagram leaves out the last {left_out} model and tool calls._"]
    return lines


def _transcript(data: ReportInput) -> list[str]:
    # The job, branch and PR/MR links are in the summary above the report.
    if data.transcript_url:
        return [f"Every message and tool result: {link('the transcript', data.transcript_url)}."]
    return [f"Every message and tool result: {data.transcript_note}."] if data.transcript_note else []


def run_report(data: ReportInput) -> str:
    """The report's markdown ("" when the run recorded nothing to report)."""
    events = list(data.events)
    result = result_of(events)
    calls = model_calls(events)
    batches = tool_batches(events, quiet=data.quiet)
    sections = [
        _tool_lines(batches),
        _denial_lines(result, data.quiet),
        _usage_table(result, calls),
        _phase_table(data),
        _timeline(data, calls, batches),
        _transcript(data),
    ]
    parts = ["\n".join(section) for section in sections if section]
    if not parts:
        return ""
    return "\n\n".join(["### Run report", *parts])


__all__ = ["MAX_TOOL_LINES", "ReportInput", "run_report"]
