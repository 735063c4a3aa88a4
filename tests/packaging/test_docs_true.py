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


def test_the_github_action_doc_says_reviews_post_inline_comments() -> None:
    doc = (ROOT / "docs" / "github-action.md").read_text(encoding="utf-8")
    assert "come later" not in doc
    for name in ("review", "review_drafts", "review_request_changes"):
        assert f"| `{name}` | `false` |" in doc
