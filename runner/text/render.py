"""The parsed comment written back out with only what a reader sees.

Two forms. ``markdown``: for the model, markdown it can read: links as ``[text](url)`` (no title),
images as ``![](url)`` (no alt text), emphasis and escapes as written, code byte for byte, raw
HTML as the text it shows. ``plain``: for the request after a mention: the same without markup
(emphasis markers, link targets and images go; code stays), with the stretches where a mention
counts (visible text outside code and quotes) bracketed by ``SPAN_OPEN`` / ``SPAN_CLOSE``.

The token stream is walked with explicit stacks, never recursion: a 64 KB comment can nest
emphasis thousands deep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runner.text.html import CODE, PRE, QUOTE, Event, Seen
from runner.text.invisible import strip_invisible
from runner.text.markdown import safe_link

if TYPE_CHECKING:
    from markdown_it.token import Token

    from runner.text.markdown import Document

SPAN_OPEN = "\ufdd2"
SPAN_CLOSE = "\ufdd3"
# A raw HTML link's start, and its end before and after the URL: its start and end tags can sit in
# different tokens, so the pair is resolved on the whole output (``_raw_links``).
_LINK_OPEN, _LINK_CLOSE, _LINK_END = "\ufdd4", "\ufdd5", "\ufdd6"
_ALIGN = {"text-align:left": ":---", "text-align:right": "---:", "text-align:center": ":---:"}


@dataclass
class _Frame:
    """An open container (quote, list, item, table part, paragraph) and what it holds so far."""

    token: Token | None
    parts: list[tuple[str, list[int] | None, str]] = field(default_factory=list)  # text, map, kind


class Renderer:
    """Writes a ``Document`` out as ``markdown`` or ``plain`` text (see the module doc)."""

    def __init__(self, doc: Document, seen: Seen | None, *, plain: bool) -> None:
        self.doc = doc
        self.seen = seen  # None: no raw HTML, every marker is seen
        self.plain = plain
        self.quote = 0  # depth of markdown block quotes around the current token

    def render(self) -> str:
        stack = [_Frame(None)]
        for token in self.doc.tokens:
            if token.nesting == 1:
                self.quote += token.type == "blockquote_open"
                stack.append(_Frame(token))
            elif token.nesting == -1 and len(stack) > 1:
                frame = stack.pop()
                self.quote -= frame.token is not None and frame.token.type == "blockquote_open"
                opener = frame.token
                kind = opener.type if opener else ""
                if opener is not None and kind == "th_open":  # a header cell keeps its column's alignment
                    kind += ":" + str(opener.attrGet("style") or "")
                stack[-1].parts.append((self._close(frame), opener.map if opener else None, kind))
            elif token.type == "inline":
                stack[-1].parts.append((self._inline(token), token.map, "inline"))
            elif token.nesting == 0:
                stack[-1].parts.append((self._block_leaf(token, len(stack) == 1), token.map, token.type))
        out = self._join(stack[0].parts)
        return _raw_links(out) if _LINK_OPEN in out or _LINK_CLOSE in out else out

    # --- what is seen ----------------------------------------------------------------------------

    def _shows(self, token: Token) -> bool:
        n = token.meta["mark"]
        return n not in self.doc.masked and (self.seen is None or n in self.seen.markers)

    def _flags(self, token: Token) -> int:
        return 0 if self.seen is None else self.seen.flags.get(token.meta["mark"], 0)

    def _counts(self, token: Token, line: int) -> bool:
        """Whether a mention in this text counts: not in code or a quote (a lazy line is not quoted)."""
        if self._flags(token) & (CODE | QUOTE):
            return False
        if not self.quote:
            return True
        # "> quoted\nmine": CommonMark continues the quote's paragraph on the second line, but its
        # author wrote it without ">"; it is theirs, not a quotation.
        return 0 <= line < len(self.doc.lines) and not self.doc.lines[line].lstrip().startswith(">")

    def _span(self, text: str, counts: bool) -> str:
        core = text.strip()
        if not (self.plain and counts and core):
            return text
        start = text.index(core[0])
        return f"{text[:start]}{SPAN_OPEN}{core}{SPAN_CLOSE}{text[start + len(core) :]}"

    # --- blocks ------------------------------------------------------------------------------------

    def _join(self, parts: list[tuple[str, list[int] | None, str]]) -> str:
        out: list[str] = []
        for text, lines, kind in parts:
            if not text:
                continue
            if out:
                blank_before = lines is not None and lines[0] > 0 and _blank(self.doc.lines[lines[0] - 1])
                out.append("\n\n" if blank_before or kind == "hr" else "\n")
            out.append(text)
        return "".join(out)

    def _close(self, frame: _Frame) -> str:
        token = frame.token
        kind = token.type if token else ""
        if kind in ("paragraph_open", "heading_open", "th_open", "td_open"):
            inner = "".join(text for text, _, _ in frame.parts).strip("\n")
            if not _visible(inner):
                return ""
            if kind == "heading_open" and token is not None:
                return "#" * int(token.tag[1:]) + " " + inner
            if kind in ("th_open", "td_open"):
                return inner.replace("\n", " ").replace("|", "\\|")
            return inner
        if kind == "blockquote_open":
            inner = self._join(frame.parts)
            return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n")) if inner else ""
        if kind == "list_item_open" and token is not None:
            inner = self._join(frame.parts)
            if not inner:
                return ""
            marker = token.info + token.markup + " "  # info: the number of an ordered item
            lines = inner.split("\n")
            return "\n".join([marker + lines[0], *(" " * len(marker) + ln if ln else "" for ln in lines[1:])])
        if kind == "tr_open":
            cells = [text for text, _, _ in frame.parts]
            row = "| " + " | ".join(cells) + " |"
            aligns = [k.partition(":")[2] for _, _, k in frame.parts if k.startswith("th_open")]
            return row + "\n|" + "|".join(_ALIGN.get(a, "---") for a in aligns) + "|" if aligns else row
        if kind == "table_open":
            table = "\n".join(text for text, _, _ in frame.parts if text)
            return table if any(c not in "|-: \n\\" for c in table) else ""
        if kind in ("thead_open", "tbody_open"):
            return "\n".join(text for text, _, _ in frame.parts if text)
        return self._join(frame.parts)

    def _block_leaf(self, token: Token, top: bool) -> str:
        if token.type == "html_block":
            return self._raw(token, block=True)
        if not self._shows(token):
            return ""
        if token.type == "hr":
            return token.markup[:1] * 3
        # A fence's info string is not shown, only used: keep its language, if it is one.
        opening = token.markup + _language(token.info)
        if top and token.map:  # the source lines: code exactly as written
            lines = self.doc.lines[token.map[0] : token.map[1]]
            if token.type == "fence":
                lines = [lines[0][: lines[0].index(token.markup)] + opening, *lines[1:]]
            return strip_invisible("\n".join(lines))
        content = strip_invisible(token.content)
        if token.type == "fence":
            return f"{opening}\n{content}{token.markup}"
        return "\n".join(f"    {line}" if line else "" for line in content.rstrip("\n").split("\n"))

    # --- inline ------------------------------------------------------------------------------------

    def _inline(self, token: Token) -> str:
        stack: list[list[str]] = [[]]
        openers: list[Token] = []
        line = token.map[0] if token.map else -1
        for child in token.children or ():
            if child.nesting == 1:
                openers.append(child)
                stack.append([])
            elif child.nesting == -1 and openers:
                inner = "".join(stack.pop())
                stack[-1].append(self._wrap(openers.pop(), inner))
            elif child.nesting == 0:
                stack[-1].append(self._inline_leaf(child, line))
                line += child.type in ("softbreak", "hardbreak")
        while len(stack) > 1:
            inner = "".join(stack.pop())
            stack[-1].append(inner)
        return "".join(stack[0])

    def _wrap(self, opener: Token, inner: str) -> str:
        if not _visible(inner):
            return ""
        if self.plain:
            return inner
        if opener.type == "link_open":
            if opener.markup == "autolink":
                return f"<{inner}>"
            return f"[{inner}]({_url(opener.attrGet('href'))})"
        if opener.type in ("em_open", "strong_open", "s_open"):
            return opener.markup + inner + opener.markup
        return inner

    def _inline_leaf(self, token: Token, line: int) -> str:
        if "mark" not in token.meta:
            return ""
        if token.type == "html_inline":
            return self._raw(token, block=False)
        if not self._shows(token):
            return ""
        if token.type in ("softbreak", "hardbreak"):
            return "\n"
        if token.type == "code_inline":
            source = token.meta.get("source") or f"{token.markup}{token.content}{token.markup}"
            return strip_invisible(source)
        if token.type == "image":
            return "" if self.plain else f"![]({_url(token.attrGet('src'))})"
        if token.type == "text":
            text = self.doc.text.get(token.meta["mark"], token.content)
        else:  # text_special: an entity (decoded) or a backslash escape (as written, in markdown)
            text = token.markup if token.info == "escape" and not self.plain else token.content
        return self._span(strip_invisible(text), self._counts(token, line))

    # --- raw HTML ------------------------------------------------------------------------------------

    def _raw(self, token: Token, *, block: bool) -> str:
        """What raw HTML shows: its text, line breaks where blocks start and end, links, images."""
        if self.seen is None or token.meta["mark"] in self.doc.masked:
            return ""
        out: list[str] = []
        for n in token.meta.get("segments", ()):
            if n in self.seen.markers:
                out.extend(self._event(event) for event in self.seen.events.get(n, ()))
        text = "".join(out)
        if block:
            text = "\n".join(line.strip() for line in text.split("\n") if line.strip())
        return text

    def _event(self, event: Event) -> str:
        if event.kind == "text":
            text = strip_invisible(event.value)
            text = text if event.flags & PRE else _collapse(text)
            return self._span(text, not event.flags & (CODE | QUOTE) and not self.quote)
        if event.kind == "break":
            return "\n"
        if self.plain:
            return ""
        if not safe_link(event.value):
            return ""  # javascript: and the like: no renderer keeps them
        if event.kind == "link":
            return _LINK_OPEN
        if event.kind == "endlink":
            return f"{_LINK_CLOSE}{_url(event.value)}{_LINK_END}"
        return f"![]({_url(event.value)})"


def split_spans(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``text`` without span brackets, and the merged [start, end) ranges they enclosed."""
    out: list[str] = []
    ranges: list[tuple[int, int]] = []
    length = start = 0
    pos = 0
    while pos < len(text):
        i = min((j for j in (text.find(SPAN_OPEN, pos), text.find(SPAN_CLOSE, pos)) if j >= 0), default=-1)
        if i < 0:
            out.append(text[pos:])
            break
        out.append(text[pos:i])
        length += i - pos
        if text[i] == SPAN_OPEN:
            start = length
        elif ranges and ranges[-1][1] >= start:
            ranges[-1] = (ranges[-1][0], length)
        else:
            ranges.append((start, length))
        pos = i + 1
    return "".join(out), ranges


def _raw_links(text: str) -> str:
    """Raw HTML links as ``[text](url)``; one that shows no text is dropped, URL and all (an empty
    ``<a href>`` renders nothing a reader could see or click)."""
    out: list[str] = []
    opened: list[int] = []  # where each open link's text starts in ``out``
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == _LINK_OPEN:
            opened.append(len(out))
            pos += 1
            continue
        if char != _LINK_CLOSE:
            out.append(char)
            pos += 1
            continue
        end = text.find(_LINK_END, pos)
        url, pos = text[pos + 1 : end if end >= 0 else len(text)], (end + 1 if end >= 0 else len(text))
        if not opened:
            continue
        start = opened.pop()
        inner = "".join(out[start:])
        del out[start:]
        if _visible(inner):
            out.append(f"[{inner}]({url})")
    return "".join(out)


def _visible(text: str) -> bool:
    return bool(text.replace(SPAN_OPEN, "").replace(SPAN_CLOSE, "").strip())


def _blank(line: str) -> bool:
    """A blank source line, container markers aside (``>`` of a quote)."""
    return not line.strip(" \t>")


def _collapse(text: str) -> str:
    """Runs of whitespace as one space, as HTML shows them."""
    words = text.split()
    if not words:
        return " " if text else ""
    return (" " if text[0].isspace() else "") + " ".join(words) + (" " if text[-1].isspace() else "")


def _url(value: object) -> str:
    """A URL without invisible characters, percent-encoded ones included (they would decode to tag
    characters or zero-width text)."""
    import mdurl

    return str(mdurl.encode(strip_invisible(mdurl.decode(str(value or "")))))


def _language(info: str) -> str:
    """The language a fence's info string names (``python``, ``diff``, ``suggestion``), or ``""``:
    the rest of the info string is never shown."""
    words = strip_invisible(info).split()
    word = words[0] if words else ""
    return word if len(word) <= 24 and all(c.isalnum() or c in "+-#._" for c in word) else ""
