"""Pure analysis of a Bash command string, for matching it against permission rules.

``split_command`` cuts a command into simple commands (argv words, leading variable
assignments, redirections) with a small bash-compatible tokenizer. Anything it cannot read
with confidence (``$(...)``, backticks, ``<(...)``, subshells, ``{ ...; }`` groups, here-docs,
``if``/``for``/``while``, unbalanced quotes, a command name that is a variable or a glob, ...)
makes it return ``None``: such a command can never be auto-allowed by a rule.

Each simple command also carries ``views``: the argvs that deny rules are checked against,
seen through wrappers (``sudo``, ``env``, ``timeout 5``, ``xargs``, ...), ``sh -c '...'``,
``eval`` and ``find -exec``, so that a deny rule on ``rm`` also catches ``sudo rm -rf /``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from runner.agent.shell_wrappers import find_exec_argvs, git_without_global_options, shell_script, unwrap

# Wrappers may nest (``sudo env timeout 5 sh -c '...'``); past this depth we give up seeing
# through and hand the text to the rough, word-based deny check instead.
_MAX_DEPTH = 6

_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
_PARAM = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-]")
_BRACED_PARAM = re.compile(r"\{(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])\}")
# Words that start compound commands or need a grammar we do not implement.
_KEYWORDS = frozenset(
    {"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
     "select", "function", "coproc", "in", "[[", "]]", "{", "}"}
)  # fmt: skip
_WRITE_OPS = frozenset({">", ">>", ">|", "&>", "&>>", "<>"})
_ROUGH_SEPARATORS = re.compile(r"[\s;&|()<>`{}$=,]+")


class _Unverifiable(Exception):
    """The command uses shell syntax we do not analyse; the message says which."""


@dataclass(frozen=True)
class Redirect:
    """One redirection of a simple command, e.g. ``2> log.txt`` or ``2>&1``."""

    op: str  # ">", ">>", ">|", "&>", "&>>", "<>", ">&", "<", "<&", "<<<"
    fd: str | None  # explicit descriptor number written before the operator
    target: str  # the target word, quotes removed
    dynamic: bool = False  # the target contains $VAR or a glob: its real path is unknown
    tilde: bool = False  # the target starts with an unquoted ~ (the home directory)

    @property
    def writes(self) -> bool:
        """True when the redirection opens a file for writing (not an fd duplication)."""
        if self.op in _WRITE_OPS:
            return True
        return self.op == ">&" and not (self.target.isdigit() or self.target == "-")

    @property
    def reads_file(self) -> bool:
        """True when the redirection opens a file for reading."""
        return self.op == "<" or (self.op == "<&" and not (self.target.isdigit() or self.target == "-"))


@dataclass(frozen=True)
class SimpleCommand:
    """One command of a pipeline or list: ``FOO=1 git diff > out``."""

    words: tuple[str, ...]  # argv, quotes removed, leading assignments excluded
    assignments: tuple[str, ...] = ()  # leading NAME=value words
    redirects: tuple[Redirect, ...] = ()
    # argvs deny rules are checked against: the command itself, with the directory stripped
    # from its name, and every command it runs through a wrapper, `sh -c`, `eval`, `find -exec`.
    views: tuple[tuple[str, ...], ...] = field(default=(), compare=False)
    # scripts a wrapper runs that we could not parse; deny rules check their rough words.
    opaque: tuple[str, ...] = field(default=(), compare=False)

    @property
    def argv(self) -> tuple[str, ...]:
        """The words as written, assignments included: what allow rules are matched against."""
        return self.assignments + self.words


def split_command(command: str) -> list[SimpleCommand] | None:
    """Split ``command`` into simple commands, or None when it is too complex to verify.

    Splits on ``&&``, ``||``, ``;``, ``|``, ``|&``, ``&`` and newlines. None means "never
    auto-allow": the command uses substitutions, subshells, groups, here-docs, control
    flow, unbalanced quotes or another construct whose effect a rule cannot judge.
    """
    try:
        return _split(command, depth=0, strict=True)
    except _Unverifiable:
        return None


def why_unverifiable(command: str) -> str | None:
    """The reason ``split_command`` gives up on ``command``, or None when it does not."""
    try:
        _split(command, depth=0, strict=True)
    except _Unverifiable as exc:
        return str(exc)
    return None


def split_rule_command(text: str) -> list[SimpleCommand] | None:
    """Like ``split_command`` but for the text of a rule: ``*`` may stand for the command name."""
    try:
        return _split(text, depth=0, strict=False)
    except _Unverifiable:
        return None


def rough_words(text: str) -> list[str]:
    """Words of ``text`` with quotes and backslashes dropped, split at any shell punctuation.

    Used for deny rules on commands we cannot parse: crude on purpose, so that quoting
    tricks (``'r''m'``, ``r\\m``) and substitutions (``$(rm x)``) still show the word ``rm``.
    """
    return [w for w in _ROUGH_SEPARATORS.split(_unquote(text)) if w]


def uses_network_device(command: str) -> bool:
    """True when the command mentions bash's ``/dev/tcp/`` or ``/dev/udp/`` sockets."""
    return re.search(r"/dev/(tcp|udp)/", _unquote(command)) is not None


def _unquote(text: str) -> str:
    return text.replace("'", "").replace('"', "").replace("\\", "")


def command_name(word: str) -> str:
    """The program name of an argv[0]: ``/usr/bin/rm`` -> ``rm``."""
    return posixpath.basename(word) or word


# --- tokenizer ---------------------------------------------------------------------------


@dataclass
class _Word:
    text: str = ""
    quoted_from: int = -1  # index in text of the first quoted character, -1 if none
    glob: bool = False  # an unquoted * ? or [ : pathname expansion
    param: bool = False  # a $VAR expansion
    tilde: bool = False  # starts with an unquoted ~

    def add(self, s: str, *, quoted: bool) -> None:
        if quoted and self.quoted_from < 0:
            self.quoted_from = len(self.text)
        self.text += s


@dataclass(frozen=True)
class _Op:
    op: str  # && || | |& ; & or "\n"


@dataclass(frozen=True)
class _Redir:
    op: str
    fd: str | None


class _Lexer:
    """Bash's token rules for the subset we accept; raises ``_Unverifiable`` for the rest."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.i = 0
        self.tokens: list[_Word | _Op | _Redir] = []
        self.word: _Word | None = None

    def cur(self) -> _Word:
        if self.word is None:
            self.word = _Word()
        return self.word

    def flush(self) -> None:
        if self.word is not None:
            self.tokens.append(self.word)
            self.word = None

    def run(self) -> list[_Word | _Op | _Redir]:
        s = self.src
        while self.i < len(s):
            c = s[self.i]
            if c in " \t":
                self.flush()
                self.i += 1
            elif c == "\n":
                self.flush()
                self.tokens.append(_Op("\n"))
                self.i += 1
            elif c == "#" and self.word is None:
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            elif c == "\\":
                self.backslash()
            elif c == "'":
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise _Unverifiable("it has an unbalanced single quote")
                self.cur().add(s[self.i + 1 : end], quoted=True)
                self.i = end + 1
            elif c == '"':
                self.double_quoted()
            elif c == "`":
                raise _Unverifiable("it uses backtick command substitution")
            elif c == "$":
                self.dollar(quoted=False)
            elif c in "<>":
                self.redirect()
            elif c in "&|;":
                self.control()
            elif c in "()":
                raise _Unverifiable("it uses a subshell or parentheses")
            elif c in "{}":
                if not s.startswith("{}", self.i):  # `find -exec ... {}` is fine; groups/braces not
                    raise _Unverifiable("it uses a { } group or brace expansion")
                self.cur().add("{}", quoted=False)
                self.i += 2
            else:
                word = self.cur()
                word.glob = word.glob or c in "*?["
                word.tilde = word.tilde or (c == "~" and not word.text)
                word.add(c, quoted=False)
                self.i += 1
        self.flush()
        return self.tokens

    def backslash(self) -> None:
        if self.i + 1 >= len(self.src):
            raise _Unverifiable("it ends with a lone backslash")
        nxt = self.src[self.i + 1]
        if nxt != "\n":  # backslash-newline is a line continuation: nothing at all
            self.cur().add(nxt, quoted=True)
        self.i += 2

    def double_quoted(self) -> None:
        s, word = self.src, self.cur()
        self.i += 1
        while True:
            if self.i >= len(s):
                raise _Unverifiable("it has an unbalanced double quote")
            c = s[self.i]
            if c == '"':
                self.i += 1
                return
            if c == "\\" and self.i + 1 < len(s) and s[self.i + 1] in '$`"\\\n':
                if s[self.i + 1] != "\n":
                    word.add(s[self.i + 1], quoted=True)
                self.i += 2
            elif c == "`":
                raise _Unverifiable("it uses backtick command substitution")
            elif c == "$":
                self.dollar(quoted=True)
            else:
                word.add(c, quoted=True)
                self.i += 1

    def dollar(self, *, quoted: bool) -> None:
        s, word = self.src, self.cur()
        nxt = s[self.i + 1] if self.i + 1 < len(s) else ""
        if nxt == "(":
            arithmetic = s.startswith("$((", self.i)
            raise _Unverifiable(
                f"it uses {'$((...)) arithmetic' if arithmetic else '$(...) command substitution'}"
            )
        if nxt == "[":  # $[...] arithmetic can run code hidden in variables
            raise _Unverifiable("it uses $[...] arithmetic")
        if nxt == "{":
            m = _BRACED_PARAM.match(s, self.i + 1)
            if m is None:  # ${x:-...}, ${x@P}, ...: operators we do not evaluate
                raise _Unverifiable("it uses a ${...} expansion with operators")
            end = m.end()
        elif nxt in "'\"" and nxt and not quoted:
            raise _Unverifiable("it uses $'...' or $\"...\" quoting")
        else:
            m = _PARAM.match(s, self.i + 1)
            if m is None:  # a lone `$` is literal
                word.add("$", quoted=quoted)
                self.i += 1
                return
            end = m.end()
        word.param = True
        word.add(s[self.i : end], quoted=quoted)
        self.i = end

    def redirect(self) -> None:
        s, fd = self.src, None
        word = self.word
        if word is not None and word.quoted_from < 0 and word.text.isdigit():
            fd, self.word = word.text, None  # `2>`: the digits name the descriptor
        self.flush()
        if s.startswith(("<(", ">("), self.i):
            raise _Unverifiable("it uses <(...) or >(...) process substitution")
        if s.startswith("<<<", self.i):
            op = "<<<"
        elif s.startswith("<<", self.i):
            raise _Unverifiable("it uses a here-document")
        else:
            op = next(o for o in ("<>", "<&", ">>", ">|", ">&", "<", ">") if s.startswith(o, self.i))
        self.tokens.append(_Redir(op, fd))
        self.i += len(op)

    def control(self) -> None:
        s = self.src
        self.flush()
        for op in ("&&", "||", "|&", ";;", ";&", "&>>", "&>", "&", "|", ";"):
            if s.startswith(op, self.i):
                break
        if op in (";;", ";&"):
            raise _Unverifiable("it uses case syntax")
        self.tokens.append(_Redir(op, None) if op.startswith("&>") else _Op(op))
        self.i += len(op)


# --- parser ------------------------------------------------------------------------------

_BINARY_OPS = frozenset({"&&", "||", "|", "|&"})


def _split(command: str, *, depth: int, strict: bool) -> list[SimpleCommand]:
    if depth > _MAX_DEPTH:
        raise _Unverifiable("it nests commands too deeply")
    tokens = _Lexer(command).run()
    groups: list[tuple[list[_Word], list[tuple[_Redir, _Word]]]] = []
    words: list[_Word] = []
    redirs: list[tuple[_Redir, _Word]] = []
    need_command = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if isinstance(tok, _Word):
            words.append(tok)
        elif isinstance(tok, _Redir):
            i += 1
            target = tokens[i] if i < len(tokens) else None
            if not isinstance(target, _Word):
                raise _Unverifiable("a redirection has no target")
            redirs.append((tok, target))
        elif words or redirs:
            groups.append((words, redirs))
            words, redirs = [], []
            need_command = tok.op in _BINARY_OPS
        elif tok.op != "\n":  # `; ls`, `a && && b`: a syntax error in bash
            raise _Unverifiable(f"`{tok.op}` has no command before it")
        i += 1
    if words or redirs:
        groups.append((words, redirs))
    elif need_command:
        raise _Unverifiable("it ends with an operator")
    return [_simple(w, r, depth=depth, strict=strict) for w, r in groups]


def _simple(
    words: list[_Word], redirs: list[tuple[_Redir, _Word]], *, depth: int, strict: bool
) -> SimpleCommand:
    n = 0
    while n < len(words) and _is_assignment(words[n]):
        n += 1
    argv = tuple(w.text for w in words[n:])
    if strict and n < len(words):
        name = words[n]
        if name.quoted_from < 0 and name.text in _KEYWORDS:
            raise _Unverifiable(f"it uses the shell keyword `{name.text}`")
        if name.glob or name.param:
            raise _Unverifiable(f"its command name `{name.text}` is a variable or a glob")
    redirects = tuple(
        Redirect(r.op, r.fd, t.text, dynamic=t.glob or t.param, tilde=t.tilde) for r, t in redirs
    )
    views: list[tuple[str, ...]] = []
    opaque: list[str] = []
    if strict:
        _see_through(argv, depth, views, opaque)
    return SimpleCommand(
        words=argv,
        assignments=tuple(w.text for w in words[:n]),
        redirects=redirects,
        views=tuple(views),
        opaque=tuple(opaque),
    )


def _is_assignment(word: _Word) -> bool:
    m = _ASSIGNMENT.match(word.text)
    return m is not None and (word.quoted_from < 0 or word.quoted_from >= m.end())


def _see_through(argv: tuple[str, ...], depth: int, views: list[tuple[str, ...]], opaque: list[str]) -> None:
    """Collect ``argv`` and every command it runs into ``views`` (scripts we cannot parse: ``opaque``)."""
    if not argv or argv in views:
        return
    if depth > _MAX_DEPTH:
        opaque.append(" ".join(argv))
        return
    views.append(argv)
    name = command_name(argv[0])
    if name != argv[0]:
        views.append((name, *argv[1:]))
    scripts: list[str] = []
    inner: list[tuple[str, ...]] = []
    if name == "eval":
        scripts.append(" ".join(argv[1:]))
    elif name == "find":
        inner.extend(find_exec_argvs(argv))
    elif name == "git":
        plain = git_without_global_options(argv)
        inner.extend([plain] if plain else [])
    else:
        unwrapped = unwrap(name, argv)
        if unwrapped is not None:
            inner.append(unwrapped.argv)
            scripts.extend(unwrapped.scripts)
        script = shell_script(name, argv)
        if script is not None:
            scripts.append(script)
    for sub in inner:
        _see_through(sub, depth + 1, views, opaque)
    for script in scripts:
        try:
            commands = _split(script, depth=depth + 1, strict=True)
        except _Unverifiable:
            opaque.append(script)
            continue
        for cmd in commands:
            views.extend(v for v in cmd.views if v not in views)
            opaque.extend(cmd.opaque)
