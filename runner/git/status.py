"""What changed in the worktree: paths, files too large to push, edits inside submodules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.git.core import run_git

# GitHub refuses a push that carries a file over 100 MiB; other hosts set their own limit.
DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024


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


@dataclass(frozen=True)
class LargeFile:
    """A changed file too large for the host to accept."""

    path: str
    size: int


def oversized_files(cwd: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[LargeFile]:
    """Changed or new files (ignored ones excluded) larger than ``max_bytes``, sorted by path.

    Committing one would make the whole push fail (GitHub: "this exceeds GitHub's file size
    limit of 100.00 MB"), so they are left out of the commit instead. Symbolic links are not
    followed: git stores a link, not its target.
    """
    large = []
    for path in changed_files(cwd):
        file = cwd / path
        if file.is_symlink() or not file.is_file():
            continue
        size = file.stat().st_size
        if size > max_bytes:
            large.append(LargeFile(path, size))
    return large


@dataclass(frozen=True)
class SubmoduleChange:
    """A submodule whose own worktree has edits (which a commit in this repository cannot hold)."""

    path: str
    modified: bool  # tracked files inside it changed
    untracked: bool  # new files inside it


def submodule_changes(cwd: Path) -> list[SubmoduleChange]:
    """Submodules with modified or new files inside them, from ``git status --porcelain=v2``.

    ``git add -A`` in this repository records only which commit a submodule is at, so edits in
    its files would otherwise vanish silently. (A submodule moved to another commit is an
    ordinary change here and is committed.)
    """
    out = run_git(["status", "--porcelain=v2", "-z", "--ignore-submodules=none"], cwd)
    changes = []
    for entry in out.stdout.split("\0"):
        # "1 XY S<c><m><u> mH mI mW hH hI path" for a changed submodule ("N..." for a file).
        fields = entry.split(" ", 8)
        if len(fields) == 9 and fields[0] == "1" and fields[2].startswith("S"):
            flags = fields[2]
            if flags[2] == "M" or flags[3] == "U":
                changes.append(SubmoduleChange(fields[8], flags[2] == "M", flags[3] == "U"))
    return changes
