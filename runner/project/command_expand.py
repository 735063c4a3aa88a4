"""A slash command's text as the model receives it, as Claude Code expands it. Pure: files are read
and commands run through the callbacks the caller passes (confined to the workspace, checked by
the Bash tool's permission rules and run in its sandbox).

Order matters for safety: ``!`cmd` `` and ``@file`` are taken from the command's own file first;
the arguments (a comment's text, untrusted) are substituted afterwards and never executed or read.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from runner.project.commands import CommandDef

MAX_FILE_CHARS = 64 * 1024  # one @file reference
MAX_FILES_CHARS = 256 * 1024  # all of a command's @file references
MAX_SHELL_CHARS = 32 * 1024  # one !`cmd` output
_SHELL = re.compile(r"!`([^`\n]+)`")
_FILE = re.compile(r"(?<![\w@/.])@((?:\.{0,2}/)?[\w.-][\w./-]*)")
_POSITIONAL = re.compile(r"\$([1-9])(?![0-9])")


@dataclass(frozen=True)
class Expansion:
    """The expanded prompt and what the command asks for."""

    text: str
    allowed_tools: tuple[str, ...]  # from allowed-tools: trusted commands only
    model: str | None


def expand_command(
    command: CommandDef,
    arguments: str,
    *,
    read_file: Callable[[str], str | None],
    run_shell: Callable[[str], str | None],
    warn: Callable[[str], None],
) -> Expansion:
    """``command`` with its ``!`cmd` `` lines run, ``@file`` references inlined, and ``$ARGUMENTS`` /
    ``$1``... replaced by ``arguments``. ``read_file`` returns a file's text, or None when the path
    is not a readable file inside the workspace (the reference is then left as written);
    ``run_shell`` returns a command's output, or None when it may not run (then it is left out,
    with a warning)."""
    body = _SHELL.sub(lambda m: _shell(m.group(1), command, run_shell, warn), command.body)
    body = _inline_files(body, read_file)
    if command.is_skill and command.skill_dir is not None:
        body = body.replace("${CLAUDE_SKILL_DIR}", str(command.skill_dir))
    text = _substitute(body, arguments)
    allowed = command.allowed_tools if command.trusted else ()
    if command.allowed_tools and not command.trusted:
        warn(
            f"warning: /{command.name}: allowed-tools ignored (the command is not from trusted configuration)"
        )
    return Expansion(text=text.strip("\n"), allowed_tools=allowed, model=command.model)


def _shell(
    cmd: str, command: CommandDef, run_shell: Callable[[str], str | None], warn: Callable[[str], None]
) -> str:
    output = run_shell(cmd) if command.trusted else None
    if output is None:
        warn(
            f"warning: /{command.name}: !`{cmd}` was not run (not allowed by the permission rules); left out"
        )
        return f"(the output of `{cmd}` is not available)"
    if len(output) > MAX_SHELL_CHARS:
        output = output[:MAX_SHELL_CHARS] + "\n[output truncated]"
    return output.rstrip("\n")


def _inline_files(body: str, read_file: Callable[[str], str | None]) -> str:
    attached: list[tuple[str, str]] = []
    budget = MAX_FILES_CHARS

    def one(match: re.Match[str]) -> str:
        nonlocal budget
        path = match.group(1).rstrip(".,;:)")
        if any(p == path for p, _ in attached):
            return path + match.group(1)[len(path) :]
        text = read_file(path)
        if text is None:
            return match.group(0)
        if len(text) > min(MAX_FILE_CHARS, budget):
            text = text[: max(0, min(MAX_FILE_CHARS, budget))] + "\n[file truncated]"
        budget -= len(text)
        attached.append((path, text))
        return path + match.group(1)[len(path) :]

    body = _FILE.sub(one, body)
    for path, text in attached:
        body += f'\n\n<file path="{path}">\n{text.rstrip()}\n</file>'
    return body


def _substitute(body: str, arguments: str) -> str:
    try:
        words = shlex.split(arguments)
    except ValueError:
        words = arguments.split()
    placeholders = "$ARGUMENTS" in body or _POSITIONAL.search(body) is not None
    # Replace in one pass, so text an argument brings in is never substituted again.
    pattern = re.compile(r"\$ARGUMENTS|\$([1-9])(?![0-9])")

    def value(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return arguments
        index = int(match.group(1)) - 1
        return words[index] if index < len(words) else ""

    text = pattern.sub(value, body)
    if not placeholders and arguments:
        text = f"{text.rstrip()}\n\nARGUMENTS: {arguments}"
    return text
