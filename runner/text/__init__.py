"""Untrusted text as a reader of the rendered page sees it.

Comments, titles and bodies are markdown that GitHub and GitLab render to HTML; a model reads the
source. Whatever the page does not show (HTML comments, hidden elements, link reference
definitions, alt text, invisible characters) could carry instructions nobody reviewing the thread
saw. Parsers decide what is shown, never patterns: CommonMark by markdown-it-py
(``markdown.py``), HTML by lexbor, an HTML5 parser, through selectolax (``html.py``); the result is
written back out as markdown or plain text (``render.py``). Invisible characters go everywhere,
code included (``invisible.py``).

- ``visible_markdown``: what the model is shown of a comment, title or body.
- ``mention_view``: the plain text a mention is looked for in, and where one counts.
- ``strip_invisible``: for text that is not markdown (diffs, paths, branch names).

A comment that is plain prose (``prose.py``: no character markdown or HTML gives a meaning to) is
read without the parsers: the same view, without loading them for the common "@claude do this".

The parsers are imported on first use, not with this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.text.invisible import strip_invisible

if TYPE_CHECKING:
    from runner.text.html import Seen
    from runner.text.markdown import Document

__all__ = ["mention_view", "strip_invisible", "visible_markdown"]


def visible_markdown(text: str) -> str:
    """``text`` (markdown) with only what a reader of the rendered page sees, as markdown.

    Code spans and code blocks are kept byte for byte (less invisible characters); links keep
    their text and URL, images their URL; raw HTML becomes the text it shows.
    """
    from runner.text.render import Renderer

    doc, seen = _parse(text)
    return Renderer(doc, seen, plain=False).render()


def mention_view(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``text`` as plain visible text (no HTML tags, emphasis markers, link targets or images;
    code kept), and the sorted, disjoint [start, end) ranges of it where a mention counts:
    visible text outside code, code spans and quotes. Plain prose is read without the parsers
    (``prose.py``: the same answer)."""
    from runner.text.prose import prose_view

    simple = prose_view(text)
    return simple if simple is not None else parsed_mention_view(text)


def parsed_mention_view(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``mention_view`` by the parsers, whatever ``text`` is."""
    from runner.text.render import Renderer, split_spans

    doc, seen = _parse(text)
    return split_spans(Renderer(doc, seen, plain=True).render())


def _parse(text: str) -> tuple[Document, Seen | None]:
    from runner.text.html import seen
    from runner.text.markdown import parse

    doc = parse(text)
    return doc, seen(doc.page) if doc.page else None
