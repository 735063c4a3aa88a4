"""Pure tests of runner/review/findings.py: the report_finding tool and validation against the diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.agent.tools.base import ToolContext, ToolError
from runner.flow.suggestions import visible_lines
from runner.platforms.base import ChangedFile
from runner.review.findings import Finding, ReportFindingTool, validate_finding, validate_findings

# Two hunks of calc.py: new lines 8-12 (10 added, old 10 removed) and new lines 40-42 (41 added).
PATCH = (
    "@@ -8,4 +8,5 @@\n line 8\n line 9\n-old 10\n+new 10\n+new 10b\n line 11\n"
    "@@ -38,2 +40,3 @@\n line 40\n+new 41\n line 42\n"
)
FILES = [
    ChangedFile("src/calc.py", "modified", 3, 1, PATCH),
    ChangedFile("src/new.py", "added", 2, 0, "@@ -0,0 +1,2 @@\n+a\n+b\n"),
    ChangedFile("img.png", "modified", 0, 0, None),
    ChangedFile("src/moved.py", "renamed", 1, 1, "@@ -1 +1 @@\n-x\n+y\n", previous_path="src/old.py"),
]
CTX = ToolContext(cwd=Path("."))


def finding(**kw: object) -> Finding:
    args: dict[str, object] = {
        "path": "src/calc.py",
        "line": 10,
        "title": "Off by one",
        "body": "Fails at 0.",
    }
    args.update(kw)
    return Finding(**args)  # type: ignore[arg-type]


def call(tool: ReportFindingTool, **kw: object) -> str:
    args: dict[str, object] = {
        "path": "src/calc.py",
        "line": 10,
        "severity": "important",
        "title": "Off by one",
        "body": "Fails when n is 0.",
    }
    args.update(kw)
    result = tool.run({k: v for k, v in args.items() if v is not None}, CTX)
    assert not result.is_error
    return str(result.content)


def test_visible_lines_left_side_maps_old_lines():
    shown = visible_lines(PATCH, "LEFT")
    assert shown[10] == ("old 10", None) and shown[9] == ("line 9", 9) and shown[11] == ("line 11", 12)
    assert 12 not in shown and shown[38] == ("line 40", 40)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"line": None}, "line"),
        ({"line": 0}, "at least 1"),
        ({"end_line": 9}, "end_line must be at least line"),
        ({"side": "MIDDLE"}, "side must be RIGHT"),
        ({"severity": "critical"}, "severity must be one of"),
        ({"title": ""}, "title"),
        ({"title": "x" * 300}, "title"),
        ({"body": "  "}, "body"),
        ({"suggestion": 3}, "suggestion must be a string"),
        ({"side": "LEFT", "suggestion": "x"}, "use side RIGHT"),
        ({"category": "bug"}, "unknown parameter"),
        ({"path": None}, "path"),
    ],
)
def test_tool_rejects_bad_input_with_a_fixable_message(kw, message):
    tool = ReportFindingTool(FILES)
    with pytest.raises(ToolError, match=message):
        call(tool, **kw)
    assert tool.findings == []


def test_tool_records_and_normalises():
    tool = ReportFindingTool(FILES)
    assert tool.read_only and not tool.needs_permission and tool.name == "report_finding"
    assert set(tool.input_schema["properties"]) == {
        "path", "line", "end_line", "side", "severity", "title", "body", "suggestion"
    }  # fmt: skip
    assert call(tool) == "Recorded finding 1."
    assert call(tool, title="Second", severity="pre-existing", side="left", line=10) == "Recorded finding 2."
    assert [f.severity for f in tool.findings] == ["important", "pre_existing"]
    assert tool.findings[1].side == "LEFT"


def test_tool_records_an_unanchored_finding_but_says_so_and_lets_the_model_fix_it():
    tool = ReportFindingTool(FILES)
    out = call(tool, path="calc.py")
    assert "calc.py is not in the diff" in out and "src/calc.py" in out
    out = call(tool, line=30)
    assert out.startswith("Recorded finding 2, but") and "line 30 is not inside a hunk" in out
    assert call(tool, line=41) == "Replaced finding 2."
    assert [f.line for f in tool.findings] == [10, 41]
    with pytest.raises(ToolError, match="already has this title"):
        call(tool, line=42)


def test_tool_caps_the_number_of_findings():
    tool = ReportFindingTool(FILES, max_findings=1)
    call(tool)
    with pytest.raises(ToolError, match="stop here"):
        call(tool, title="Another")


def test_validation_file_not_in_diff_renamed_and_no_patch():
    assert validate_finding(finding(path="src/a.py"), FILES) == "src/a.py is not in the diff"
    assert "renamed to src/moved.py" in (validate_finding(finding(path="src/old.py", line=1), FILES) or "")
    assert "no diff" in (validate_finding(finding(path="img.png", line=1), FILES) or "")


def test_validation_lines_per_side():
    assert validate_finding(finding(line=10), FILES) is None  # added line, new side
    assert validate_finding(finding(line=12), FILES) is None  # context, new side
    assert validate_finding(finding(line=13), FILES) == (
        "line 13 is not inside a hunk on the RIGHT side of src/calc.py"
    )
    assert validate_finding(finding(line=10, side="LEFT"), FILES) is None  # the removed line
    assert validate_finding(finding(line=12, side="LEFT"), FILES) is not None  # old side ends at 11
    assert validate_finding(finding(path="src/new.py", line=1, side="LEFT"), FILES) is not None
    assert validate_finding(finding(line=0), FILES) == "line numbers start at 1"


def test_validation_multi_line_ranges():
    assert validate_finding(finding(line=8, end_line=12), FILES) is None
    assert validate_finding(finding(line=40, end_line=42), FILES) is None
    reason = validate_finding(finding(line=11, end_line=40), FILES)
    assert reason == "lines 11-40 are not inside a hunk on the RIGHT side of src/calc.py"


def test_validation_suggestions():
    same = finding(line=10, end_line=11, suggestion="new 10\nnew 10b\n")
    assert validate_finding(same, FILES) == "the suggestion is identical to the lines it replaces"
    assert validate_finding(finding(line=10, end_line=11, suggestion="fixed\n"), FILES) is None
    assert validate_finding(finding(line=10, suggestion=""), FILES) is None  # a deletion
    # The checkout is authoritative when given (as a function or a mapping).
    lines = [f"l{n}" for n in range(1, 50)]
    assert validate_finding(finding(line=10, suggestion="l10"), FILES, file_lines=lambda p: lines) is not None
    assert validate_finding(finding(line=10, suggestion="l10"), FILES, file_lines={"x": []}) is None
    assert validate_finding(finding(line=10, suggestion="x", side="LEFT"), FILES) is not None


def test_validate_findings_splits_and_collapses_duplicates():
    a = finding(line=10)
    again = finding(line=41, body="Said differently.")  # same file, side and title: same problem
    bad = finding(path="src/a.py", title="Elsewhere")
    nit = finding(line=40, title="Naming", severity="nit")
    valid, rejected = validate_findings([a, again, bad, nit], FILES)
    assert valid == [a, nit]
    assert rejected == [(bad, "src/a.py is not in the diff")]


def test_fingerprint_is_stable_under_line_shifts_and_title_punctuation():
    assert finding(line=10).fingerprint() == finding(line=99, body="other").fingerprint()
    assert finding(title="Off-by-one!").fingerprint() == finding(title="off by one").fingerprint()
    assert finding().fingerprint() != finding(side="LEFT").fingerprint()
    assert finding().fingerprint() != finding(path="src/new.py").fingerprint()
