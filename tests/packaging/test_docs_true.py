"""Docs that stay true: the README's tables are checked against the code they describe."""

from __future__ import annotations

import re
from pathlib import Path

from runner.errors import EXIT_CODES

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def table_after(heading: str, text: str) -> list[list[str]]:
    """The rows of the first markdown table after ``heading`` (header and rule left out)."""
    section = text[text.index(heading) :]
    rows, started = [], False
    lines = section.splitlines()
    for line in lines if heading.startswith("|") else lines[1:]:
        if line.startswith("|"):
            started = True
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif started:
            break
    return rows[2:]


def test_the_exit_code_table_lists_every_code_and_its_meaning() -> None:
    rows = table_after("### Exit codes", README.read_text(encoding="utf-8"))
    documented = {int(code): meaning for code, meaning in rows}
    assert sorted(documented) == sorted(EXIT_CODES)
    for code, meaning in EXIT_CODES.items():
        assert documented[code].startswith(meaning), (code, documented[code], meaning)


def test_the_table_parser_reads_a_table() -> None:
    rows = table_after("## T", "## T\n\n| a | b |\n| --- | --- |\n| 1 | x |\n| 2 | y |\n\nafter\n| 3 | z |\n")
    assert rows == [["1", "x"], ["2", "y"]]
    assert re.fullmatch(r"\d+", rows[0][0])


def test_the_action_inputs_table_is_what_action_yml_generates() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_action_docs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    doc = (ROOT / "docs" / "github-action.md").read_text(encoding="utf-8")
    for name in ("review", "review_drafts", "review_request_changes"):
        assert f"| `{name}` | `false` |" in doc
    assert "come later" not in doc


def test_the_inputs_table_generator_marks_status_from_action_yml() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_action_docs", ROOT / "scripts" / "gen_action_docs.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    action = (
        "inputs:\n"
        '  a:\n    description: "Does a | b."\n    default: "x"\n'
        '  b:\n    description: "Accepted, not implemented yet."\n'
        "  # --- claude-runner's own inputs ---\n"
        '  c:\n    description: "Ours."\n'
    )
    assert gen.inputs_table(action).splitlines()[2:] == [
        "| `a` | `x` | Does a \\| b. | implemented |",
        "| `b` |  | Accepted, not implemented yet. | accepted, not implemented yet |",
        "| `c` |  | Ours. | ours |",
    ]
