"""Glob's listing: the files matching a pattern, the newest first, with rg doing the stat.

Newest-first costs a stat per matching file, as much CPU as rg's whole walk; done in Python it
added another ~0.5 µs a file (the stat result object). ``rg --sortr=modified`` stats and sorts
in Rust, but on one thread, so the tree is split between several rg processes by its top-level
entries (``--glob '!/name'`` leaves the others out; globs given later win in rg, and a negated
glob never turns the user's pattern into a whitelist). Each prints its files newest first; only
the head of each list is stat'ed again here, to order ties exactly as Glob always has: by the
float ``st_mtime``, then by path bytes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from runner.agent.tools.base import ToolContext
from runner.agent.tools.mtimes import newest_first, stamp
from runner.agent.tools.rg import run_rgs

MAX_PARTS = 4
MAX_EXCLUDED = 256  # top-level names excluded per process; a wider top level is not split
_PLAIN_NAME = re.compile(r"[\w.@%+=:,~ -]+")  # a name that needs no escaping in an rg glob


@dataclass(frozen=True)
class Listing:
    """The newest files (relative to the base, as rg prints them), how many matched, whether
    rg's output was cut, and rg's exit code and stderr when nothing was listed."""

    newest: list[bytes]
    count: int
    cut: bool
    code: int
    err: str


def _parts(base: Path, ways: int) -> list[list[str]]:
    """For each rg process, the globs that leave out the other processes' top-level entries:
    directories dealt round-robin, files all to the first. One part when the tree cannot be split."""
    if ways < 2:
        return [[]]
    try:
        with os.scandir(base) as entries:
            top = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    except OSError:
        return [[]]
    if len(top) > MAX_EXCLUDED or not all(_PLAIN_NAME.fullmatch(name) for name, _ in top):
        return [[]]
    dirs = sorted(name for name, is_dir in top if is_dir and name != ".git")
    files = [name for name, is_dir in top if not is_dir]
    ways = min(ways, len(dirs))
    if ways < 2:
        return [[]]
    owned = [dirs[i::ways] for i in range(ways)]
    owned[0] = owned[0] + files
    return [[f"!/{name}" for j in range(ways) if j != i for name in owned[j]] for i in range(ways)]


def _head(listed: bytes, prefix: bytes, limit: int) -> tuple[list[float], list[bytes]]:
    """The entries of rg's newest-first list (paths ending with a NUL) that can be among the
    ``limit`` newest, stat'ed: the first ``limit`` that still exist and every one after them
    with the same time. Only that head is split into paths."""
    mtimes: list[float] = []
    kept: list[bytes] = []
    start = 0
    while start < len(listed):
        end = start
        for _ in range(limit + 1):  # the next limit + 1 paths
            end = listed.find(b"\0", end) + 1 or len(listed)
            if end == len(listed):
                break
        block = listed[start:end].split(b"\0")
        start = end
        block_mtimes, block_kept = stamp([path for path in block if path], prefix)
        mtimes += block_mtimes
        kept += block_kept
        if len(kept) > limit and mtimes[-1] < mtimes[limit - 1]:
            break
    return mtimes, kept


def newest_files(pattern: str, base: Path, ctx: ToolContext, limit: int) -> Listing:
    """The ``limit`` newest files under ``base`` matching ``pattern`` (hidden and ignored ones
    included, ``.git`` never), newest first, ties by path."""
    parts = _parts(base, min(MAX_PARTS, os.cpu_count() or 1))

    # -0: a name holding a newline stays one path; --sortr: rg stats and sorts (on one thread).
    argv = ["--files", "--null", "--sortr=modified", "--no-ignore", "--hidden"]
    argv += ["--glob", pattern, "--glob", "!.git"]
    argvs = [[*argv, *(arg for name in excluded for arg in ("--glob", name))] for excluded in parts]
    runs = run_rgs(argvs, ctx, base, terminator=b"\0")
    prefix = os.fsencode(str(base).rstrip(os.sep) + os.sep)
    mtimes: list[float] = []
    paths: list[bytes] = []
    count = 0
    for run in runs:
        count += run.out.count(b"\0")
        run_mtimes, run_paths = _head(run.out, prefix, limit)
        mtimes += run_mtimes
        paths += run_paths
    # A top-level entry made while the processes start is listed by each: shown once.
    newest = list(dict.fromkeys(newest_first(mtimes, paths)))[:limit]
    failed = next((run for run in runs if run.code == 2), runs[0])
    return Listing(newest, count, any(run.cut for run in runs), failed.code, failed.err)
