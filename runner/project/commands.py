"""Slash commands and skills as Claude Code finds them, and which one a prompt invokes. Pure
but for reading the directories it is given.

- Commands: ``commands/**/*.md``; the name is the file's stem (a subdirectory only groups them,
  as in Claude Code: ``commands/frontend/component.md`` is ``/component``); a plugin's are
  ``/plugin:stem``.
- Skills: ``skills/<name>/SKILL.md``; the name is the frontmatter ``name`` or the directory's; a
  plugin's are ``plugin:name``. A skill is also a command (``/name``) and wins over a command of
  the same name, as in Claude Code.

Frontmatter: ``description``, ``argument-hint``, ``allowed-tools``, ``model`` (commands and skills),
``disable-model-invocation`` (a skill the model is not offered).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from runner.project.frontmatter import list_field, split_frontmatter, text_field

MAX_FILE_BYTES = 256 * 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# `/name` or `/plugin:name` at the start of a prompt, then the arguments.
_INVOCATION = re.compile(r"/([A-Za-z0-9][A-Za-z0-9_.-]*(?::[A-Za-z0-9][A-Za-z0-9_.-]*)*)(?:\s+|$)")


@dataclass(frozen=True)
class CommandDef:
    """A slash command or a skill: what it expands to and what it asks for."""

    name: str  # as invoked, without the slash: "review", "code-review:code-review"
    body: str  # the Markdown after the frontmatter
    source: Path  # the file it came from
    description: str = ""
    argument_hint: str | None = None
    allowed_tools: tuple[str, ...] = ()
    model: str | None = None
    trusted: bool = True  # False: a file the model's workspace could have changed; no allowed-tools
    skill_dir: Path | None = None  # a skill's directory (its files are readable); None: a command
    model_invocable: bool = True  # False: disable-model-invocation (only `/name` runs it)

    @property
    def is_skill(self) -> bool:
        """Whether it is a skill (a directory with ``SKILL.md``)."""
        return self.skill_dir is not None


def parse_command(
    text: str, *, name: str, source: Path, skill_dir: Path | None = None, trusted: bool = True
) -> CommandDef:
    """One command or skill file; ValueError (one line) when its frontmatter is malformed."""
    meta, body = split_frontmatter(text)
    description = text_field(meta, "description") or _first_line(body)
    return CommandDef(
        name=name,
        body=body.strip("\n"),
        source=source,
        description=description,
        argument_hint=text_field(meta, "argument-hint"),
        allowed_tools=list_field(meta, "allowed-tools"),
        model=text_field(meta, "model"),
        trusted=trusted,
        skill_dir=skill_dir,
        model_invocable=(text_field(meta, "disable-model-invocation") or "").lower() != "true",
    )


def load_commands(
    directory: Path, *, namespace: str | None = None, trusted: bool = True, warn: Callable[[str], None]
) -> list[CommandDef]:
    """The commands under ``directory`` (``**/*.md``, in path order); a bad file warns and is skipped."""
    found = []
    for path in _files(directory, "*.md"):
        name = _qualified(path.stem, namespace)
        command = _read(path, name, None, trusted, warn)
        if command is not None:
            found.append(command)
    return found


def load_skills(
    directory: Path, *, namespace: str | None = None, trusted: bool = True, warn: Callable[[str], None]
) -> list[CommandDef]:
    """The skills under ``directory`` (``<name>/SKILL.md``); a bad one warns and is skipped."""
    found = []
    for path in _files(directory, "*/SKILL.md"):
        command = _read(path, _qualified(path.parent.name, namespace), path.parent, trusted, warn)
        if command is None:
            continue
        meta_name = text_field(
            split_frontmatter(path.read_text(encoding="utf-8", errors="replace"))[0], "name"
        )
        if meta_name and _NAME.fullmatch(meta_name):
            command = _renamed(command, _qualified(meta_name, namespace))
        found.append(command)
    return found


def merge_commands(
    groups: Iterable[Iterable[CommandDef]], warn: Callable[[str], None]
) -> dict[str, CommandDef]:
    """Commands by name; a skill wins over a command of the same name, and among two of a kind the
    one found first (the higher-precedence source) wins, the other named in a warning."""
    merged: dict[str, CommandDef] = {}
    for group in groups:
        for command in group:
            old = merged.get(command.name)
            if old is None or (command.is_skill and not old.is_skill):
                merged[command.name] = command
            elif not (old.is_skill and not command.is_skill):
                warn(
                    f"warning: /{command.name} from {command.source} is ignored: {old.source} defines it too"
                )
    return merged


def parse_invocation(prompt: str) -> tuple[str, str] | None:
    """``("name", "arguments")`` when ``prompt`` starts with ``/name``; None otherwise."""
    match = _INVOCATION.match(prompt.lstrip())
    if match is None:
        return None
    return match.group(1), prompt.lstrip()[match.end() :].strip()


def _files(directory: Path, pattern: str) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob(pattern) if p.is_file() and not _hidden(p, directory))


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _read(
    path: Path, name: str, skill_dir: Path | None, trusted: bool, warn: Callable[[str], None]
) -> CommandDef | None:
    what = "skill" if skill_dir is not None else "command"
    if not _NAME.fullmatch(name.rsplit(":", 1)[-1]):
        warn(f"warning: {what} {path} skipped: its name may hold only letters, digits, '-', '_' and '.'")
        return None
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ValueError(f"larger than {MAX_FILE_BYTES // 1024} KiB")
        text = path.read_text(encoding="utf-8", errors="replace")
        return parse_command(text, name=name, source=path, skill_dir=skill_dir, trusted=trusted)
    except (OSError, ValueError) as exc:
        warn(f"warning: {what} {path} skipped: {exc}")
        return None


def _qualified(name: str, namespace: str | None) -> str:
    return f"{namespace}:{name}" if namespace else name


def _renamed(command: CommandDef, name: str) -> CommandDef:
    return replace(command, name=name)


def _first_line(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()[:200]
    return ""
