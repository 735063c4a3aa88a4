"""Modification times for the paths rg lists: Glob's newest-first order and Grep's files mode.

A stat per path is most of Glob's time. Paths stay ``bytes`` (rg's own, no decoding, no
encoding back for the system call) and are stamped in blocks by two threads while rg still walks:
``lstat`` releases the GIL during the system call, so one thread builds results while the other
waits in the kernel. Only Glob's candidates for the newest ``limit`` are kept per block.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import compress
from operator import attrgetter

STAMP_THREADS = 2

_mtime_of = attrgetter("st_mtime")


def _stat_all(stat: Callable[[bytes], os.stat_result], paths: list[bytes]) -> list[float]:
    """Every path's mtime; raises OSError if one is gone."""
    return list(map(_mtime_of, map(stat, paths)))


def _stat_each(
    stat: Callable[[bytes], os.stat_result], paths: list[bytes], missing: float | None
) -> tuple[list[float], list[bytes]]:
    """Slower: the paths that can be stat'ed with their mtimes; a gone one gets ``missing``, or
    is left out when ``missing`` is None."""
    mtimes, kept = [], []
    for path in paths:
        try:
            mtimes.append(stat(path).st_mtime)
        except OSError:
            if missing is None:
                continue
            mtimes.append(missing)
        kept.append(path)
    return mtimes, kept


def stamp(
    paths: list[bytes], prefix: bytes = b"", *, follow: bool = False, missing: float | None = None
) -> tuple[list[float], list[bytes]]:
    """The mtimes of ``prefix + path`` for each of ``paths`` (``lstat``, or ``stat`` with
    ``follow``), and the paths they belong to: a path gone meanwhile gets ``missing``, or is left
    out when ``missing`` is None."""
    stat = os.stat if follow else os.lstat
    full = [prefix + path for path in paths] if prefix else paths
    try:
        return _stat_all(stat, full), paths
    except OSError:
        mtimes, kept = _stat_each(stat, full, missing)
        return mtimes, [path[len(prefix) :] for path in kept]


def candidates(mtimes: list[float], paths: list[bytes], limit: int) -> tuple[list[float], list[bytes]]:
    """The entries that can be among the ``limit`` newest: every one at or above the
    ``limit``-th newest time (ties included, so the order by path can settle them)."""
    if len(mtimes) <= limit:
        return mtimes, paths
    cut = heapq.nlargest(limit, mtimes)[-1]
    keep = list(map(cut.__le__, mtimes))
    return list(compress(mtimes, keep)), list(compress(paths, keep))


def newest_first(mtimes: Iterable[float], paths: Iterable[bytes]) -> list[bytes]:
    """``paths`` newest first; paths with the same time in byte order."""
    return [path for _, path in sorted(zip((-m for m in mtimes), paths, strict=True))]


class NewestFiles:
    """The ``limit`` newest of the paths handed to ``add`` (relative to ``base``), stamped in
    blocks by background threads while more arrive. A path gone before its stat is not counted."""

    def __init__(self, base: str, limit: int) -> None:
        self.prefix = os.fsencode(base.rstrip(os.sep) + os.sep)
        self.limit = limit
        self.listed = 0  # paths handed to add, including any gone since
        self._pool = ThreadPoolExecutor(max_workers=max(1, STAMP_THREADS), thread_name_prefix="glob-stat")
        self._blocks: list[Future[tuple[int, list[float], list[bytes]]]] = []

    def add(self, paths: list[bytes]) -> None:
        """Queue a block of listed paths for stamping."""
        self.listed += len(paths)
        if STAMP_THREADS == 0:
            done: Future[tuple[int, list[float], list[bytes]]] = Future()
            done.set_result(self._stamp_block(paths))
            self._blocks.append(done)
            return
        self._blocks.append(self._pool.submit(self._stamp_block, paths))

    def _stamp_block(self, paths: list[bytes]) -> tuple[int, list[float], list[bytes]]:
        mtimes, kept = stamp(paths, self.prefix)
        return (len(kept), *candidates(mtimes, kept, self.limit))

    def newest(self) -> tuple[list[bytes], int]:
        """The ``limit`` newest paths, newest first (ties in byte order), and how many exist."""
        count, mtimes, paths = 0, [], []
        try:
            for block in self._blocks:
                stamped, block_mtimes, block_paths = block.result()
                count += stamped
                mtimes += block_mtimes
                paths += block_paths
        finally:
            self._pool.shutdown(wait=True)
        mtimes, paths = candidates(mtimes, paths, self.limit)
        return newest_first(mtimes, paths)[: self.limit], count

    def close(self) -> None:
        """Stop the threads at once: blocks not started yet are dropped."""
        self._pool.shutdown(wait=True, cancel_futures=True)
