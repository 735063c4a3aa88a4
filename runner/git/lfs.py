"""Git LFS: the runner's commits store LFS files as pointers, and it uploads their objects.

Hooks are switched off on every git call (see :mod:`runner.git.core`), so the ``pre-push`` hook
that uploads LFS objects never runs, and system configuration (where ``git lfs install`` often
puts the filter) is not read: the runner names the filter and runs ``git lfs push`` itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runner.git.core import check_ref_arg, run_git
from runner.git.credentials import auth_env, check_remote_url

# What `git lfs install` configures, for the `git add` of a commit (no smudge: nothing is checked out).
LFS_FILTER_CONFIG = (
    "filter.lfs.clean=git-lfs clean -- %f",
    "filter.lfs.process=git-lfs filter-process",
    "filter.lfs.required=true",
)
UPLOAD_TIMEOUT = 1800.0
MAX_POINTER_BYTES = 1024  # git-lfs's own limit on what it reads as a pointer
_POINTER_VERSION = "version https://git-lfs.github.com/spec/v1"


def lfs_installed(cwd: Path) -> bool:
    """Whether ``git lfs`` runs here (the ``git-lfs`` binary on PATH)."""
    return run_git(["lfs", "version"], cwd, check=False).returncode == 0


def lfs_paths(cwd: Path, paths: Sequence[str]) -> list[str]:
    """Those of ``paths`` that ``.gitattributes`` stores with Git LFS (``filter=lfs``)."""
    if not paths:
        return []
    out = run_git(["check-attr", "-z", "--stdin", "filter"], cwd, input="\0".join(paths) + "\0").stdout
    fields = out.split("\0")  # path, attribute, value, path, ...
    return [fields[i] for i in range(0, len(fields) - 2, 3) if fields[i + 2] == "lfs"]


def pointer_oids(cwd: Path, paths: Sequence[str], rev: str = "HEAD") -> list[str]:
    """The LFS object ids that ``paths`` point to at ``rev`` (files that are not pointers, or
    were deleted, are skipped)."""
    oids = []
    for path in paths:
        blob = f"{check_ref_arg(rev)}:{path}"
        size = run_git(["cat-file", "-s", blob], cwd, check=False).stdout.strip()
        if not size.isdigit() or int(size) > MAX_POINTER_BYTES:
            continue  # deleted, or a file committed whole (never read into memory)
        lines = run_git(["cat-file", "blob", blob], cwd).stdout.splitlines()
        if lines and lines[0] == _POINTER_VERSION:
            oids += [ln.removeprefix("oid sha256:") for ln in lines if ln.startswith("oid sha256:")]
    return list(dict.fromkeys(oids))


def lfs_push(
    cwd: Path,
    oids: Sequence[str],
    *,
    remote_url: str,
    token: str | None,
    username: str = "x-access-token",
    timeout: float = UPLOAD_TIMEOUT,
) -> None:
    """Upload the LFS objects ``oids`` to ``remote_url``'s LFS store (``git lfs push --object-id``).

    The token goes as in :func:`runner.git.push`. The endpoint is pinned to the remote's own
    (``<url>.git/info/lfs``): an ``.lfsconfig`` in the worktree, which the agent could have
    written, cannot send the objects elsewhere. A local path is given to git-lfs as a
    ``file://`` URL (the form it uploads to).
    """
    if not oids:
        return
    check_remote_url(remote_url)
    url = Path(remote_url).as_uri() if remote_url.startswith("/") else remote_url
    config = ["lfs.locksverify=false"]
    endpoint = url
    if url.startswith(("https://", "http://")):
        base = url.rstrip("/")
        endpoint = (base if base.endswith(".git") else base + ".git") + "/info/lfs"
        config += [f"lfs.url={endpoint}", f"lfs.pushurl={endpoint}"]
    args = [arg for item in config for arg in ("-c", item)]
    run_git(
        [*args, "lfs", "push", "--object-id", url, "--stdin"],
        cwd,
        input="\n".join(oids) + "\n",
        extra_env=auth_env(endpoint, token, username),  # the batch API; uploads carry their own auth
        redact=[token] if token else [],
        timeout=timeout,
    )
