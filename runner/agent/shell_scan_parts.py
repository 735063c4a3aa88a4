"""The pieces of ``shell_scan``: what it finds, and how it reads quotes and expansions.

``Expansions`` reads ``"..."``, backticks, ``$...`` in all its forms (``$(...)``, ``$((...))``,
``${...}``, ``$'...'``) and brace expansion, for the scanner in ``shell_scan.py``: text inside a
substitution is scanned as commands; a word that holds an expansion is marked computed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ANSI = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "v": "\v",
}


class ScanError(Exception):
    """The command is not text bash would run (unbalanced quotes, a stray bracket, too deep)."""


@dataclass
class Word:
    """One word: its literal text (expansions left out) and whether any of it is computed."""

    text: str = ""
    computed: bool = False  # $x, ${x}, $(...), `...`, <(...), brace expansion, a glob
    raw: str = ""  # as written, for messages
    started: bool = False
    start: int = -1  # where it starts in the scanned text


@dataclass
class Segment:
    """One simple command: its words and where its standard input comes from."""

    words: list[Word] = field(default_factory=list)
    stdin: str = ""  # "", "pipe", "here-string", "here-document", "file"
    stdin_path: Word | None = None  # the file of `< file`


@dataclass
class Scan:
    """Every simple command found, and notes that make a command unknowable by themselves."""

    segments: list[Segment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "it uses ${!x}, an indirect expansion"
    stored: list[str] = field(default_factory=list)  # quoted text like a[$(cmd)], run by arithmetic


class _Runner(Protocol):
    def run(self) -> int: ...


class Expansions:
    """Quotes and expansions; the scanner provides the text, the current word and ``spawn``."""

    s: str
    i: int
    word: Word
    out: Scan

    def add(self, text: str, *, computed: bool = False) -> None:
        raise NotImplementedError

    def spawn(self, src: str, start: int, *, stop: str = "", record: bool = True) -> _Runner:
        """A scanner for a substitution's text, one level deeper, writing to the same ``Scan``."""
        raise NotImplementedError

    def double_quoted(self, i: int) -> int:
        s = self.s
        self.word.started = True
        while i < len(s):
            c = s[i]
            if c == '"':
                return i + 1
            if c == "\\" and i + 1 < len(s) and s[i + 1] in '$`"\\\n':
                if s[i + 1] != "\n":
                    self.add(s[i + 1])
                i += 2
            elif c == "`":
                i = self.backtick(i + 1)
            elif c == "$":
                i = self.dollar(i, quoted=True)
            else:
                self.add(c)
                i += 1
        raise ScanError("it has an unbalanced double quote")

    def backtick(self, i: int) -> int:
        s, body, start = self.s, [], i
        while i < len(s) and s[i] != "`":
            if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in "`\\$":
                body.append(s[i + 1])
                i += 2
                continue
            body.append(s[i])
            i += 1
        if i >= len(s):
            raise ScanError("it has an unbalanced backtick")
        self.sub("".join(body))
        self.add("", computed=True)
        self.word.raw = s[start - 1 : i + 1]
        return i + 1

    def sub(self, text: str) -> None:
        self.spawn(text, 0).run()

    def dollar(self, i: int, *, quoted: bool = False) -> int:
        s = self.s
        nxt = s[i + 1 : i + 2]
        if s.startswith("$((", i):
            return self.arithmetic(i + 3, expansion=True)
        if nxt == "(":
            end = self.spawn(s, i + 2, stop=")").run()
            self.add("", computed=True)
            self.word.raw = s[i : end + 1]
            return end + 1
        if nxt == "[":
            end = s.find("]", i)
            self.arith_text(s[i + 2 : end if end > 0 else len(s)])
            self.add("", computed=True)
            return (end if end > 0 else len(s)) + 1
        if nxt == "{":
            end = self.param_end(i + 1)
            if end < 0:
                raise ScanError("it has an unbalanced ${")
            inner = s[i + 2 : end]
            if inner.startswith("!") and len(inner) > 1:
                self.out.notes.append(f"it uses `${{{inner}}}`, an indirect expansion")
            if "@P" in inner or "@E" in inner:
                self.out.notes.append(f"it uses `${{{inner}}}`, which expands text held in a variable")
            self.spawn(inner, 0, record=False).run()
            self.add("", computed=True)
            self.word.raw = s[i : end + 1]
            return end + 1
        if nxt == "'" and not quoted:
            end = i + 2
            while end < len(s) and s[end] != "'":
                end += 2 if s[end] == "\\" else 1
            if end >= len(s):
                raise ScanError("it has an unbalanced $'")
            self.add(ansi_c(s[i + 2 : end]))
            return end + 1
        if nxt == '"' and not quoted:
            return self.double_quoted(i + 2)
        m = _NAME.match(s, i + 1)
        if m is None and nxt and nxt in "0123456789@*#?$!-":
            self.add("", computed=True)
            self.word.raw = s[i : i + 2]
            return i + 2
        if m is None:
            self.add("$")
            return i + 1
        self.add("", computed=True)
        self.word.raw = s[i : m.end()]
        return m.end()

    def arithmetic(self, i: int, *, expansion: bool = False) -> int:
        """``$((...))`` or ``((...))``: only substitutions inside are commands; returns after ``))``."""
        s, depth, start = self.s, 0, i
        while i < len(s):
            if s[i] == "(":
                depth += 1
            elif s[i] == ")":
                if depth == 0 and s.startswith("))", i):
                    self.arith_text(s[start:i])
                    if expansion:
                        self.add("", computed=True)
                    else:
                        self.add("((...))")
                    return i + 2
                depth -= 1
            i += 1
        raise ScanError("it has an unbalanced ((")

    def arith_text(self, text: str) -> None:
        if re.search(r"\[[^\]]*[$`]", text):
            self.out.notes.append("an array subscript in arithmetic expands text that may run commands")
        self.spawn(text, 0, record=False).run()

    def param_end(self, i: int) -> int:
        """The index of the ``}`` that closes the ``${`` whose ``{`` is at ``i``, or -1."""
        s, depth = self.s, 0
        while i < len(s):
            c = s[i]
            if c == "\\":
                i += 2
                continue
            if c in "'\"" and depth:
                close = s.find(c, i + 1)
                i = len(s) if close < 0 else close + 1
                continue
            depth += (c == "{") - (c == "}")
            if depth == 0:
                return i
            i += 1
        return -1

    def brace(self) -> None:
        """``{a,b}`` or ``{1..3}`` make several words (computed); ``{``, ``{}`` and ``{x}`` are literal."""
        s, i, depth = self.s, self.i, 0
        while i < len(s) and s[i] not in " \t\n;|&<>()'\"":
            depth += (s[i] == "{") - (s[i] == "}")
            if depth == 0:
                break
            i += 1
        inner = s[self.i + 1 : i]
        if i < len(s) and s[i] == "}" and ("," in inner or ".." in inner):
            self.add("", computed=True)
            self.word.raw = s[self.i : i + 1]
            self.i = i + 1
        else:
            self.add("{")
            self.i += 1


def ansi_c(text: str) -> str:
    """Decode the body of ``$'...'``: ``\\x72`` is ``r``, ``\\162`` is ``r``, ``\\u0072`` is ``r``."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c != "\\" or i + 1 >= len(text):
            out.append(c)
            i += 1
            continue
        n = text[i + 1]
        if n in _ANSI:
            out.append(_ANSI[n])
            i += 2
        elif n in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[n]
            m = re.match(rf"[0-9A-Fa-f]{{1,{size}}}", text[i + 2 :])
            out.append(chr(int(m.group(), 16)) if m else "\\" + n)
            i += 2 + (len(m.group()) if m else 0)
        elif n in "01234567":
            m = re.match(r"[0-7]{1,3}", text[i + 1 :])
            assert m is not None
            out.append(chr(int(m.group(), 8) & 0xFF))
            i += 1 + len(m.group())
        elif n == "c" and i + 2 < len(text):
            out.append(chr(ord(text[i + 2]) & 0x1F))
            i += 3
        else:
            out.append(n)
            i += 2
    return "".join(out)
