"""Modification times for the paths rg lists: the head of Glob's lists, Grep's files mode.

Paths stay ``bytes`` (rg's own: no decoding, and no encoding back for the system call) and are
stat'ed with C-level loops (``map``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
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


def newest_first(mtimes: Iterable[float], paths: Iterable[bytes]) -> list[bytes]:
    """``paths`` newest first; paths with the same time in byte order."""
    return [path for _, path in sorted(zip((-m for m in mtimes), paths, strict=True))]
