#!/usr/bin/env python3
"""Write the inputs table of docs/github-action.md from action.yml (``--check``: only compare).

Status: inputs under action.yml's "claude-runner's own inputs" comments are ``ours``; a
description saying "not implemented" is ``accepted, not implemented yet``; the rest ``implemented``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION, DOC = ROOT / "action.yml", ROOT / "docs" / "github-action.md"
START = "<!-- inputs table: generated from action.yml by scripts/gen_action_docs.py; do not edit -->"
END = "<!-- end of the generated inputs table -->"


def inputs_table(action_text: str) -> str:
    """The markdown table of every input, in action.yml's order."""
    inputs = yaml.safe_load(action_text)["inputs"]
    ours, section_is_ours = set(), False
    for line in action_text.splitlines():
        if line.startswith("  # ---"):
            section_is_ours = "claude-runner's own" in line
        match = re.match(r"^  ([a-z_0-9]+):\s*$", line)
        if match and section_is_ours:
            ours.add(match.group(1))
    rows = ["| input | default | meaning | status |", "| --- | --- | --- | --- |"]
    for name, spec in inputs.items():
        default = str(spec.get("default", "") or "")
        description = " ".join(str(spec.get("description", "")).split()).replace("|", "\\|")
        if name in ours:
            status = "ours"
        elif "not implemented" in description:
            status = "accepted, not implemented yet"
        else:
            status = "implemented"
        rows.append(f"| `{name}` | {f'`{default}`' if default else ''} | {description} | {status} |")
    return "\n".join(rows)


def render(doc_text: str, action_text: str) -> str:
    """``doc_text`` with the table between the markers replaced."""
    before, rest = doc_text.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{inputs_table(action_text)}\n{END}{after}"


def main(argv: list[str]) -> int:
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current, ACTION.read_text(encoding="utf-8"))
    if "--check" in argv:
        if current != wanted:
            print(f"{DOC} is out of date: run python3 scripts/gen_action_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
