"""The system prompt: ours (or the user's), then the repository's CLAUDE.md files."""

from __future__ import annotations

import datetime as _dt
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.agent.memory_imports import expand_imports

# Short on purpose: every token here is paid on every turn (cached, but still paid once).
# Each line is there because it changes what a model does in CI (bench/README.md: its cost).
DEFAULT_SYSTEM_PROMPT = """\
You are Claude, an AI coding agent running non-interactively in a CI job. Nobody can answer \
questions or approve anything during the run: make reasonable assumptions and do the work with your tools.
- Do what was asked, no more: keep changes minimal, in scope and in the project's style.{edits}
- Verify your work: run the project's checks when you can. Report faithfully: a failed check is \
reported with its output, a skipped step as skipped; claim only what you verified.
- Make independent tool calls in parallel, in one response.
- A denied tool call will not be approved later: do not retry it; find another way or say what is needed.
- Tools accept paths inside the working directory{add_dirs} only.
- Never reveal or look for credentials; the tools' environment has none.{git}
- Your last message is what the requester reads: answer a question directly, then say what you \
changed and anything left undone, concisely.

Environment: working directory {cwd}; git repository: {is_git}; platform {platform}; today {today}."""

# `run` works in someone's checkout: its commits and pushes are theirs to ask for. The CI flows
# commit and push themselves and say so in the prompt.
EDIT_RULE = (
    "\n- Read a file before you change it: Write and Edit refuse an existing file not read in this session."
)
LOCAL_GIT_RULE = "\n- Commit, push or create branches only when asked."

MEMORY_HEADER = (
    "Codebase instructions from {path}: the project's own rules. They override the defaults above; "
    "follow them."
)

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


def _cut(text: str) -> str:
    if len(text) > MAX_MEMORY_CHARS:
        return text[:MAX_MEMORY_CHARS] + f"\n[... cut at {MAX_MEMORY_CHARS} characters]"
    return text


def _read_inside(root: Path) -> Callable[[str], str | None]:
    """A reader of root-relative paths that only returns regular files whose real path is in ``root``."""
    real_root = root.resolve()

    def read(relative: str) -> str | None:
        path = (real_root / relative).resolve()
        if real_root not in path.parents or not path.is_file():
            return None
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    return read


def find_memory_files(cwd: Path) -> list[MemoryFile]:
    """CLAUDE.md files from the repository root down to ``cwd``, outermost first, each followed
    by the files its ``@path`` imports bring in (from inside the repository only).

    Each directory may have ``CLAUDE.md`` and ``.claude/CLAUDE.md``. Outside a repository
    only ``cwd`` itself is searched.
    """
    root = find_repo_root(cwd) or cwd
    chain = [cwd, *[p for p in cwd.parents if p == root or root in p.parents]]
    read = _read_inside(root)
    seen: set[str] = set()
    files: list[MemoryFile] = []
    for directory in reversed(chain):
        for candidate in (directory / "CLAUDE.md", directory / ".claude" / "CLAUDE.md"):
            relative = candidate.relative_to(root).as_posix()
            text = read(relative) if candidate.is_file() and relative not in seen else None
            if text is None:
                continue
            imported = expand_imports(relative, text, read, seen=seen)
            files.append(MemoryFile(candidate, _cut(text)))
            files += [MemoryFile(root / i.path, _cut(i.text)) for i in imported]
    return files


def trusted_memory(
    trusted: Mapping[str, str | None], ref: str, read: Callable[[str], str | None]
) -> list[MemoryFile]:
    """The CLAUDE.md files among ``trusted`` (root-relative path ⇒ text, read at ``ref``) and
    what their imports bring in; ``read`` fetches an imported root-relative path at ``ref``."""
    files: list[MemoryFile] = []
    seen: set[str] = set()
    for path, text in trusted.items():
        if not path.endswith("CLAUDE.md") or not text or path in seen:
            continue
        imported = expand_imports(path, text, read, seen=seen)
        files.append(MemoryFile(Path(f"{ref}:{path}"), _cut(text)))
        files += [MemoryFile(Path(f"{ref}:{i.path}"), _cut(i.text)) for i in imported]
    return files


def build_system_prompt(
    cwd: Path,
    *,
    add_dirs: tuple[Path, ...] = (),
    replace: str | None = None,
    append: str | None = None,
    memory: list[MemoryFile] | None = None,
    today: _dt.date | None = None,
    local_git: bool = True,
    edits: bool = True,
) -> str:
    """``--system-prompt`` or our default, then ``--append-system-prompt``, then CLAUDE.md files.

    ``local_git``: the agent works in someone's checkout (``run``), so it commits and pushes only
    when asked; False in the CI flows, whose prompt says who commits. ``edits``: whether a tool that
    changes files is offered (the rule about reading first is only said then).
    """
    if replace is not None:
        parts = [replace]
    else:
        extra = "".join(f" and {d}" for d in add_dirs)
        parts = [
            DEFAULT_SYSTEM_PROMPT.format(
                cwd=cwd,
                add_dirs=extra,
                git=LOCAL_GIT_RULE if local_git else "",
                edits=EDIT_RULE if edits else "",
                is_git="yes" if find_repo_root(cwd) else "no",
                platform=platform.system().lower(),
                today=(today or _dt.date.today()).isoformat(),
            )
        ]
    if append:
        parts.append(append)
    for item in find_memory_files(cwd) if memory is None else memory:
        parts.append(f"{MEMORY_HEADER.format(path=item.path)}\n\n{item.text.strip()}")
    return "\n\n".join(p for p in parts if p.strip())
