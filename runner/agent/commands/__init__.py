"""Commands judged with their options: what each word of a command makes it do.

``hazards(argv)`` lists what a command would do beyond reading the workspace (write a file,
run a program, leave the workspace), from small per-command tables: ``git.py`` (git), ``text.py``
(sed, awk), ``programs.py`` (find, sort, tee, rg, less, tar, zip, cp, rm, ...). Wrappers (``env``,
``sudo``, ``timeout``, ``xargs``, ...) are seen through. The rule matcher
(``permission_rules._covers``) lets a prefix allow rule match only when every hazard that needs
a rule is spelled out in the rule's own words; ``permissions`` checks every hazard's path
(resolved through symlinks) against the workspace. Pure: no file system access.
"""

from __future__ import annotations

import dataclasses
import functools
import posixpath
import re

from runner.agent.commands.base import WRITE, Hazard
from runner.agent.commands.git import git_hazards
from runner.agent.commands.programs import program_hazards, xargs_words
from runner.agent.commands.text import awk_hazards, sed_hazards
from runner.agent.shell_wrappers import unwrap

__all__ = ["INTERPRETERS", "LINK_MAKERS", "SHELLS", "WRITE", "Hazard", "hazards"]

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh"})
INTERPRETERS = frozenset(
    {"python", "python2", "python3", "perl", "ruby", "node", "nodejs", "deno", "bun", "php", "lua", "tclsh",
     "wish", "Rscript", "osascript", "pwsh", "powershell", "awk", "gawk", "mawk", "nawk", "jq"}
)  # fmt: skip
# Commands that can create or move a symbolic link, making a later write in the same command
# line land somewhere else than the path checked before it ran.
LINK_MAKERS = frozenset(
    {"ln", "cp", "mv", "install", "rsync", "tar", "unzip", "cpio", "pax", "git", "busybox"}
)
_AWKS = frozenset({"awk", "gawk", "mawk", "nawk"})
_GREPS = frozenset({"grep", "egrep", "fgrep"})
_MAX_DEPTH = 6
# Variables a command may be given without naming them in the rule: none of them makes a
# program run another program or read its configuration from elsewhere.
_SAFE_VARIABLES = re.compile(
    r"(LANG|LANGUAGE|LC_[A-Z]+|TZ|TERM|COLUMNS|LINES|NO_COLOR|FORCE_COLOR|CLICOLOR|CI|NODE_ENV|"
    r"RUST_BACKTRACE|RUST_LOG|PYTHONUNBUFFERED|PYTHONDONTWRITEBYTECODE|PYTHONHASHSEED)="
)


@functools.lru_cache(maxsize=512)
def hazards(argv: tuple[str, ...], assignments: int = 0, cwd: str = "/") -> tuple[Hazard, ...]:
    """What ``argv`` (its first ``assignments`` words are ``NAME=value``) does beyond reading.

    Indices point into ``argv``. ``cwd`` is where the command runs (for ``git -C``).
    """
    found = [_variable(i, word) for i, word in enumerate(argv[:assignments])]
    found += _command(argv, assignments, posixpath.normpath(cwd), 0)
    return tuple(h for h in found if h is not None)


def _variable(index: int, word: str) -> Hazard | None:
    if _SAFE_VARIABLES.match(word):
        return None
    name = word.partition("=")[0]
    return Hazard(index, name + "=", "sets an environment variable that can change what runs or where")


def _command(argv: tuple[str, ...], start: int, cwd: str, depth: int) -> list[Hazard]:
    words = argv[start:]
    if not words or depth > _MAX_DEPTH:
        return []
    name = posixpath.basename(words[0]) or words[0]
    if name == "git":
        return git_hazards(words, cwd, offset=start)
    if name == "sed":
        return _shift(sed_hazards(words), start)
    if name in _AWKS:
        return _shift(awk_hazards(words), start)
    if name == "xargs":
        own, inner = xargs_words(words)
        found = _shift(own, start)
        if inner < len(words):
            if _risky_under_xargs(words, inner):
                why = "runs with arguments read from xargs's input, which no rule can check"
                found.append(Hazard(start + inner, words[inner], why))
            found += _command(argv, start + inner, cwd, depth + 1)
        return found
    unwrapped = unwrap(name, words)
    if unwrapped is not None:
        found = []
        if name == "env":
            for i, word in enumerate(words[1:], start=1):
                if "=" in word and not word.startswith("-") and (h := _variable(start + i, word)):
                    found.append(h)
        if unwrapped.scripts:  # `env -S '...'`, `flock f -c '...'`, `su -c '...'`, `watch '...'`
            at = next((i for i, w in enumerate(words) if _script_option(w)), 0)
            found.append(Hazard(start + at, words[at], "runs a command line it builds itself"))
        if name == "time":
            found += _shift(program_hazards("time", words) or [], start)
        inner = len(words) - len(unwrapped.argv)
        return found + _command(argv, start + inner, cwd, depth + 1)
    return _shift(program_hazards(name, words) or [], start)


def _script_option(word: str) -> bool:
    if word.startswith("--"):
        return word.startswith(("--split-string", "--command", "--session-command"))
    return word.startswith("-") and ("S" in word or "c" in word)


def _risky_under_xargs(words: tuple[str, ...], inner: int) -> bool:
    """Whether words read from xargs's input could make ``words[inner:]`` write or run things."""
    target = posixpath.basename(words[inner])
    replace = {"{}"} | {words[i + 1] for i in range(1, inner - 1) if words[i] in ("-I", "-i", "--replace")}
    if any(r in words[inner] for r in replace):  # the command itself comes from the input
        return True
    if target in SHELLS or target in INTERPRETERS or target in ("eval", "source", ".", "git", "sed"):
        return True
    if target in _GREPS:  # its only file option reads patterns: nothing runs or is written
        return False
    return unwrap(target, words[inner:]) is not None or program_hazards(target, (target,)) is not None


def _shift(found: list[Hazard], offset: int) -> list[Hazard]:
    return [dataclasses.replace(h, index=h.index + offset) for h in found] if offset else found
