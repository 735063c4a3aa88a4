"""The mention view of a comment that is plain prose, without the markdown and HTML parsers.

Most mentions are a line or two of words ("@claude explain this change"). When every character
is one CommonMark gives no meaning to and every line starts a paragraph line, the page shows the
source as written: each line stripped of its leading and trailing spaces, the paragraphs apart by
one blank line. Anything else (code, emphasis, links, HTML, entities, escapes, lists, headings,
quotes, tables, indented blocks, tabs, carriage returns, any non-ASCII character) goes to the
parsers (``runner.text.mention_view``). Tests check the two agree on the corpus and on generated
comments.
"""

from __future__ import annotations

# Characters without a meaning in CommonMark (with GitHub's tables and strikethrough) where they
# stand in a paragraph line that starts with a letter or "@" (so "-", "+", "=" and digits cannot
# start a list item or a heading underline).
_PROSE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n,.?!:;'\"()@/%$=+-")
_LINE_STARTS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ@")


def prose_view(text: str) -> tuple[str, list[tuple[int, int]]] | None:
    """``mention_view(text)`` for plain prose, or None when ``text`` needs the parsers."""
    if not _PROSE.issuperset(text):
        return None
    paragraphs: list[list[str]] = [[]]
    for line in text.split("\n"):
        content = line.strip(" ")
        if not content:
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        if len(line) - len(line.lstrip(" ")) > 3 or content[0] not in _LINE_STARTS:
            return None  # an indented code block, or a line markdown may read as syntax
        paragraphs[-1].append(content)
    plain: list[str] = []
    counted: list[tuple[int, int]] = []
    at = 0
    for lines in (p for p in paragraphs if p):
        if plain:
            plain.append("\n")  # the blank line between paragraphs (each line adds its own "\n")
            at += 1
        for content in lines:
            counted.append((at, at + len(content)))
            plain.append(content + "\n")
            at += len(content) + 1
    return "".join(plain)[:-1], counted
