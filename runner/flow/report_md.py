"""Untrusted text placed in markdown the runner writes (a step summary, a report file) so that it
stays where it was put: a code span or fence it cannot close, a quote it cannot leave.

A model's answer may hold an unclosed fence, raw HTML or an HTML comment; a tool input may hold
backticks or a pipe. CommonMark closes every block a container holds when the container ends, so
an answer quoted line by line cannot swallow what follows it; a code span or fence whose backtick
run is longer than any run inside cannot be closed from inside. Pure.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import quote

from markdown_it import MarkdownIt

_BACKTICKS = re.compile(r"`+")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")  # what can open raw HTML: a tag, a comment, <!DOCTYPE, <?


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _longest_run(text: str) -> int:
    return max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=0)


def code_span(text: str) -> str:
    """``text`` on one line, as inline code nothing in it can end early."""
    flat = " ".join(text.split())
    if not flat:
        return ""
    ticks = "`" * (_longest_run(flat) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def fenced(text: str, info: str = "") -> str:
    """``text`` as a fenced code block whose fence is longer than any backtick run inside."""
    fence = "`" * max(3, _longest_run(text) + 1)
    return f"{fence}{info}\n{text.rstrip(chr(10))}\n{fence}"


def clipped(text: str, limit: int, where: str) -> str:
    """``text`` cut to ``limit`` characters, saying how much more there is and ``where``."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n\n… ({len(text) - limit} more characters: {where})"


def _escape_outside_spans(text: str) -> str:
    """``<`` that could open raw HTML, escaped, except inside code spans (CommonMark's pairing:
    a backtick run not escaped by a backslash, closed by the next run of the same length)."""
    out: list[str] = []
    pos = 0
    search = 0
    while True:
        opener = _BACKTICKS.search(text, search)
        if opener is None:
            break
        start = opener.start()
        backslashes = len(text[:start]) - len(text[:start].rstrip("\\"))
        if backslashes % 2:  # an escaped backtick: the run starts one later
            start += 1
            if start == opener.end():
                search = opener.end()
                continue
        run = opener.end() - start
        closer = next((m for m in _BACKTICKS.finditer(text, opener.end()) if len(m.group()) == run), None)
        if closer is None:
            search = opener.end()
            continue
        out.append(_TAG_START.sub("&lt;", text[pos:start]) + text[start : closer.end()])
        pos = search = closer.end()
    out.append(_TAG_START.sub("&lt;", text[pos:]))
    return "".join(out)


def without_html(text: str) -> str:
    """``text`` with its raw HTML shown as text (``&lt;``), code left as it is: a ``</blockquote>``
    or an unclosed ``<details>`` in an answer would otherwise reach past the quote it is put in."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # the parser's lines, and only those
    lines = text.split("\n")
    code: set[int] = set()
    spans: dict[int, int] = {}  # first line of a paragraph, heading or cell row -> its end
    for token in _parser().parse(text):
        if token.map is None:
            continue
        start, end = token.map
        if token.type in ("fence", "code_block"):
            code.update(range(start, end))
        elif token.type == "inline":
            spans[start] = max(end, spans.get(start, end))
    out: list[str] = []
    line = 0
    while line < len(lines):
        if line in code:
            out.append(lines[line])
            line += 1
        elif line in spans:  # code spans may run over the lines of one paragraph
            end = max(spans[line], line + 1)
            out.append(_escape_outside_spans("\n".join(lines[line:end])))
            line = end
        else:
            out.append(_TAG_START.sub("&lt;", lines[line]))
            line += 1
    return "\n".join(out)


def quoted(text: str) -> str:
    """``text`` as a block quote, every line of it (blank ones too), so that an unclosed fence,
    HTML block or comment inside ends with the quote."""
    lines = text.strip("\n").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def link(label: str, url: str) -> str:
    """A markdown link to ``url`` (nothing in the label or the URL can end it early); a label in
    backticks (a branch name) stays code."""
    safe_url = quote(url, safe=":/?#@!$&'*+,;=%-._~")
    if len(label) > 2 and label.startswith("`") and label.endswith("`"):  # a branch name, as code
        return f"[{code_span(label[1:-1])}]({safe_url})"
    text = " ".join(label.replace("`", "").split())
    text = re.sub(r"([\\\[\]*_<>!&|~])", r"\\\1", text) or safe_url
    return f"[{text}]({safe_url})"


__all__ = ["clipped", "code_span", "fenced", "link", "quoted", "without_html"]
