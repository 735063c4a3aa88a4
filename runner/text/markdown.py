"""A comment as CommonMark reads it (markdown-it-py, with GitHub's tables and strikethrough).

``parse`` gives the token stream, numbers every piece a reader could see with a marker, lays the
comment out as the HTML a renderer would produce (``page``: markdown text as markers, raw HTML as
written) for ``html.seen`` to judge, and cuts what follows a literal ``<!--`` in text.

What the parser settles on its own: code spans, fenced and indented code blocks (their content is
code, never HTML); link reference definitions (``[//]: # (note)`` renders nothing, so it yields no
token at all); image alt text and link titles (attributes, never text). What needs the HTML parser:
raw HTML blocks and inline HTML, whose effect reaches markdown around them (``<div hidden>`` hides
the paragraphs up to its ``</div>``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from runner.text.html import mark
from runner.text.invisible import reserve_markers

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_inline import StateInline
    from markdown_it.token import Token

# Leaves a reader may see, each numbered by a marker.
_INLINE_LEAVES = frozenset(
    {"text", "text_special", "code_inline", "softbreak", "hardbreak", "image", "html_inline"}
)
_BLOCK_LEAVES = frozenset({"fence", "code_block", "html_block", "hr"})


@dataclass
class Document:
    """A parsed comment: its lines, its tokens (leaves carry ``meta["mark"]``) and its HTML layout."""

    lines: list[str]
    tokens: list[Token]
    page: str = ""  # the HTML layout, only when the comment has raw HTML
    text: dict[int, str] = field(default_factory=dict)  # text leaves: what is left after ``<!--`` cuts
    masked: set[int] = field(default_factory=set)  # leaves after a literal ``<!--`` (and before ``-->``)


@cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    # Entities and backslash escapes stay separate ``text_special`` tokens: ``&lt;!--`` is text a
    # reader sees, where a literal ``<!--`` opens what reads as a comment.
    md.core.ruler.disable("text_join")
    md.inline.ruler.at("backticks", _code_span_with_source)
    return md


def _code_span_with_source(state: StateInline, silent: bool) -> bool:
    """markdown-it's code span rule, keeping each span's source so code reaches the model unchanged."""
    from markdown_it.rules_inline.backticks import backtick

    start, count = state.pos, len(state.tokens)
    if not backtick(state, silent):
        return False
    if not silent:
        for token in state.tokens[count:]:
            if token.type == "code_inline":
                token.meta["source"] = state.src[start : state.pos]
    return True


def safe_link(url: str) -> bool:
    """markdown-it's check of a URL: no ``javascript:``, ``vbscript:``, ``file:``, non-image ``data:``."""
    return bool(_parser().validateLink(url))


def parse(text: str) -> Document:
    """Parse ``text``; lay out the HTML page if it has raw HTML; cut literal comment starts."""
    # CommonMark's own normalisation, done here so token line numbers index ``lines``.
    source = reserve_markers(text).replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    tokens = _parser().parse(source)
    doc = Document(lines=source.split("\n"), tokens=tokens)
    leaves = list(_leaves(tokens))
    marks = 0
    raw = False
    for token in leaves:
        token.meta["mark"] = marks
        marks += 1
        raw = raw or token.type in ("html_block", "html_inline")
    if raw:
        doc.page = _page(tokens, marks)
    _cut_literal_comments(doc, leaves)
    return doc


def _leaves(tokens: list[Token]) -> list[Token]:
    """Every leaf a reader could see, in document order (image alt text is not one)."""
    found: list[Token] = []
    for token in tokens:
        if token.type == "inline":
            found.extend(child for child in token.children or () if child.type in _INLINE_LEAVES)
        elif token.type in _BLOCK_LEAVES:
            found.append(token)
    return found


def _page(tokens: list[Token], first_segment: int) -> str:
    """The HTML a renderer makes of ``tokens``, markdown text replaced by markers.

    Raw HTML is cut before every ``<`` and after every ``>``, each segment behind a marker of its
    own (numbered from ``first_segment``; ``meta["segments"]``), so what the HTML parser shows of
    it can be told apart piece by piece. A marker there sits where text or a tag begins, never
    inside a name or a delimiter, so it changes no parse.
    """
    out: list[str] = []
    segment = first_segment
    for token in tokens:
        items = token.children or () if token.type == "inline" else (token,)
        for item in items:
            if item.type in ("html_block", "html_inline"):
                pieces, ids = _segments(item.content, segment)
                segment += len(ids)
                item.meta["segments"] = ids
                out.append(mark(item.meta["mark"]) + pieces)
            elif "mark" in item.meta:
                out.append(_leaf_html(item))
            elif item.nesting and not (item.type.startswith("paragraph") and item.hidden):
                tag = "div" if item.tag == "blockquote" else item.tag  # quotes are judged on markdown
                out.append(f"<{tag}>" if item.nesting == 1 else f"</{tag}>")
    return "".join(out)


def _leaf_html(token: Token) -> str:
    marker = mark(token.meta["mark"])
    if token.type in ("fence", "code_block"):
        return f"<pre><code>{marker}</code></pre>"
    if token.type == "code_inline":
        return f"<code>{marker}</code>"
    if token.type == "hardbreak":
        return f"<br>{marker}\n"
    if token.type == "hr":
        return f"<hr>{marker}"
    return marker + ("\n" if token.type == "softbreak" else "")


def _segments(raw: str, first: int) -> tuple[str, list[int]]:
    out: list[str] = []
    ids: list[int] = []
    start = 0
    for i, char in enumerate(raw):
        cut = i if char == "<" else i + 1 if char == ">" else -1
        if cut > start:
            ids.append(first + len(ids))
            out.append(mark(ids[-1]) + raw[start:cut])
            start = cut
    if start < len(raw) or not ids:
        ids.append(first + len(ids))
        out.append(mark(ids[-1]) + raw[start:])
    return "".join(out), ids


def _cut_literal_comments(doc: Document, leaves: list[Token]) -> None:
    """Hide what follows ``<!--`` in text, up to a ``-->`` in text or the end.

    CommonMark shows an unclosed ``<!--`` (or one that a blank line interrupts) as text, but a
    model reading the markdown, and many renderers, take it as a comment: treat it as one.
    Entities and escapes (``&lt;!--``, ``\\<!--``) are what a reader sees, and do not count.
    """
    inside = False
    for token in leaves:
        n = token.meta["mark"]
        if token.type != "text":
            if inside:
                doc.masked.add(n)
            continue
        content, kept, pos = token.content, [], 0
        while pos <= len(content):
            if inside:
                end = content.find("-->", pos)
                if end < 0:
                    break
                inside, pos = False, end + 3
            else:
                start = content.find("<!--", pos)
                if start < 0:
                    kept.append(content[pos:])
                    break
                kept.append(content[pos:start])
                inside, pos = True, start + 4
        doc.text[n] = "".join(kept)
