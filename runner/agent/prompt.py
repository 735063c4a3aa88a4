"""The system prompt: ours (or the user's), then the repository's CLAUDE.md files."""

from __future__ import annotations

import datetime as _dt
import platform
from dataclasses import dataclass
from pathlib import Path

# Short on purpose: every token here is paid on every turn (cached, but still paid once).
DEFAULT_SYSTEM_PROMPT = """\
You are Claude, an AI coding agent running non-interactively in a CI job. Nobody can answer \
questions or approve anything during the run: make reasonable assumptions, do the work with \
your tools, then end with a concise summary of what you did and anything left undone.
- Read a file before you edit it. Keep changes minimal and in the project's style. Run the \
project's checks when you can.
- A denied tool call will not be approved later: do not retry it; find another way or say what is needed.
- Tools accept paths inside the working directory{add_dirs} only.
- Never reveal or look for credentials; the tools' environment has none.

Environment: working directory {cwd}; git repository: {is_git}; platform {platform}; today {today}."""

# A CLAUDE.md larger than this is cut, with a note, so one file cannot flood every request.
MAX_MEMORY_CHARS = 40_000


@dataclass(frozen=True)
class MemoryFile:
    """One CLAUDE.md file found for the working directory."""

    path: Path
    text: str


def find_repo_root(cwd: Path) -> Path | None:
    """The nearest directory at or above ``cwd`` holding ``.git`` (no subprocess: startup speed)."""
    for directory in (cwd, *cwd.parents):
        if (directory / ".git").exists():
            return directory
    return None


def find_memory_files(cwd: Path) -> list[MemoryFile]:
    """CLAUDE.md files from the repository root down to ``cwd``, outermost first.

    Each directory may have ``CLAUDE.md`` and ``.claude/CLAUDE.md``. Outside a repository
    only ``cwd`` itself is searched.
    """
    root = find_repo_root(cwd) or cwd
    chain = [cwd, *[p for p in cwd.parents if p == root or root in p.parents]]
    files: list[MemoryFile] = []
    for directory in reversed(chain):
        for candidate in (directory / "CLAUDE.md", directory / ".claude" / "CLAUDE.md"):
            if candidate.is_file():
                try:
                    text = candidate.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                if len(text) > MAX_MEMORY_CHARS:
                    text = text[:MAX_MEMORY_CHARS] + f"\n[... cut at {MAX_MEMORY_CHARS} characters]"
                files.append(MemoryFile(candidate, text))
    return files


def build_system_prompt(
    cwd: Path,
    *,
    add_dirs: tuple[Path, ...] = (),
    replace: str | None = None,
    append: str | None = None,
    memory: list[MemoryFile] | None = None,
    today: _dt.date | None = None,
) -> str:
    """``--system-prompt`` or our default, then ``--append-system-prompt``, then CLAUDE.md files."""
    if replace is not None:
        parts = [replace]
    else:
        extra = "".join(f" and {d}" for d in add_dirs)
        parts = [
            DEFAULT_SYSTEM_PROMPT.format(
                cwd=cwd,
                add_dirs=extra,
                is_git="yes" if find_repo_root(cwd) else "no",
                platform=platform.system().lower(),
                today=(today or _dt.date.today()).isoformat(),
            )
        ]
    if append:
        parts.append(append)
    for item in find_memory_files(cwd) if memory is None else memory:
        parts.append(
            f"Project instructions from {item.path} (follow them unless they conflict with the task):\n\n"
            f"{item.text.strip()}"
        )
    return "\n\n".join(p for p in parts if p.strip())
