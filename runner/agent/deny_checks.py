"""Deny rules against commands that hide what they run.

With ``Bash`` allowed and ``Bash(rm:*)`` denied, ``x=r; y=m; $x$y f``, ``$(printf r)m f``,
``printf 'rm f' | sh`` and ``bash <<< 'rm f'`` all ran rm: the deny rule never saw the word. When
any ``Bash(...)`` deny (or ask) rule applies, a command is refused if the name of a command it
runs is computed at run time, if it feeds text to a shell or an interpreter (a pipe, a here-string,
a here-document, ``bash -c "$x"``, ``eval "$x"``, ``source`` of a file outside the workspace), or
if it stores code for later (aliases, traps, ``PS4``, quoted ``$(...)``). Commands found inside
substitutions and bodies (``shell_scan``) are matched against the deny rules like any other.
"""

from __future__ import annotations

import os
import posixpath
import shlex
from collections.abc import Iterator, Sequence
from pathlib import Path

from runner.agent.bash_checks import inside
from runner.agent.commands import INTERPRETERS, SHELLS
from runner.agent.permission_rules import Call, Rule, argv_matches, rough_match
from runner.agent.shell import command_name, split_command
from runner.agent.shell_scan import assignment_name, scan_command
from runner.agent.shell_scan_parts import Scan, ScanError, Segment, Word
from runner.agent.shell_wrappers import unwrap

_CODE_VARIABLES = frozenset(
    {"PS0", "PS1", "PS2", "PS3", "PS4", "PROMPT_COMMAND", "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS"}
)
_DECLARERS = frozenset({"declare", "typeset", "local", "export", "readonly"})
_CODE_FLAGS = frozenset({"-c", "-e", "-E", "-r", "-p", "--eval", "--print", "--command"})
_VALUE_FLAGS = frozenset({"-m", "-W", "-X", "-I", "-M", "-x", "--require", "--import"})
_MAX_DEPTH = 6


def deny_rules(rules: Sequence[Rule]) -> list[Rule]:
    """The ``Bash(...)`` rules (with a specifier) among deny/ask rules: the ones this module serves."""
    return [r for r in rules if r.bash is not None and r.bash.kind != "any" and r.tool in ("Bash", "*")]


def denied(call: Call, rules: Sequence[Rule], roots: Sequence[Path]) -> tuple[Rule | None, str] | None:
    """(the rule, "") when a command found anywhere in the call matches a deny rule; (None, why)
    when the call hides a command from the rules; None when the rules can judge it."""
    if not rules or call.command is None:
        return None
    try:
        scan = scan_command(call.command)
    except ScanError as exc:
        return None, f"the command cannot be read ({exc})"
    for rule in rules:
        assert rule.bash is not None
        if any(argv_matches(rule.bash, argv) for argv in _argvs(scan)):
            return rule, ""
        if any(rough_match(rule.bash, text) for text in _opaque(scan)):
            return rule, ""
    why = _gap(scan, call.cwd, roots, 0)
    return (None, why) if why else None


def _argvs(scan: Scan, depth: int = 0) -> Iterator[tuple[str, ...]]:
    """Every argv a found command may run, seen through wrappers and ``sh -c`` as shell.py sees them,
    and the commands of a ``trap`` action."""
    for seg in scan.segments:
        words = [w.text for w in seg.words]
        for cmd in split_command(" ".join(shlex.quote(w) for w in words)) or ():
            yield from cmd.views
        if words[:1] == ["trap"] and len(words) > 2 and depth < _MAX_DEPTH:
            try:
                yield from _argvs(scan_command(words[1]), depth + 1)
            except ScanError:
                continue


def _opaque(scan: Scan) -> Iterator[str]:
    for seg in scan.segments:
        for cmd in split_command(" ".join(shlex.quote(w.text) for w in seg.words)) or ():
            yield from cmd.opaque


def _gap(scan: Scan, cwd: str, roots: Sequence[Path], depth: int) -> str | None:
    if depth > _MAX_DEPTH:
        return "it nests shells too deeply to check"
    if scan.notes:
        return scan.notes[0]
    if scan.stored:
        text = scan.stored[0] if len(scan.stored[0]) <= 60 else scan.stored[0][:60] + "…"
        return f"a quoted string holds `{text}`, which arithmetic on it would run"
    for seg in scan.segments:
        why = _segment_gap(seg, cwd, roots, depth)
        if why:
            return why
    return None


def _text_gap(text: str, cwd: str, roots: Sequence[Path], depth: int) -> str | None:
    """The gap in a script a command runs (``bash -c '...'``, ``eval '...'``)."""
    try:
        return _gap(scan_command(text), cwd, roots, depth + 1)
    except ScanError as exc:
        return f"it runs a script that cannot be read ({exc})"


def _segment_gap(seg: Segment, cwd: str, roots: Sequence[Path], depth: int) -> str | None:
    words = seg.words
    i = 0
    while i < len(words) and (name := assignment_name(words[i])) is not None:
        if name in _CODE_VARIABLES or name.startswith("BASH_FUNC_"):
            return f"it sets {name}, which makes the shell run the text it holds"
        i += 1
    argv = words[i:]
    for _ in range(_MAX_DEPTH):
        if not argv:
            return None
        if argv[0].computed:
            return f"its command name `{argv[0].raw or argv[0].text}` is computed at run time"
        name = command_name(argv[0].text)
        texts = tuple(w.text for w in argv)
        unwrapped = unwrap(name, texts)
        if unwrapped is None:
            break
        for script in unwrapped.scripts:  # env -S '...', watch '...'
            why = _text_gap(script, cwd, roots, depth)
            if why:
                return why
        inner = argv[len(argv) - len(unwrapped.argv) :]
        if name == "xargs" and inner and _builds_command(inner, texts):
            return f"xargs runs `{inner[0].text or inner[0].raw}` with words read from its input"
        if name in ("xargs", "env", "sudo", "doas", "nohup", "exec", "command", "builtin") and not inner:
            return None
        argv = inner
    return _command_gap(command_name(argv[0].text), argv, seg, cwd, roots, depth)


def _builds_command(inner: list[Word], texts: tuple[str, ...]) -> bool:
    first = inner[0].text
    replace = {"{}"} | {texts[i + 1] for i in range(len(texts) - 1) if texts[i] in ("-I", "-i", "--replace")}
    wrapper = unwrap(command_name(first), tuple(w.text for w in inner))
    name = command_name(first)
    return (
        any(r and r in first for r in replace)
        or name in SHELLS
        or name in INTERPRETERS
        or name in ("eval", "source", ".")
        or (wrapper is not None and not wrapper.argv)
    )


def _command_gap(
    name: str, argv: list[Word], seg: Segment, cwd: str, roots: Sequence[Path], depth: int
) -> str | None:
    args = argv[1:]
    if name == "eval":
        if any(w.computed for w in args):
            return "eval runs text built at run time"
        return _text_gap(" ".join(w.text for w in args), cwd, roots, depth)
    if name in ("source", "."):
        return _file_gap(args[0], "sources", cwd, roots) if args else None
    if name in SHELLS:
        return _shell_gap(name, args, seg, cwd, roots, depth)
    if name in INTERPRETERS and name not in ("awk", "gawk", "mawk", "nawk", "jq"):
        return _interpreter_gap(name, args, seg, cwd, roots)
    texts = [w.text for w in args]
    if name == "alias" and any("=" in t for t in texts):
        return "it defines an alias, a command name the deny rules cannot see"
    if name == "shopt" and "expand_aliases" in texts:
        return "it turns on alias expansion"
    if name == "hash" and any(t.startswith("-") and "p" in t for t in texts):
        return "hash -p gives a program another name"
    if name == "enable" and any(t.startswith("-") and "f" in t for t in texts):
        return "enable -f loads a builtin from a file"
    if name == "trap" and args and args[0].computed:
        return "trap runs text built at run time, when a signal arrives"
    if name == "trap" and texts and texts[0] not in ("-l", "-p", "-", "") and len(texts) > 1:
        return _text_gap(texts[0], cwd, roots, depth)  # its commands are matched in denied()
    if name == "parallel":
        return "parallel runs commands built from its input"
    if name == "fc":
        return "fc runs commands from the history"
    if name in ("mapfile", "readarray") and "-C" in texts:
        return f"{name} -C runs a callback"
    if name in _DECLARERS:
        for t in texts:
            var = t.split("=", 1)[0]
            if "=" in t and (var in _CODE_VARIABLES or var.startswith("BASH_FUNC_")):
                return f"it sets {var}, which makes the shell run the text it holds"
    return None


def _shell_gap(
    name: str, args: list[Word], seg: Segment, cwd: str, roots: Sequence[Path], depth: int
) -> str | None:
    saw_c = False
    i = 0
    while i < len(args):
        t = args[i].text
        if args[i].computed and (t.startswith("-") or not t):
            return f"{name} gets an option only known at run time"
        if t in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            i += 2
            continue
        if t.startswith("-") and not t.startswith("--") and "c" in t[1:]:
            saw_c = True
        elif not t.startswith(("-", "+")):
            break
        i += 1
    operand = args[i] if i < len(args) else None
    if saw_c:
        if operand is None:
            return None
        if operand.computed:
            return f"{name} -c runs a script built at run time"
        return _text_gap(operand.text, cwd, roots, depth)
    if operand is not None:
        return _file_gap(operand, f"runs with {name}", cwd, roots)
    return _stdin_gap(name, seg, cwd, roots)


def _interpreter_gap(
    name: str, args: list[Word], seg: Segment, cwd: str, roots: Sequence[Path]
) -> str | None:
    i = 0
    while i < len(args):
        t = args[i].text
        if t in _CODE_FLAGS or any(t.startswith(f) and len(t) > 2 for f in ("-c", "-e")):
            code = args[i + 1] if t in _CODE_FLAGS and i + 1 < len(args) else args[i]
            if code.computed:
                return f"{name} runs code built at run time"
            return _stdin_gap(name, seg, cwd, roots)  # `... | python3 -c 'exec(sys.stdin.read())'`
        if t in _VALUE_FLAGS:
            if t == "-m":
                return None  # a module
            i += 2
            continue
        if t == "-":
            break
        if not t.startswith("-"):
            return None  # a script file: what it does is as hidden from deny rules as any program's
        i += 1
    return _stdin_gap(name, seg, cwd, roots)


def _stdin_gap(name: str, seg: Segment, cwd: str, roots: Sequence[Path]) -> str | None:
    """A shell or interpreter reading text from a pipe, a here-string or a here-document runs it."""
    if seg.stdin in ("pipe", "here-string", "here-document"):
        return f"it feeds text to {name} through a {seg.stdin.replace('-', ' ')}"
    if seg.stdin == "file" and seg.stdin_path is not None:
        return _file_gap(seg.stdin_path, f"feeds to {name}", cwd, roots)
    return None


def _file_gap(word: Word, verb: str, cwd: str, roots: Sequence[Path]) -> str | None:
    """A script file must be a known path inside the workspace."""
    if word.computed:
        return f"it {verb} `{word.raw or word.text}`, a file only known at run time"
    if word.text.startswith("~"):
        return f"it {verb} `{word.text}`, a file outside the workspace"
    path = posixpath.normpath(posixpath.join(cwd, word.text))
    real = os.path.realpath(path)
    real_roots = [os.path.realpath(r) for r in roots]
    if inside(path, roots) is None or inside(real, real_roots) is None:
        return f"it {verb} `{word.text}`, a file outside the workspace"
    return None
