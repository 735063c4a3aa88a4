"""What changed in the worktree."""

from __future__ import annotations

from pathlib import Path

from runner.git.core import run_git


def _status_entries(cwd: Path) -> list[str]:
    # -z: paths verbatim (no quoting); untracked files listed one by one; .gitignore respected.
    out = run_git(["status", "--porcelain=v1", "-z", "--untracked-files=all"], cwd).stdout
    fields = out.split("\0")
    paths: list[str] = []
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":  # a rename/copy is followed by its source path
            paths.append(fields[i])
            i += 1
    return paths


def has_changes(cwd: Path) -> bool:
    """Whether the worktree or index differs from HEAD (untracked files count, ignored ones do not)."""
    return bool(_status_entries(cwd))


def changed_files(cwd: Path) -> list[str]:
    """Paths changed against HEAD, untracked included, sorted (both sides of a staged rename)."""
    return sorted(set(_status_entries(cwd)))
