"""Files named by path in ``claude_args`` and inputs, read from a trusted tree.

On a change-request run the checkout is the change's head: a file it names (``--settings
.claude/ci.json``, ``--price-table prices.json``, a ``settings`` input that is a path) would be
the change's to choose, so a PR could grant itself Bash or zero the prices. So a path inside the
checkout is read from the default branch (a ``TrustedTree``); a path the default branch does not
have is refused with one line saying so. A path outside the checkout (a file an earlier step of the
workflow wrote, into ``$RUNNER_TEMP`` say) is the workflow's own and is read from disk as given.
Without a tree (``claude-runner run``, runs that are not on a change request) files are read from
disk, relative to the workspace.

``read_named_file`` is the one way to read such a file; a flag added later that names a file
(MCP configs, hooks, plugins) reads it through it too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runner.errors import SettingsError


@dataclass(frozen=True)
class TrustedTree:
    """Where files inside the checkout are read from: ``ref`` (the default branch), through
    ``read`` (a repository path => its text at ``ref``, None when it is not there)."""

    ref: str
    workspace: Path
    read: Callable[[str], str | None]


def repository_path(value: str | Path, workspace: Path) -> str | None:
    """``value`` (relative to ``workspace``, or absolute) as a path inside the repository, or None
    when it points outside the checkout. Decided on the words of the path, not by following
    symlinks: a link in the checkout is the change's too, and the tree is read instead."""
    path = Path(os.path.expanduser(str(value)))
    full = Path(os.path.normpath(path if path.is_absolute() else workspace / path))
    for root in {Path(os.path.normpath(workspace)), workspace.resolve()}:
        if full == root or root in full.parents:
            return full.relative_to(root).as_posix()
    return None


def read_named_file(value: str | Path, what: str, tree: TrustedTree | None, workspace: Path) -> str:
    """The text of the file ``value`` that ``what`` (``--settings``, ``the settings input``...)
    names: from ``tree`` when it is inside the checkout and a tree is given, else from disk.
    Raises ``SettingsError`` with one line when it cannot be read."""
    inside = repository_path(value, workspace)
    if tree is not None and inside is not None:
        text = tree.read(inside)
        if text is None:
            raise SettingsError(
                f"{what} {value}: not on the default branch {tree.ref}; on change-request runs files "
                "named in claude_args and inputs are read from there, never from the change",
                f"commit {inside} to {tree.ref}, or give a path outside the checkout",
            )
        return text
    path = Path(os.path.expanduser(str(value)))
    path = path if path.is_absolute() else workspace / path
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SettingsError(f"{what} {value}: cannot read it ({reason})") from exc


def read_settings_value(value: str, what: str, tree: TrustedTree | None, workspace: Path) -> str:
    """A settings value as Claude Code's ``--settings`` takes it: inline JSON, or a file's path."""
    raw = value.strip()
    return raw if raw.startswith("{") else read_named_file(raw, what, tree, workspace)


__all__ = ["TrustedTree", "read_named_file", "read_settings_value", "repository_path"]
