"""A bash command read the whole way through, for deny rules: every simple command it may run.

``shell.split_command`` gives up on substitutions, here-documents and control flow, which is
right for allow rules. A deny rule needs the opposite: look inside ``$(...)``, backticks,
``<(...)``, ``${...}``, ``if``/``for``/``case`` bodies and here-documents, decode ``$'\\x72m'``,
and mark each word whose text is only known at run time (``$x``, ``$(...)``, brace expansion).
``scan_command`` returns the simple commands with those marks; ``deny_checks`` decides.
Pure; raises ``ScanError`` for text bash itself would not parse.
"""

from __future__ import annotations

import re

from runner.agent.shell_scan_parts import Expansions, Scan, ScanError, Segment, Word

__all__ = ["Scan", "ScanError", "Segment", "Word", "assignment_name", "scan_command"]

_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_LEADING = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "time", "{", "coproc"})
_CLOSING = frozenset({"fi", "done", "esac", "}"})
_MAX_DEPTH = 8
# Text like `a[$(cmd)]` held in a string runs cmd when arithmetic reads the variable (`let y=x`).
_SUBSCRIPT_CODE = re.compile(r"\[[^\]]*(\$\(|`|\$\{)")


def scan_command(command: str) -> Scan:
    """All simple commands of ``command``, substitutions and bodies included."""
    out = Scan()
    _Scanner(command, 0, out, depth=0).run()
    return out


class _Scanner(Expansions):
    def __init__(self, src: str, start: int, out: Scan, *, depth: int, stop: str = "", record: bool = True):
        if depth > _MAX_DEPTH:
            raise ScanError("it nests substitutions too deeply")
        self.s, self.i, self.out, self.depth, self.stop, self.record = src, start, out, depth, stop, record
        self.seg = Segment()
        self.word = Word()
        self.parens = 0
        self.heredocs: list[tuple[str, bool, bool]] = []  # (delimiter, quoted, strip tabs)
        self.next_stdin = ""
        self.skip_until_sep = False  # `for x in ...`, `case x in`
        self.pattern = False  # in a case pattern, before `)`
        self.dbracket = False  # inside [[ ... ]]

    def spawn(self, src: str, start: int, *, stop: str = "", record: bool = True) -> _Scanner:
        return _Scanner(src, start, self.out, depth=self.depth + 1, stop=stop, record=record)

    # --- words and segments ---------------------------------------------------------------

    def add(self, text: str, *, computed: bool = False) -> None:
        self.word.text += text
        self.word.computed = self.word.computed or computed
        self.word.started = True

    def end_word(self, upto: int) -> None:
        w = self.word
        if not w.started:
            return
        self.word = Word()
        if 0 <= w.start < upto:
            w.raw = self.s[w.start : upto].strip()
        if _SUBSCRIPT_CODE.search(w.text) and self.record:
            self.out.stored.append(w.text)
        first = not self.seg.words
        if first and not self.skip_until_sep and not self.dbracket and not w.computed:
            if w.text in _LEADING or w.text in _CLOSING or w.text == "function":
                if w.text == "function":
                    self.skip_until_sep = True
                return
            if w.text in ("for", "select", "case"):
                self.skip_until_sep = True
                self.pattern = w.text == "case"
                return
            if w.text == "[[":
                self.dbracket = True
        if self.dbracket and w.text == "]]" and not w.computed:
            self.dbracket = False
        self.seg.words.append(w)

    def end_segment(self) -> None:
        self.end_word(self.i)
        seg, self.seg = self.seg, Segment()
        if seg.words and self.record and not self.skip_until_sep and not self.pattern:
            if not seg.stdin and self.next_stdin:
                seg.stdin = self.next_stdin
            self.out.segments.append(seg)
        self.next_stdin = ""
        self.skip_until_sep = False

    # --- the main loop -------------------------------------------------------------------------

    def run(self) -> int:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if not self.word.started:
                self.word.start = self.i
            if self.stop and c == self.stop and self.parens == 0 and not self.dbracket:
                self.end_segment()
                return self.i
            if c in " \t":
                self.end_word(self.i)
                self.i += 1
            elif c == "\n":
                self.end_segment()
                self.i += 1
                self.read_heredocs()
            elif c == "#" and not self.word.started:
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            elif c == "\\":
                if self.i + 1 < len(s) and s[self.i + 1] != "\n":
                    self.add(s[self.i + 1])
                self.i += 2
            elif c == "'":
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise ScanError("it has an unbalanced single quote")
                self.add(s[self.i + 1 : end])
                self.i = end + 1
            elif c == '"':
                self.i = self.double_quoted(self.i + 1)
            elif c == "`":
                self.i = self.backtick(self.i + 1)
            elif c == "$":
                self.i = self.dollar(self.i)
            elif self.dbracket and c in "|&<>()":
                self.add(c)
                self.i += 1
            elif c in "|&;":
                self.operator()
            elif c in "<>":
                self.redirect()
            elif c == "(":
                self.open_paren()
            elif c == ")":
                self.end_segment()
                self.pattern = False
                if self.parens:
                    self.parens -= 1
                self.i += 1
            elif c == "{":
                self.brace()
            else:
                if not self.dbracket and (
                    c in "*?" or (c == "[" and "]" in re.split(r"[\s;|&<>()]", s[self.i :])[0])
                ):
                    self.word.computed = True  # a glob: the words it stands for are only known at run time
                self.add(c)
                self.i += 1
        if self.stop:
            raise ScanError(f"a `{self.stop}` is missing")
        self.end_segment()
        return self.i

    def operator(self) -> None:
        s, i = self.s, self.i
        op = next(
            o for o in (";;&", ";;", ";&", "&&", "||", "|&", "&>>", "&>", "|", "&", ";") if s.startswith(o, i)
        )
        if op.startswith("&>"):
            self.redirect()
            return
        self.end_segment()
        self.i = i + len(op)
        if op in ("|", "|&"):
            self.next_stdin = "pipe"
        if op in (";;", ";&", ";;&"):
            self.pattern = True

    def open_paren(self) -> None:
        s, i = self.s, self.i
        if self.word.started and self.word.text.endswith("=") and not self.seg.words:  # a=(1 2): an array
            end = self.spawn(s, i + 1, stop=")", record=False).run()
            self.add("(...)")
            self.i = end + 1
            return
        if s.startswith("((", i) and not self.word.started and not self.seg.words:  # ((arithmetic))
            self.i = self.arithmetic(i + 2)
            return
        self.end_segment()  # a subshell, or `name()` of a function
        self.parens += 1
        self.i = i + 1

    # --- quoting, expansions, substitutions ------------------------------------------------------

    def redirect(self) -> None:
        s, i = self.s, self.i
        word = self.word
        if word.started and word.text.isdigit() and not word.computed:
            self.word = Word()  # `2>`: the digits name the descriptor
        else:
            self.end_word(i)
        if s.startswith(("<(", ">("), i):
            end = self.spawn(s, i + 2, stop=")").run()
            self.add("", computed=True)
            self.word.raw = s[i : end + 1]
            self.i = end + 1
            return
        op = next(
            o
            for o in ("<<<", "<<-", "<<", "&>>", "&>", "<>", "<&", ">>", ">|", ">&", "<", ">")
            if s.startswith(o, i)
        )
        self.i = i + len(op)
        while self.i < len(s) and s[self.i] in " \t":
            self.i += 1
        target = self.spawn(s, self.i, record=False)
        end = target.read_one_word()
        if not target.word.started:
            raise ScanError("a redirection has no target")
        if op in ("<<", "<<-"):
            quoted = any(q in s[self.i : end] for q in "'\"\\")
            self.heredocs.append((target.word.text, quoted, op == "<<-"))
            self.seg.stdin = "here-document"
        elif op == "<<<":
            self.seg.stdin = "here-string"
            if _SUBSCRIPT_CODE.search(target.word.text):
                self.out.stored.append(target.word.text)
            self.spawn(s[self.i : end], 0, record=False).run()
        elif op == "<":
            self.seg.stdin, self.seg.stdin_path = "file", target.word
        self.i = end

    def read_one_word(self) -> int:
        """Read a single word from ``self.i`` (a redirection target); returns where it ends."""
        s = self.s
        while self.i < len(s) and s[self.i] not in " \t\n;|&<>()":
            before = self.i
            c = s[self.i]
            if c == "'":
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise ScanError("it has an unbalanced single quote")
                self.add(s[self.i + 1 : end])
                self.i = end + 1
            elif c == '"':
                self.i = self.double_quoted(self.i + 1)
            elif c == "\\":
                self.add(s[self.i + 1 : self.i + 2])
                self.i += 2
            elif c == "$":
                self.i = self.dollar(self.i)
            elif c == "`":
                self.i = self.backtick(self.i + 1)
            else:
                self.add(c)
                self.i += 1
            if self.i == before:
                self.i += 1
        return self.i

    def read_heredocs(self) -> None:
        s = self.s
        for delimiter, quoted, strip in self.heredocs:
            body: list[str] = []
            while self.i < len(s):
                end = s.find("\n", self.i)
                line = s[self.i : len(s) if end < 0 else end]
                self.i = len(s) if end < 0 else end + 1
                if (line.lstrip("\t") if strip else line) == delimiter:
                    break
                body.append(line)
            if not quoted:  # the body is expanded like a double-quoted string
                text = "\n".join(body).replace('"', "'")
                self.spawn(f'"{text}"', 0, record=False).run()
        self.heredocs = []


def assignment_name(word: Word) -> str | None:
    """The variable a leading ``NAME=value`` word sets, or None when the word is not one."""
    m = _ASSIGNMENT.match(word.text)
    return word.text.split("=", 1)[0].split("[", 1)[0].rstrip("+") if m else None
