"""Modification times for the paths rg lists: Glob's newest-first order and Grep's files mode.

A stat per path is most of Glob's time (about 1.5 µs here, two thirds of it in the kernel).
Paths stay ``bytes`` (rg's own: no decoding, no encoding back for the system call) and are
stamped in blocks while rg still walks, with C-level loops (``map``). Threads do not pay: the GIL
is handed over at every ``lstat``, which cost more CPU than the overlap saved (measured in
bench/README.md). Only Glob's candidates for the newest ``limit`` are kept per block.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Iterable
from itertools import compress
from operator import attrgetter

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
    """The ``limit`` newest of the paths handed to ``add`` (relative to ``base``), stamped as they
    arrive: only the candidates of each block are kept. A path gone before its stat is not counted."""

    def __init__(self, base: str, limit: int) -> None:
        self.prefix = os.fsencode(base.rstrip(os.sep) + os.sep)
        self.limit = limit
        self.listed = 0  # paths handed to add, including any gone since
        self.count = 0  # paths stamped
        self._mtimes: list[float] = []
        self._paths: list[bytes] = []

    def add(self, paths: list[bytes]) -> None:
        """Stamp a block of listed paths."""
        self.listed += len(paths)
        mtimes, kept = stamp(paths, self.prefix)
        self.count += len(kept)
        mtimes, kept = candidates(mtimes, kept, self.limit)
        self._mtimes += mtimes
        self._paths += kept

    def newest(self) -> list[bytes]:
        """The ``limit`` newest paths, newest first (ties in byte order)."""
        mtimes, paths = candidates(self._mtimes, self._paths, self.limit)
        return newest_first(mtimes, paths)[: self.limit]
