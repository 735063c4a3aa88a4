"""What changed between two commits, file by file with contents: for commits made through a code
host's API (GitHub's ``createCommitOnBranch``, GitLab's Commits API) instead of a push."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from runner.errors import GitError
from runner.git.core import _SAFETY_CONFIG, _git_env, check_ref_arg, run_git

REGULAR, EXECUTABLE, SYMLINK, GITLINK = "100644", "100755", "120000", "160000"


@dataclass(frozen=True)
class FileChange:
    """One path: its new contents (None when deleted), its new mode, and whether it existed before."""

    path: str
    contents: bytes | None
    mode: str = REGULAR
    existed: bool = True

    @property
    def size(self) -> int:
        """Bytes of new contents (0 for a deletion)."""
        return len(self.contents or b"")


def _blob(cwd: Path, sha: str) -> bytes:
    argv = [
        "git",
        "--no-pager",
        *(a for item in _SAFETY_CONFIG for a in ("-c", item)),
        "cat-file",
        "blob",
        sha,
    ]
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=_git_env(None), capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"cannot read blob {sha[:12]}: {exc}") from None
    if proc.returncode != 0:
        raise GitError(f"cannot read blob {sha[:12]}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def changes_between(cwd: Path, base: str, head: str = "HEAD") -> list[FileChange]:
    """Every file that differs from ``base`` to ``head`` (renames as a deletion and an addition)."""
    args = ["diff-tree", "-r", "-z", "--no-renames", "--raw", check_ref_arg(base), check_ref_arg(head)]
    out = run_git(args, cwd).stdout
    fields = out.split("\0")
    changes: list[FileChange] = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        if not meta.startswith(":"):
            continue
        old_mode, new_mode, _old, new_sha, status = meta[1:].split(" ")
        if status.startswith("D"):
            changes.append(FileChange(path, None, old_mode))
        else:
            contents = b"" if new_mode == GITLINK else _blob(cwd, new_sha)
            changes.append(FileChange(path, contents, new_mode, existed=not status.startswith("A")))
    return changes


def is_ancestor(cwd: Path, ancestor: str, descendant: str = "HEAD") -> bool:
    """Whether ``ancestor`` is ``descendant`` or one of its ancestors (both must be known here)."""
    args = ["merge-base", "--is-ancestor", check_ref_arg(ancestor), check_ref_arg(descendant)]
    return run_git(args, cwd, check=False).returncode == 0


def commit_message(cwd: Path, rev: str = "HEAD") -> tuple[str, str]:
    """The subject line and the body of ``rev``'s message."""
    message = run_git(["log", "-1", "--format=%B", check_ref_arg(rev)], cwd).stdout.strip()
    subject, _, body = message.partition("\n")
    return subject.strip(), body.strip()


__all__ = [
    "EXECUTABLE",
    "GITLINK",
    "REGULAR",
    "SYMLINK",
    "FileChange",
    "changes_between",
    "commit_message",
    "is_ancestor",
]
