"""Signing the runner's commits with an SSH key (``ssh_signing_key``), as ``git`` does it.

The key is written to a 0600 file in a fresh 0700 directory under the job's temporary directory
only for as long as the commits are made (after the agent's turn, so no tool ever sees it), and
removed on every way out of the ``with`` block. The settings that make git sign come on the
command line (``-c``), so they win over anything the agent wrote into ``.git/config``:
``gpg.format=ssh``, ``user.signingkey=<file>``, and ``gpg.ssh.program=ssh-keygen`` (a repository
could otherwise name any program to run with the key).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from runner.errors import GitError, UsageError

_KEY_HEADERS = ("-----BEGIN OPENSSH PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----")


@dataclass(frozen=True)
class CommitSigning:
    """How to sign: the ``-c`` settings for git and the flag for ``commit`` / ``rebase``."""

    key_path: Path

    def config(self) -> list[str]:
        """``-c`` arguments that make ``git commit`` sign with the key, whatever the repo's config says."""
        items = ("gpg.format=ssh", f"user.signingkey={self.key_path}", "gpg.ssh.program=ssh-keygen")
        return [arg for item in items for arg in ("-c", item)]

    @staticmethod
    def flag(signing: CommitSigning | None) -> str:
        """``--gpg-sign`` with a key, else ``--no-gpg-sign`` (a repo's ``commit.gpgsign`` is ignored)."""
        return "--gpg-sign" if signing is not None else "--no-gpg-sign"


def check_ssh_key(key: str) -> str:
    """The key with one trailing newline; a value that is not an SSH private key is a ``UsageError``."""
    text = key.replace("\r\n", "\n").strip()
    if not text.startswith(_KEY_HEADERS) or "PRIVATE KEY-----" not in text.splitlines()[-1]:
        raise UsageError(
            "ssh_signing_key is not an SSH private key (expected -----BEGIN OPENSSH PRIVATE KEY-----)",
            "store the whole private key file (ssh-keygen -t ed25519 -N '') in the secret",
        )
    return text + "\n"


@contextlib.contextmanager
def ssh_signing(key: str | None, directory: Path) -> Iterator[CommitSigning | None]:
    """A ``CommitSigning`` for ``key`` (None without one); the key file is gone when this ends."""
    if not key:
        yield None
        return
    text = check_ssh_key(key)
    directory.mkdir(parents=True, exist_ok=True)
    holder = Path(tempfile.mkdtemp(prefix="claude-signing-", dir=directory))  # 0700
    try:
        path = holder / "signing_key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise GitError(
                f"cannot write the SSH signing key under {directory}: {exc.strerror or exc}"
            ) from None
        yield CommitSigning(path)
    finally:
        shutil.rmtree(holder, ignore_errors=True)


__all__ = ["CommitSigning", "check_ssh_key", "ssh_signing"]
