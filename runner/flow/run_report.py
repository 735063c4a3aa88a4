"""``display_report``: every turn of the run for the job summary, built from its transcript.

The transcript (``execution.jsonl``, stream-json events, already redacted as it was written) is
laid out as markdown: each assistant message's text, each tool call with its input and the start
of its result (folded, so the page stays readable), and the result line with turns, tokens and
cost. Everything is redacted once more and the report is bounded (GitHub refuses a step summary
over 1024 KiB: "upload aborted, supports content up to a size of 1024k"): what does not fit is
cut with a line that says so. Tool names go into code spans, never raw into HTML.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from runner.agent.live_log import result_text
from runner.flow.report_md import code_span
from runner.sanitize import Redactor

MAX_SUMMARY_BYTES = 1_000_000  # the whole step summary, under GitHub's 1024 KiB
MAX_REPORT_BYTES = 400_000
MAX_RESULT_CHARS = 2_000
MAX_INPUT_CHARS = 1_000


def _events(path: Path) -> Iterator[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event


def _fence(text: str, limit: int) -> str:
    shown = text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"
    fence = "```"
    while fence in shown:
        fence += "`"
    return f"{fence}\n{shown}\n{fence}"


def report_lines(events: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The report's markdown, a block at a time."""
    calls: dict[str, str] = {}
    turn = 0
    for event in events:
        kind = event.get("type")
        content = (
            (event.get("message") or {}).get("content") if isinstance(event.get("message"), dict) else None
        )
        if kind == "assistant" and isinstance(content, list):
            turn += 1
            yield f"#### Turn {turn}"
            for block in content:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "text" and str(block.get("text", "")).strip():
                    yield str(block["text"]).strip()
                elif block.get("type") == "tool_use":
                    name = str(block.get("name", "?"))
                    calls[str(block.get("id", ""))] = name
                    args = json.dumps(block.get("input", {}), ensure_ascii=False, indent=1)
                    yield f"🔧 {code_span(name) or '?'}\n\n{_fence(args, MAX_INPUT_CHARS)}"
        elif kind == "user" and isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    name = html.escape(" ".join(calls.get(str(block.get("tool_use_id", "")), "tool").split()))
                    status = "❌ error" if block.get("is_error") else "result"
                    body = _fence(result_text(block.get("content")), MAX_RESULT_CHARS)
                    yield f"<details><summary>{name}: {status}</summary>\n\n{body}\n\n</details>"
        elif kind == "result":
            usage = event.get("usage") or {}
            tokens = sum(int(usage.get(k, 0) or 0) for k in ("input_tokens", "output_tokens"))
            yield (
                f"**{event.get('subtype', 'result')}** · {event.get('num_turns', turn)} turns · "
                f"{tokens} tokens · ${float(event.get('total_cost_usd', 0) or 0):.4f} · "
                f"{int(event.get('duration_ms', 0) or 0) / 1000:.1f} s"
            )


def full_report(transcript: Path, redactor: Redactor, *, limit: int = MAX_REPORT_BYTES) -> str:
    """Every turn of the run in ``transcript``, at most ``limit`` bytes of UTF-8 ("" when there is
    none, or no room)."""
    cut = f"_… cut here: the rest is in the transcript ({transcript.name})._"
    heading = "### Every turn"
    parts: list[str] = []
    size = len(heading.encode()) + len(cut.encode()) + 4
    if size >= limit:
        return ""
    for block in report_lines(_events(transcript)):
        text = redactor.text(block)
        need = len(text.encode()) + 2
        if size + need > limit:
            parts.append(cut)
            break
        parts.append(text)
        size += need
    if not parts:
        return ""
    return "\n\n".join([heading, *parts])


def bounded(markdown: str, limit: int) -> str:
    """``markdown`` cut at a line to at most ``limit`` bytes of UTF-8, saying so (the parts that
    fill a page are bounded each; this is the last net)."""
    if len(markdown.encode()) <= limit:
        return markdown
    note = "\n\n_… the summary is cut here: it was over the step summary's size limit._"
    room = limit - len(note.encode())
    kept = markdown.encode()[:room].decode("utf-8", errors="ignore")
    return kept[: kept.rfind("\n") + 1].rstrip("\n") + note


__all__ = ["MAX_REPORT_BYTES", "MAX_SUMMARY_BYTES", "bounded", "full_report", "report_lines"]
