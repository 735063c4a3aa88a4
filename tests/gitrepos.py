"""Real git repositories for tests: a bare origin, clones of it, and ways to make it refuse pushes.

Setup goes through plain ``git`` (``sh``); the code under test uses ``runner.git``.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

GIT = ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "-c", "protocol.file.allow=always"]


def sh(cwd: Path, *args: str, input: str | None = None) -> str:
    """A git call for test setup; its stripped stdout."""
    done = subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True, input=input)
    return done.stdout.strip()


def isolate_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ~/.gitconfig or /etc/gitconfig (signing, hooks, an LFS filter) changes the results."""
    empty = tmp_path / "global.gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def make_origin(root: Path, files: dict[str, str], *, branch: str = "main") -> Path:
    """A bare repository at ``root/origin.git`` whose ``branch`` has one commit with ``files``."""
    bare = root / "origin.git"
    sh(root, "init", "-q", "--bare", "-b", branch, str(bare))
    seed = root / "seed"
    sh(root, "clone", "-q", str(bare), str(seed))
    for name, text in files.items():
        (seed / name).parent.mkdir(parents=True, exist_ok=True)
        (seed / name).write_text(text)
    sh(seed, "add", ".")
    sh(seed, "commit", "-qm", "init")
    sh(seed, "push", "-q", "origin", f"HEAD:{branch}")
    return bare


def clone(origin: Path, path: Path, *args: str, shallow: bool = False) -> Path:
    """``git clone [args] origin path``; ``shallow``: ``--depth 1``, as actions/checkout clones."""
    source = origin.as_uri() if shallow else str(origin)  # a local path ignores --depth
    sh(path.parent, "clone", "-q", *(("--depth", "1") if shallow else ()), *args, source, str(path))
    return path


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    """Write ``files``, commit them all; the new sha."""
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    sh(repo, "add", "-A")
    sh(repo, "commit", "-qm", message)
    return sh(repo, "rev-parse", "HEAD")


def push_from_elsewhere(origin: Path, branch: str, files: dict[str, str], message: str) -> str:
    """Someone else's push to ``branch`` (from a fresh clone); the sha they pushed."""
    other = origin.parent / f"other-{len(list(origin.parent.glob('other-*')))}"
    clone(origin, other, "-b", branch)
    sha = commit(other, files, message)
    sh(other, "push", "-q", "origin", f"HEAD:{branch}")
    return sha


def reject_pushes(origin: Path, *, only: str | None = None, message: str = "pushes are frozen") -> None:
    """A ``pre-receive`` hook in the bare ``origin`` that refuses every push, or only those
    updating branch ``only`` (what a protected branch looks like from the client)."""
    test = f'[ "$ref" = "refs/heads/{only}" ] && ' if only else ""
    hook = origin / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "while read old new ref; do\n"
        f'  {test}{{ echo "{message}: $ref" >&2; exit 1; }}\n'
        "done\n"
        "exit 0\n"
    )
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def remote_heads(origin: Path) -> dict[str, str]:
    """Branch name ⇒ sha, as the remote has them."""
    out = sh(origin, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads")
    return dict(line.split(" ") for line in out.splitlines())


def remote_log(origin: Path, branch: str, fmt: str = "%s") -> list[str]:
    """``git log`` of a remote branch, newest first."""
    return sh(origin, "log", f"--format={fmt}", branch).splitlines()


def path_without(tool: str, tmp_path: Path) -> str:
    """A PATH on which ``git`` is found but ``tool`` (e.g. ``git-lfs``) is not."""
    bin_dir = tmp_path / f"bin-without-{tool}"
    bin_dir.mkdir(exist_ok=True)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(directory) / "git"
        if candidate.is_file() and not (bin_dir / "git").exists():
            (bin_dir / "git").symlink_to(candidate)
    return str(bin_dir)
