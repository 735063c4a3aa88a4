"""What a hazard is, and a small GNU-style option reader the per-command tables share.

A *hazard* is something a command's words make it do beyond reading the workspace: write a
file, run another program, read or write outside the workspace. Each names the argv word that
carries it, so the rule matcher can tell whether an allow rule's own prefix spells it out
(``Bash(git diff --output:*)`` names ``--output``; ``Bash(git diff:*)`` does not).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

WRITE = "write"  # the path must be writable: inside the workspace roots, not in .git/.claude
READ = "read"  # the path must be inside the workspace roots


@dataclass(frozen=True)
class Hazard:
    """One thing a command would do that a prefix allow rule does not vouch for by itself."""

    index: int  # the argv word (assignments counted) that carries it
    option: str  # as messages and rules name it: "--output", "-c", "-exec", "config", "PAGER="
    why: str  # "writes a file", "runs a program", ...
    path: str | None = None  # a file it touches: absolute, or relative to the shell's cwd
    access: str = ""  # WRITE or READ when ``path`` is set
    needs_rule: bool = True  # False: only ``path`` is checked (tee's operands, git diff's paths)
    dynamic: bool = False  # the path is only known at run time (awk's `print > x`)

    def describe(self) -> str:
        """``--output`` (writes a file) for messages."""
        return f"`{self.option}` ({self.why})"


@dataclass(frozen=True)
class Opt:
    """A hazardous option of one command."""

    names: tuple[str, ...]  # "-o", "--output"
    why: str
    value: bool = False  # takes a value (attached, `=`, or the next word)
    optional_value: bool = False  # the value may only be attached (`-O<pager>`, `--exec-path=<p>`)
    access: str = ""  # WRITE/READ: the value is a path to check
    needs_rule: bool = True


@dataclass(frozen=True)
class Spec:
    """How one command reads its options: which are hazards, which harmless ones take a value."""

    hazards: tuple[Opt, ...] = ()
    short_values: str = ""  # harmless one-letter options whose value may be the next word
    long_values: frozenset[str] = frozenset()  # harmless --options whose value may be the next word
    abbreviations: bool = True  # getopt_long / parse-options accept unique prefixes (`--out=x`)
    safe_long: frozenset[str] = frozenset()  # harmless options that a hazard's name starts with
    stop_at_operand: bool = False  # options end at the first operand (POSIX, wrappers)
    lookup: dict[str, Opt] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for opt in self.hazards:
            for name in opt.names:
                self.lookup[name] = opt

    def long_hazard(self, name: str) -> Opt | None:
        """The hazard a ``--name`` word stands for, abbreviations included."""
        if name in self.lookup:
            return self.lookup[name]
        if not self.abbreviations or len(name) < 4 or name in self.safe_long or name in self.long_values:
            return None
        hits = {id(o): o for n, o in self.lookup.items() if n.startswith("--") and n.startswith(name)}
        return next(iter(hits.values())) if hits else None


@dataclass(frozen=True)
class Word:
    """One operand: an argv word that is neither an option nor an option's value."""

    index: int
    text: str


def read_options(
    argv: tuple[str, ...], spec: Spec, *, start: int = 1, base: str = ""
) -> tuple[list[Hazard], list[Word]]:
    """Hazardous options in ``argv[start:]`` and the operands, GNU style (options may follow operands)."""
    found: list[Hazard] = []
    words: list[Word] = []
    i = start
    only_operands = False
    while i < len(argv):
        word = argv[i]
        if only_operands or word == "-" or not word.startswith("-"):
            words.append(Word(i, word))
            only_operands = only_operands or spec.stop_at_operand
            i += 1
            continue
        if word == "--":
            only_operands = True
            i += 1
            continue
        i += _read_option(argv, i, spec, found, base)
    return found, words


def _read_option(argv: tuple[str, ...], i: int, spec: Spec, found: list[Hazard], base: str) -> int:
    """Record the hazard of the option at ``argv[i]``; return how many words it spans."""
    word = argv[i]
    nxt = argv[i + 1] if i + 1 < len(argv) else None
    if word.startswith("--"):
        name, eq, value = word.partition("=")
        opt = spec.long_hazard(name)
        if opt is None:
            return 2 if (not eq and name in spec.long_values and nxt is not None) else 1
        if opt.value and not eq and not opt.optional_value:
            found.append(_hazard(opt, i, name, nxt, base))
            return 2
        found.append(_hazard(opt, i, name, value if eq else None, base))
        return 1
    for pos in range(1, len(word)):
        letter = "-" + word[pos]
        rest = word[pos + 1 :]
        opt = spec.lookup.get(letter)
        if opt is not None:
            if not opt.value:
                found.append(_hazard(opt, i, letter, None, base))
                continue
            if rest or opt.optional_value:
                found.append(_hazard(opt, i, letter, rest or None, base))
                return 1
            found.append(_hazard(opt, i, letter, nxt, base))
            return 2
        if word[pos] in spec.short_values:
            return 1 if rest else 2
    return 1


def _hazard(opt: Opt, index: int, name: str, value: str | None, base: str) -> Hazard:
    path = join(base, value) if (opt.access and value) else None
    return Hazard(index, name, opt.why, path, opt.access if path else "", opt.needs_rule)


def join(base: str, path: str) -> str:
    """``path`` seen from the shell's cwd when the command itself runs in ``base`` (git -C)."""
    if not base or path.startswith(("/", "~")):
        return path
    return posixpath.join(base, path)


def paths(words: Iterable[Word], why: str, access: str, *, base: str = "") -> Iterator[Hazard]:
    """Path-only hazards for operands: each must be inside the workspace (``access``)."""
    for w in words:
        yield Hazard(w.index, "", why, join(base, w.text), access, needs_rule=False)
