"""Merge bases and diffs, including in the shallow clones CI makes (``fetch-depth: 1``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runner.errors import GitError
from runner.git.core import check_ref_arg, run_git, verify_fingerprint
from runner.git.repo import deepen, is_shallow

DEFAULT_MAX_DIFF_BYTES = 200_000
# Commits fetched per step while looking for a merge base in a shallow clone, before the rest of
# the history is fetched at once (--unshallow): most branches fork within the first step.
DEEPEN_STEPS = (50, 200, 1000)


def _bounded(text: str, max_bytes: int) -> str:
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    cut = data[:max_bytes]
    if b"\n" in cut:
        cut = cut[: cut.rindex(b"\n") + 1]  # whole lines only
    kept = cut.decode(errors="ignore")
    return f"{kept}[... diff truncated: {len(cut)} of {len(data)} bytes shown ...]\n"


def _try_merge_base(cwd: Path, base_ref: str, head_ref: str) -> str | None:
    proc = run_git(["merge-base", check_ref_arg(base_ref), check_ref_arg(head_ref)], cwd, check=False)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def merge_base(cwd: Path, base_ref: str, head_ref: str = "HEAD") -> str:
    """The sha of ``git merge-base base head`` (see :func:`find_merge_base` for shallow clones)."""
    found = _try_merge_base(cwd, base_ref, head_ref)
    if found is None:
        raise GitError(
            f"no merge base between {base_ref} and {head_ref}",
            "fetch more history (the clone may be too shallow)",
        )
    return found


def find_merge_base(
    cwd: Path,
    base_ref: str,
    head_ref: str = "HEAD",
    *,
    refs: Sequence[str],
    remote: str = "origin",
    remote_url: str | None = None,
    token: str | None = None,
    username: str = "x-access-token",
    steps: Sequence[int] = DEEPEN_STEPS,
) -> str:
    """The merge base of ``base_ref`` and ``head_ref``, fetching history until it exists.

    A shallow clone (actions/checkout's ``fetch-depth: 1``) of a branch whose base moved on has
    no merge base until enough history is there. While the clone is shallow, each of ``steps``
    fetches that many more commits of ``refs`` (the remote's full refs behind ``base_ref`` and
    ``head_ref``: ``refs/heads/main``, ``refs/heads/feature``) with ``git fetch --deepen``; then
    ``--unshallow`` fetches the rest. A full clone without a merge base has unrelated histories:
    :class:`GitError`, as from :func:`merge_base`.
    """
    for step in (*steps, None):
        found = _try_merge_base(cwd, base_ref, head_ref)
        if found is not None or not is_shallow(cwd):
            break
        deepen(cwd, refs, by=step, remote=remote, remote_url=remote_url, token=token, username=username)
    return merge_base(cwd, base_ref, head_ref)


def _diff(cwd: Path, extra: Sequence[str], base_ref: str, head_ref: str) -> str:
    base = merge_base(cwd, base_ref, head_ref)
    # --no-ext-diff/--no-textconv: diff drivers from the workspace's config are programs too.
    args = ["diff", "--no-ext-diff", "--no-textconv", "--no-color", *extra, base, head_ref, "--"]
    return run_git(args, cwd).stdout


def merge_base_diff(
    cwd: Path, base_ref: str, head_ref: str = "HEAD", *, max_bytes: int = DEFAULT_MAX_DIFF_BYTES
) -> str:
    """The patch of ``head_ref`` against its merge base with ``base_ref`` (the branch's own changes).

    Cut at a line boundary after ``max_bytes``, with a closing note saying how much was shown.
    In a shallow clone, call :func:`find_merge_base` first.
    """
    return _bounded(_diff(cwd, [], base_ref, head_ref), max_bytes)


def diff_stat(
    cwd: Path, base_ref: str, head_ref: str = "HEAD", *, max_bytes: int = DEFAULT_MAX_DIFF_BYTES
) -> str:
    """``git diff --stat`` of ``head_ref`` against the merge base, bounded like :func:`merge_base_diff`."""
    return _bounded(_diff(cwd, ["--stat"], base_ref, head_ref), max_bytes)


def diff_names(cwd: Path, base_ref: str, head_ref: str = "HEAD") -> list[str]:
    """Paths changed by ``head_ref`` since its merge base with ``base_ref``."""
    out = _diff(cwd, ["--name-only", "-z"], base_ref, head_ref)
    return [p for p in out.split("\0") if p]


def range_diff(cwd: Path, start: str, end: str = "HEAD", *, max_bytes: int = DEFAULT_MAX_DIFF_BYTES) -> str:
    """The patch from commit ``start`` to ``end`` (what ``git apply`` needs to redo it on ``start``),
    binary changes included, bounded like :func:`merge_base_diff`."""
    args = ["-c", "core.quotePath=false", "diff", "--no-ext-diff", "--no-textconv", "--no-color", "--binary"]
    args += ["--src-prefix=a/", "--dst-prefix=b/"]
    return _bounded(run_git([*args, check_ref_arg(start), check_ref_arg(end), "--"], cwd).stdout, max_bytes)


def range_names(cwd: Path, start: str, end: str = "HEAD") -> list[str]:
    """Paths changed from commit ``start`` to ``end``."""
    args = ["diff", "--no-ext-diff", "--name-only", "-z", check_ref_arg(start), check_ref_arg(end), "--"]
    return [p for p in run_git(args, cwd).stdout.split("\0") if p]


def worktree_diff(
    cwd: Path,
    start_sha: str,
    *,
    unified: int = 3,
    expect_config: str | None = None,
    max_bytes: int = DEFAULT_MAX_DIFF_BYTES,
) -> str:
    """Everything changed since ``start_sha`` (local commits, edits, new files; ignored files
    excluded) as one patch, bounded like :func:`merge_base_diff`.

    New files only show once staged, so this runs ``git add -A``: it changes the index, never a
    commit (used where the runner must not commit, e.g. a fork's change). ``expect_config`` as in
    :func:`commit_all`: ``git add`` runs clean filters, which config can name. Renames are shown
    as a deletion and an addition; prefixes are forced to ``a/``/``b/`` and paths left unquoted.
    """
    verify_fingerprint(cwd, expect_config)
    run_git(["add", "-A", "--", "."], cwd)
    args = ["-c", "core.quotePath=false", "diff", "--cached", "--no-ext-diff", "--no-textconv"]
    args += ["--no-color", "--no-renames", "--src-prefix=a/", "--dst-prefix=b/", f"--unified={unified}"]
    return _bounded(run_git([*args, check_ref_arg(start_sha), "--"], cwd).stdout, max_bytes)
