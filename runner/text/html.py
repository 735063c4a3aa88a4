"""Which parts of a rendered comment a reader sees, decided by an HTML5 parser.

The markdown side (``markdown.py``) lays the comment out as HTML the way a renderer would, with
every piece of markdown text replaced by a marker (``mark``) and raw HTML kept as written, cut
into segments that each start with a marker. That page is parsed twice by lexbor (through
selectolax), a browser-grade HTML5 parser: tokenizer, tree construction, implied end tags and all.

1. As written: what a browser shows.
2. With every comment, processing instruction and CDATA section read the old way and removed:
   a comment runs to the first ``-->`` after its ``<!--`` (so ``<!-->``, ``<!--->`` and ``--!>``
   do not end it), ``<?`` to ``?>``, ``<![CDATA[`` to ``]]>``, each to the end of the text when
   unclosed. Older parsers and sanitisers read them this way.

A marker counts as seen only when both parses show it: outside comments, attribute values,
``<script>``, ``<style>`` and other raw-text elements, and outside any element that is hidden
(``hidden``, ``aria-hidden="true"``, a style that hides it, an element a browser never renders,
an unopened ``<dialog>``). An unclosed hidden element hides everything after it, as it does in
a browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

MARK_OPEN = "\ufdd0"
MARK_CLOSE = "\ufdd1"

# Context flags of a marker: inside code (a mention there does not count), a quote, preformatted text.
CODE, QUOTE, PRE = 1, 2, 4

# Elements whose content a browser does not render as text.
HIDDEN_TAGS = frozenset(
    {
        *("script", "style", "template", "head", "title", "noscript", "noembed", "noframes"),
        *("iframe", "textarea", "xmp", "plaintext", "object", "video", "audio", "canvas"),
        *("datalist", "frameset", "frame", "desc", "metadata", "param", "source", "track"),
        "svg",  # draws only its <text>, and renderers strip it: never worth the doubt
    }
)
_CONTEXT = {"code": CODE, "kbd": CODE, "samp": CODE, "tt": CODE, "pre": CODE | PRE}
_CONTEXT.update(blockquote=QUOTE, q=QUOTE)
# Elements that start a new line when rendered.
_BLOCKS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog", "div"),
        *("dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4"),
        *("h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary"),
        *("table", "tr", "ul"),
    }
)

EventKind = Literal["text", "break", "link", "endlink", "image"]


@dataclass(frozen=True)
class Event:
    """What raw HTML shows after a marker: text, a line break, a link's start or end, an image."""

    kind: EventKind
    value: str = ""  # the text, or the link's href / the image's src
    flags: int = 0  # CODE, QUOTE, PRE: where the text sits


@dataclass
class Seen:
    """The markers a reader sees, the raw HTML's visible output after each, and their context."""

    markers: set[int] = field(default_factory=set)
    events: dict[int, list[Event]] = field(default_factory=dict)
    flags: dict[int, int] = field(default_factory=dict)


def mark(n: int) -> str:
    """Marker number ``n``: two noncharacters around digits, inert in every HTML context."""
    return f"{MARK_OPEN}{n}{MARK_CLOSE}"


def seen(page: str) -> Seen:
    """The markers of ``page`` both parses show (see the module doc), with what follows them."""
    written = _walk(page)
    legacy = _walk(_without_legacy_comments(page))
    both = written.markers & legacy.markers
    return Seen(
        markers=both,
        events={n: written.events.get(n, []) for n in both},
        flags={n: written.flags.get(n, 0) | legacy.flags.get(n, 0) for n in both},
    )


_LEGACY = (("<!--", "-->"), ("<?", "?>"), ("<![CDATA[", "]]>"))


def _without_legacy_comments(page: str) -> str:
    """``page`` without comments, processing instructions and CDATA sections as old parsers end them."""
    kept: list[str] = []
    pos = 0
    # Where each opener next occurs (-1: nowhere), refreshed only once passed: linear in the page.
    following = [page.find(opener) for opener, _ in _LEGACY]
    while True:
        for i, (opener, _) in enumerate(_LEGACY):
            if 0 <= following[i] < pos:
                following[i] = page.find(opener, pos)
        found = [(at, *_LEGACY[i]) for i, at in enumerate(following) if at >= 0]
        if not found:
            kept.append(page[pos:])
            return "".join(kept)
        start, opener, closer = min(found)
        kept.append(page[pos:start])
        end = page.find(closer, start + len(opener))
        if end < 0:
            return "".join(kept)
        pos = end + len(closer)


def _walk(page: str) -> Seen:
    from selectolax.lexbor import LexborHTMLParser

    result = Seen()
    root = LexborHTMLParser(page).root
    if root is None:
        return result
    walker = _Walker(result)
    # Depth-first without recursion: an attacker can nest elements thousands deep.
    work: list[tuple[LexborNode, int, bool]] = [(root, 0, True)]
    while work:
        node, flags, entering = work.pop()
        if not entering:
            walker.leave(node)
            continue
        if node.is_text_node:
            walker.text(node.text_content or "", flags)
            continue
        if not node.is_element_node:
            continue  # comments, doctypes, processing instructions: never shown
        tag = node.tag or ""
        attributes = node.attributes
        if hides(tag, attributes):
            continue  # nothing inside is shown: not its text, not its markers
        flags |= _CONTEXT.get(tag, 0)
        walker.enter(tag, attributes, flags)
        work.append((node, flags, False))
        children = []
        child = node.child
        while child is not None:
            children.append(child)
            child = child.next
        work.extend((c, flags, True) for c in reversed(children))
    return result


class _Walker:
    """Collects markers and events in document order; events belong to the marker before them."""

    def __init__(self, result: Seen) -> None:
        self.result = result
        self.current = -1  # output before the first marker belongs to nothing

    def _add(self, event: Event) -> None:
        if self.current >= 0:
            self.result.events.setdefault(self.current, []).append(event)

    def text(self, data: str, flags: int) -> None:
        pos = 0
        while (start := data.find(MARK_OPEN, pos)) >= 0:
            end = data.find(MARK_CLOSE, start)
            if end < 0 or not data[start + 1 : end].isdigit():
                break
            if start > pos:
                self._add(Event("text", data[pos:start], flags))
            self.current = int(data[start + 1 : end])
            self.result.markers.add(self.current)
            self.result.flags[self.current] = flags
            pos = end + 1
        if pos < len(data):
            self._add(Event("text", data[pos:], flags))

    def enter(self, tag: str, attributes: dict[str, str | None], flags: int) -> None:
        if tag in _BLOCKS or tag == "br":
            self._add(Event("break"))
        elif tag in ("td", "th"):
            self._add(Event("text", " ", flags))
        elif tag == "a" and attributes.get("href"):
            self._add(Event("link", attributes.get("href") or ""))
        elif tag == "img" and attributes.get("src"):
            self._add(Event("image", attributes.get("src") or ""))

    def leave(self, node: LexborNode) -> None:
        tag = node.tag or ""
        if tag in _BLOCKS:
            self._add(Event("break"))
        elif tag == "a" and node.attributes.get("href"):
            self._add(Event("endlink", node.attributes.get("href") or ""))


def hides(tag: str, attributes: dict[str, str | None]) -> bool:
    """Whether an element with ``tag`` and ``attributes`` hides its content from a reader."""
    if tag in HIDDEN_TAGS or "hidden" in attributes:
        return True
    if tag == "dialog" and "open" not in attributes:
        return True
    if (attributes.get("aria-hidden") or "").strip().lower() == "true":
        return True
    return style_hides(attributes.get("style") or "")


def style_hides(style: str) -> bool:
    """Whether an inline ``style`` hides the element (conservatively: a CSS escape counts)."""
    declarations = {}
    for declaration in _without_css_comments(style).split(";"):
        name, colon, value = declaration.partition(":")
        if colon:
            value = value.lower().replace("!important", "").strip()
            declarations[name.strip().lower()] = value
    if "\\" in style:
        return True  # `display:\6e one`: no one writes escapes in a style but to slip past a check
    sizes = ("height", "max-height", "width", "max-width")
    zero_size = any(_too_small(declarations.get(size, "1px"), {}) for size in sizes)
    return (
        declarations.get("display", "").split()[:1] == ["none"]
        or declarations.get("visibility") in ("hidden", "collapse")
        or declarations.get("content-visibility") == "hidden"
        or _too_small(declarations.get("opacity", "1"), {"": 0.1, "%": 10})
        or _too_small(declarations.get("font-size", "1em"), _LEGIBLE)
        or declarations.get("color") == "transparent"
        or declarations.get("clip", "auto") != "auto"
        or declarations.get("clip-path", "none") != "none"
        or "scale(0" in declarations.get("transform", "").replace(" ", "")
        or declarations.get("text-indent", "").startswith("-")
        or (zero_size and declarations.get("overflow", "visible") in ("hidden", "clip"))
    )


def _without_css_comments(style: str) -> str:
    parts = []
    pos = 0
    while (start := style.find("/*", pos)) >= 0:
        parts.append(style[pos:start])
        end = style.find("*/", start + 2)
        if end < 0:
            return "".join(parts)
        pos = end + 2
    parts.append(style[pos:])
    return "".join(parts)


# The smallest font size, by unit, that a reader can still read.
_LEGIBLE = {"px": 4, "pt": 3, "pc": 0.25, "em": 0.3, "rem": 0.3, "ex": 0.6, "ch": 0.6, "%": 30}
_LEGIBLE.update({"vw": 0.3, "vh": 0.3, "vmin": 0.3, "vmax": 0.3, "mm": 1, "q": 4})


def _too_small(value: str, limits: dict[str, float]) -> bool:
    """Whether a CSS number or length is zero, negative, or below ``limits[unit]``; a function
    (``calc(0px)``, ``var(--x)``) counts as too small: its value is not known here."""
    value = value.strip()
    if "(" in value:
        return True
    number = value.rstrip("abcdefghijklmnopqrstuvwxyz%")
    try:
        amount = float(number)
    except ValueError:
        return False  # a keyword: small, x-small, inherit...
    return amount <= 0 or amount < limits.get(value[len(number) :], 0)
