"""The run report (flow/run_summary.py): what a reader of the step summary or claude-report.md sees,
checked by rendering the markdown with markdown-it-py and parsing the timeline with Mermaid."""

from __future__ import annotations

import json
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from runner.agent.live_log import short_input
from runner.flow.finish import report_page
from runner.flow.gantt import MAX_TASKS
from runner.flow.job import Job
from runner.flow.progress import RunProgress
from runner.flow.publish import job_summary
from runner.flow.report_md import code_span, link, quoted, without_html
from runner.flow.run_report import MAX_SUMMARY_BYTES, bounded
from runner.flow.run_summary import MAX_TOOL_LINES, ReportInput, run_report
from runner.flow.state import RunRecord, RunState
from runner.flow.timeline import RunTimeline, TimedEvent
from runner.sanitize import Redactor
from runner.settings.flow import FlowSettings
from tests.mermaid_check import mermaid_parse

SONNET = "claude-sonnet-4-5"
T0 = 1_796_000_000.0  # epoch seconds: the run's first phase
MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def assistant(model: str, *calls: tuple[str, str, dict[str, Any]], text: str = "") -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    content += [{"type": "tool_use", "id": i, "name": n, "input": a} for i, n, a in calls]
    usage = {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 5}
    return {"type": "assistant", "message": {"model": model, "content": content, "usage": usage}}


def results(*outcomes: tuple[str, bool]) -> dict[str, Any]:
    content = [{"type": "tool_result", "tool_use_id": i, "content": "x", "is_error": e} for i, e in outcomes]
    return {"type": "user", "message": {"role": "user", "content": content}}


def result_event(denials: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": "result",
        "subtype": "success",
        "result": "done",
        "total_cost_usd": 0.0123,
        "modelUsage": {
            "claude-sonnet-4-5": {
                "inputTokens": 200,
                "outputTokens": 40,
                "cacheReadInputTokens": 10,
                "cacheCreationInputTokens": 0,
                "costUSD": 0.01,
            },
            "claude-haiku-4-5": {
                "inputTokens": 100,
                "outputTokens": 20,
                "cacheReadInputTokens": 5,
                "cacheCreationInputTokens": 7,
                "costUSD": 0.0023,
            },
        },
        "permission_denials": denials or [],
        **extra,
    }


def recorded(*events: dict[str, Any], start: float = T0 + 2, step: float = 1.5) -> list[TimedEvent]:
    """The events as RunTimeline records them, one every ``step`` seconds."""
    clock = iter(start + i * step for i in range(len(events)))
    timeline = RunTimeline(clock=lambda: next(clock))
    for event in events:
        timeline(event)
    return timeline.events


PHASES = (("starting", T0), ("acknowledged", T0 + 0.5), ("gathering", T0 + 1), ("running", T0 + 2))
DENIED = {"tool_name": "Bash", "tool_use_id": "c3", "tool_input": {"command": "git push --force"}}


def normal_run() -> list[TimedEvent]:
    return recorded(
        {"type": "system", "subtype": "init", "model": "claude-sonnet-4-5"},
        assistant(SONNET, ("c1", "Bash", {"command": "npm test"}), ("c2", "Read", {"file_path": "a"})),
        results(("c1", False), ("c2", True)),
        {"type": "system", "subtype": "api_retry", "attempt": 1},
        assistant("claude-haiku-4-5", ("c3", "Bash", {"command": "git push --force"})),
        results(("c3", True)),
        assistant("claude-haiku-4-5", text="done"),
        result_event([DENIED]),
    )


def headings(tokens: list[Token]) -> list[str]:
    return [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.level == 0]


def fences(tokens: list[Token]) -> list[Token]:
    return [t for t in tokens if t.type == "fence"]


def table_rows(tokens: list[Token], after_heading: str) -> list[list[str]]:
    """The cells of the first table after the heading ``after_heading``, row by row."""
    start = next(i for i, t in enumerate(tokens) if t.type == "inline" and t.content == after_heading)
    rows: list[list[str]] = []
    for token in tokens[start:]:
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows and token.level >= 3:
            rows[-1].append(token.content)
        elif token.type == "table_close":
            break
    return rows


def diagram(markdown: str) -> str:
    (fence,) = [t for t in fences(MD.parse(markdown)) if t.info == "mermaid"]
    return fence.content


def test_the_report_lists_calls_denials_usage_phases_and_a_timeline():
    report = run_report(ReportInput(events=normal_run(), phases=PHASES, ended=T0 + 14))
    tokens = MD.parse(report)
    assert headings(tokens) == [
        "Run report",
        "Tool calls: 3 (1 failed, 1 denied)",
        "Denied: 1",
        "Tokens and cost per model",
        "Time per phase",
        "Timeline",
    ]
    items = [t.content for t in tokens if t.type == "inline" and t.content.startswith("turn ")]
    assert items == [
        "turn 1: `Bash` `npm test` → ok",
        "turn 1: `Read` `a` → ❌ error",
        "turn 2: `Bash` `git push --force` → ⛔ denied",
    ]
    assert table_rows(tokens, "Tokens and cost per model") == [
        ["model", "calls", "input", "output", "cache read", "cache write", "cost"],
        ["claude-sonnet-4-5", "1", "200", "40", "10", "0", "$0.0100"],
        ["claude-haiku-4-5", "2", "100", "20", "5", "7", "$0.0023"],
        ["**total**", "**3**", "", "", "", "", "**$0.0123**"],
    ]
    assert table_rows(tokens, "Time per phase") == [
        ["phase", "started", "took"],
        ["starting", "+0.0 s", "0.5 s"],
        ["acknowledged", "+0.5 s", "0.5 s"],
        ["gathering", "+1.0 s", "1.0 s"],
        ["running", "+2.0 s", "12.0 s"],
        ["**total**", "", "**14.0 s**"],
    ]
    (parsed,) = mermaid_parse([diagram(report)])
    assert parsed["ok"], parsed
    assert parsed["title"] == "Run timeline"
    assert parsed["sections"] == ["Phases", "Model calls", "Tool calls"]
    ms = 1000
    tasks = {t["id"]: (t["task"], t["start"], t["end"], t["crit"]) for t in parsed["tasks"]}
    base = int(T0 * ms)
    assert tasks == {
        "p1": ("starting", base, base + 500, False),
        "p2": ("acknowledged", base + 500, base + 1000, False),
        "p3": ("gathering", base + 1000, base + 2000, False),
        "p4": ("running", base + 2000, base + 14000, False),
        # init at +2 s; the first message at +3.5 s; tools until +5 s; a retry, the second at +8 s
        "m1": ("turn 1 claude-sonnet-4-5", base + 2000, base + 3500, False),
        "m2": ("turn 2 claude-haiku-4-5 1 retries", base + 5000, base + 8000, False),
        "m3": ("turn 3 claude-haiku-4-5", base + 9500, base + 11000, False),
        "t1": ("tools 1 Bash Read", base + 3500, base + 5000, True),
        "t2": ("tools 2 Bash", base + 8000, base + 9500, True),
    }


HOSTILE = "x```\n</blockquote><details><summary>hi</summary>\n:crit, p1, 0, 1\n%%{init: {'theme':'dark'}}%%\n"
HOSTILE_MODEL = "m`\n    section Pwned\n    evil :crit, e1, 0, 1"


def test_hostile_text_stays_in_its_code_span_quote_and_diagram_labels():
    events = recorded(
        {"type": "system", "subtype": "init"},
        assistant(
            HOSTILE_MODEL,
            ("c1", "Bash", {"command": HOSTILE}),
            ("c2", "section Evil #9; click m1 call alert()", {"x": HOSTILE}),
        ),
        results(("c1", True), ("c2", True)),
        assistant(HOSTILE_MODEL, text=HOSTILE),
        result_event(
            [{"tool_name": "Bash", "tool_use_id": "c1", "tool_input": {"command": HOSTILE}}],
            modelUsage={HOSTILE_MODEL: {"inputTokens": 1, "costUSD": 0.5}},
            result="Done.\n" + HOSTILE + "\n<!-- swallow the rest\n\n[x]: https://evil.example\n\n```\nopen",
        ),
    )
    progress = RunProgress(result=events[-1].event, links=[("`a`<details>`", "https://h.example/x (y) <z>")])
    page = "\n\n".join(
        [
            job_summary(None, progress, Redactor([])),
            run_report(ReportInput(events=events, phases=PHASES, ended=T0 + 9)),
        ]
    )
    tokens = MD.parse(page)
    # Nothing escaped its place: every heading is there, at the top level, in order ...
    assert headings(tokens) == [
        "Claude ✅ finished",
        "Run report",
        "Tool calls: 2 (1 failed, 1 denied)",
        "Denied: 1",
        "Tokens and cost per model",
        "Time per phase",
        "Timeline",
    ]
    # ... no raw HTML reaches the page, the answer's open fence ends with its quote ...
    assert not [t for t in tokens if t.type.startswith("html")]
    assert not [c for t in tokens for c in t.children or [] if c.type.startswith("html")]
    assert [(t.info, t.level) for t in fences(tokens)] == [("", 1), ("mermaid", 0)]  # the answer's, quoted
    # ... the answer is one quote, and the hostile input is inline code in its list item.
    quote_opens = [t for t in tokens if t.type == "blockquote_open"]
    assert len(quote_opens) == 1 and quote_opens[0].level == 0
    code = [c.content for t in tokens for c in t.children or [] if c.type == "code_inline"]
    assert short_input("Bash", {"command": HOSTILE}) in code  # twice: the call, the denial
    assert "section Evil 9 click m1 call alert()" in code
    links = [c.attrGet("href") for t in tokens for c in t.children or [] if c.type == "link_open"]
    assert links == ["https://h.example/x%20%28y%29%20%3Cz%3E"]
    # The diagram has exactly the tasks the runner drew.
    (parsed,) = mermaid_parse([diagram(page)])
    assert parsed["ok"], parsed
    assert parsed["sections"] == ["Phases", "Model calls", "Tool calls"]
    ids = [t["id"] for t in parsed["tasks"]]
    assert ids == ["p1", "p2", "p3", "p4", "m1", "m2", "t1"]
    assert [t["crit"] for t in parsed["tasks"]] == [False] * 6 + [True]


def test_a_confidential_run_names_its_tools_but_not_their_inputs():
    report = run_report(ReportInput(events=normal_run(), phases=PHASES, ended=T0 + 14, quiet=True))
    assert "npm test" not in report and "git push" not in report and "`a`" not in report
    assert "turn 1: `Bash` → ok" in report


def test_a_run_that_stopped_early_reports_what_it_got():
    events = recorded(
        {"type": "system", "subtype": "init"},
        assistant("claude-sonnet-4-5", ("c1", "Bash", {"command": "sleep 999"})),
    )
    report = run_report(ReportInput(events=events, phases=PHASES, ended=T0 + 30))
    rows = table_rows(MD.parse(report), "Tokens and cost per model")
    assert rows[1] == ["claude-sonnet-4-5", "1", "105", "20", "–", "–", "–"]
    assert "turn 1: `Bash` `sleep 999` → no result" in report
    assert f"t1, {int(T0 * 1000) + 3500}, {int(T0 * 1000) + 30000}" in diagram(report)


def test_nothing_recorded_gives_no_report():
    assert run_report(ReportInput()) == ""


def test_a_long_run_is_bounded():
    turns: list[dict[str, Any]] = [{"type": "system", "subtype": "init"}]
    for n in range(400):
        turns += [
            assistant("claude-sonnet-4-5", (f"c{n}", "Bash", {"command": f"echo {'é' * 500} {n}"})),
            results((f"c{n}", False)),
        ]
    report = run_report(ReportInput(events=recorded(*turns, step=0.01), phases=PHASES, ended=T0 + 20))
    assert f"… and {400 - MAX_TOOL_LINES} more" in report
    assert "The diagram leaves out the last" in report
    assert len(report.encode()) < 120_000
    text = diagram(report)
    assert len(text) < 50_000  # Mermaid's default maxTextSize
    (parsed,) = mermaid_parse([text])
    assert parsed["ok"] and len(parsed["tasks"]) == len(PHASES) + MAX_TASKS


def test_bounded_cuts_at_a_line_under_the_limit_in_bytes():
    page = "\n".join(["é" * 100] * 20_000)  # 4 MB of UTF-8
    cut = bounded(page, 1_000_000)
    assert len(cut.encode()) <= 1_000_000
    assert cut.endswith("over the step summary's size limit._")
    assert cut.split("\n\n_…")[0].split("\n")[-1] == "é" * 100  # whole lines only
    assert bounded("short", 1_000_000) == "short"


def test_markdown_helpers_keep_text_in_place():
    assert code_span("a `b` ``c``") == "``` a `b` ``c`` ```"
    assert code_span("  two\nlines  ") == "`two lines`"
    assert link("`feat/x`", "https://h/tree/feat/x") == "[`feat/x`](https://h/tree/feat/x)"
    assert link("PR [1]", "https://h/pull/1") == "[PR \\[1\\]](https://h/pull/1)"
    kept = without_html("use `<div>` or\n\n```html\n<div>\n```\n\n<div hidden>\n\n\\`<b>` x")
    assert kept == "use `<div>` or\n\n```html\n<div>\n```\n\n&lt;div hidden>\n\n\\`&lt;b>` x"
    assert quoted("a\n\n```\nb") == "> a\n>\n> ```\n> b"


def test_the_whole_page_stays_under_the_step_summary_limit(tmp_path):
    # A 4-byte character answer at the cap, 400 calls with long inputs, and a transcript of 8 MB.
    answer = "𝔸" * 100_000
    lines = [{"type": "assistant", "message": {"content": [{"type": "text", "text": "𝔹" * 20_000}]}}] * 400
    (tmp_path / "execution.jsonl").write_text("\n".join(json.dumps(line) for line in lines))
    turns: list[dict[str, Any]] = []
    for n in range(400):
        turns += [assistant(SONNET, (f"c{n}", "Bash", {"command": "𝔸" * 2000})), results((f"c{n}", False))]
    progress = RunProgress(result={"result": answer, "num_turns": 400})
    progress.timeline.events.extend(recorded(*turns, result_event()))
    record = RunRecord(None, RunState("github", "https://h/r", "1", None, "alice"), lambda line: None)
    job = Job(workspace=tmp_path, temp_dir=tmp_path, repo_url="https://h/r")
    redactor = Redactor([])
    summary = job_summary(None, progress, redactor)
    page = report_page(summary, FlowSettings(display_report=True), job, progress, record, redactor)
    assert MAX_SUMMARY_BYTES - 50_000 < len(page.encode()) <= MAX_SUMMARY_BYTES
    shown = headings(MD.parse(page))
    assert shown[:3] == [
        "Claude ✅ finished",
        "Run report",
        "Tool calls: 400 (0 failed, 0 denied)",
    ]
    assert "Every turn" in shown and page.endswith("(execution.jsonl)._")
    assert "more characters: the whole answer is in the comment" in page
