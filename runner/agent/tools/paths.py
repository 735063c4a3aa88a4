"""Path confinement: every file tool touches only the workspace and its --add-dir roots.

Paths are checked after resolving symlinks and ``..``, so a link that points out of the
workspace is refused like the absolute path it leads to. Writes into ``.git`` are refused
at any depth: the runner owns the repository metadata (hooks, config, refs) and a write
there could run code or redirect a push.
"""

from __future__ import annotations

import os
from pathlib import Path

from runner.agent.tools.base import ToolContext, ToolError


def _real(path: Path | str) -> Path:
    # realpath (not Path.resolve(strict=True)) so a file that does not exist yet resolves
    # through its existing parents; dangling symlinks resolve to their target.
    return Path(os.path.realpath(path))


def _roots(ctx: ToolContext) -> tuple[Path, ...]:
    return tuple(_real(root) for root in ctx.roots)


def _within(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _describe_roots(ctx: ToolContext) -> str:
    text = f"the workspace {ctx.cwd}"
    if ctx.add_dirs:
        text += " (or --add-dir " + ", ".join(str(d) for d in ctx.add_dirs) + ")"
    return text


def resolve_in_roots(raw: str, ctx: ToolContext, *, for_write: bool = False) -> Path:
    """The real path of ``raw`` (absolute, or relative to ``ctx.cwd``) if the tools may use it.

    Raises ``ToolError`` with a one-line, actionable message when the path leaves every root,
    or, for writes, when it is inside a ``.git`` directory (or is a ``.git`` file).
    """
    return locate(raw, ctx, for_write=for_write)[0]


def locate(raw: str, ctx: ToolContext, *, for_write: bool = False) -> tuple[Path, Path]:
    """Like ``resolve_in_roots``, with the (real) root the path is under."""
    if not raw or not raw.strip():
        raise ToolError("the path is empty; give a file path inside the workspace")
    if "\0" in raw:
        raise ToolError("the path contains a NUL byte")
    candidate = Path(os.path.expanduser(raw)) if raw.startswith("~") else Path(raw)
    if not candidate.is_absolute():
        candidate = ctx.cwd / candidate
    real = _real(candidate)
    via = f" (it resolves to {real})" if os.path.normpath(candidate) != str(real) else ""
    return real, check_real(real, raw, ctx, for_write=for_write, via=via)


def check_real(real: Path, raw: str, ctx: ToolContext, *, for_write: bool, via: str = "") -> Path:
    """The root that holds the real path ``real``, or ``ToolError`` (outside, or in .git for writes)."""
    root = next((r for r in _roots(ctx) if _within(real, r)), None)
    if root is None:
        action = "written" if for_write else "read"
        raise ToolError(
            f"path {raw} is outside {_describe_roots(ctx)}{via}; "
            f"only files under the workspace and --add-dir directories can be {action}"
        )
    if for_write and any(part.casefold() == ".git" for part in real.relative_to(root).parts):
        # casefold: on case-insensitive filesystems ".GIT/hooks" is the same directory.
        raise ToolError(
            f"refusing to write {raw}: it is inside .git, which the runner manages; "
            "change working-tree files instead (the runner commits them)"
        )
    return root


def display_path(path: Path, ctx: ToolContext) -> str:
    """``path`` relative to the workspace when it is inside it (shorter for the model), else absolute."""
    cwd = _real(ctx.cwd)
    if path == cwd:
        return "."
    if path.is_relative_to(cwd):
        return path.relative_to(cwd).as_posix()
    return str(path)
