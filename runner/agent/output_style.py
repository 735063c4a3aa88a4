"""The ``outputStyle`` setting: instructions that change how the agent writes, added to the system
prompt as Claude Code's output styles are. The built-in ``Explanatory`` and ``Learning`` styles,
and custom ones from ``output-styles/<name>.md`` (frontmatter ``name``, ``description``) in the
user's Claude config directory and, where the project is trusted, the project's ``.claude/``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

BUILTIN_STYLES = {
    "Explanatory": (
        "Output style: Explanatory. While completing the task, add short educational insights "
        "about the implementation choices you make and the codebase's patterns, marked as "
        '"Insight:". Keep them brief and relevant; they never replace the work itself.'
    ),
    "Learning": (
        "Output style: Learning. Complete the task, and explain the reasoning behind the key "
        "steps so a reader learns from them; point out, as TODO(human) notes in your answer, small "
        "meaningful pieces a person could implement themselves to practise."
    ),
}


def style_instructions(name: str | None, dirs: Sequence[Path]) -> tuple[str | None, str | None]:
    """``(instructions, warning)`` for the style ``name`` (None or ``default``: nothing)."""
    if name is None or name.strip().lower() == "default":
        return None, None
    for builtin, text in BUILTIN_STYLES.items():
        if builtin.lower() == name.strip().lower():
            return text, None
    for directory in dirs:
        folder = directory / "output-styles"
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.md")):
            meta, body = _frontmatter(path.read_text(encoding="utf-8", errors="replace"))
            if meta.get("name", path.stem).strip().lower() == name.strip().lower():
                return f"Output style: {name}.\n\n{body.strip()}", None
    known = ", ".join(["default", *BUILTIN_STYLES])
    return None, f"warning: outputStyle {name!r} was not found (built-in: {known}); the default style is used"


def _frontmatter(text: str) -> tuple[dict[str, str], str]:
    """``key: value`` lines between leading ``---`` fences, and the rest."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            meta = {}
            for line in lines[1:end]:
                key, sep, value = line.partition(":")
                if sep:
                    meta[key.strip()] = value.strip().strip("'\"")
            return meta, "\n".join(lines[end + 1 :])
    return {}, text
