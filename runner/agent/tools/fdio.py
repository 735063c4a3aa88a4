"""Open what was checked: file tools reach their file through directory descriptors.

``paths.resolve_in_roots`` resolves a path (symlinks included) and checks it; a directory of
that path swapped for a symlink afterwards would send a later open-by-name elsewhere. Here the
checked real path is walked again from its root, one component at a time, with
``O_DIRECTORY | O_NOFOLLOW`` relative to the parent's descriptor, and the file itself is opened
(or created, or renamed into place) with ``O_NOFOLLOW`` relative to its directory's descriptor.
A link met on the way means the tree changed since the check: the call is refused. The parent
directory's descriptor is checked once more where the kernel says it is (``/proc/self/fd``).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from runner.agent.tools.base import ToolContext, ToolError
from runner.agent.tools.paths import check_real, locate

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class Target:
    """A checked file path: its real path, the root it is under, and the components below the root."""

    raw: str  # as the model wrote it, for messages
    real: Path
    root: Path
    parts: tuple[str, ...]
    for_write: bool
    ctx: ToolContext

    @property
    def name(self) -> str:
        return self.parts[-1]


def target(raw: str, ctx: ToolContext, *, for_write: bool) -> Target:
    """Resolve and check ``raw`` (see ``paths.resolve_in_roots``); it must name something below a root."""
    real, root = locate(raw, ctx, for_write=for_write)
    parts = real.relative_to(root).parts
    if not parts:
        raise ToolError(f"{raw} is a directory, not a file; use LS to list it")
    return Target(raw, real, root, parts, for_write, ctx)


def _moved(t: Target, what: str) -> ToolError:
    return ToolError(
        f"refusing to use {t.raw}: {what} changed while it was being opened (a directory replaced by a "
        "symbolic link, or moved); try again"
    )


@contextmanager
def parent_dir(t: Target, *, create: bool = False) -> Iterator[int]:
    """A descriptor for the directory holding ``t``, walked from the root without following links."""
    fd = os.open(t.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in t.parts[:-1]:
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                with suppress(FileExistsError):
                    os.mkdir(name, 0o777, dir_fd=fd)
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _moved(t, f"`{name}`") from exc
                raise
            os.close(fd)
            fd = child
        _recheck(fd, t)
        yield fd
    finally:
        os.close(fd)


def _recheck(fd: int, t: Target) -> None:
    """Where the kernel says the directory is now must still pass the check (Linux; else a no-op)."""
    try:
        where = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return
    if not where.startswith("/") or where.endswith(" (deleted)"):
        raise _moved(t, "its directory")
    try:
        check_real(Path(where) / t.name, t.raw, t.ctx, for_write=t.for_write)
    except ToolError as exc:
        raise _moved(t, "its directory") from exc


def lstat(t: Target) -> os.stat_result | None:
    """The file's own status (a link is not followed), or None when it does not exist."""
    try:
        with parent_dir(t) as fd:
            return os.stat(t.name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def describe_non_file(t: Target, st: os.stat_result | None) -> ToolError | None:
    """The error for something that is not a regular file, or None when it is one."""
    if st is None:
        return ToolError(f"File does not exist: {t.raw}")
    if stat.S_ISDIR(st.st_mode):
        return ToolError(f"{t.raw} is a directory, not a file; use LS to list it")
    if stat.S_ISLNK(st.st_mode):
        return _moved(t, "the file")
    if not stat.S_ISREG(st.st_mode):
        return ToolError(f"{t.raw} is not a regular file (a device, socket or pipe)")
    return None


@contextmanager
def open_read(t: Target) -> Iterator[BinaryIO]:
    """The regular file ``t``, opened for reading through its directory's descriptor."""
    with parent_dir(t) as dfd:
        try:
            fd = os.open(t.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd)
        except FileNotFoundError:
            raise ToolError(f"File does not exist: {t.raw}") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _moved(t, "the file") from exc
            raise
    with os.fdopen(fd, "rb") as fh:
        problem = describe_non_file(t, os.fstat(fh.fileno()))
        if problem is not None:
            raise problem
        yield fh


def write_atomic(t: Target, data: bytes) -> None:
    """Replace ``t`` with ``data``: a temporary file in the same directory, renamed over it.

    Parent directories are created. An existing file keeps its permission bits. The rename does
    not follow a link at the file's name: it replaces the name, inside the checked directory.
    """
    with parent_dir(t, create=True) as dfd:
        try:
            old = os.stat(t.name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            old = None
        if old is not None and stat.S_ISDIR(old.st_mode):
            raise ToolError(f"{t.raw} is a directory; give a file path")
        tmp = f".{t.name}.{os.urandom(4).hex()}.tmp"
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=dfd
        )
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if old is not None and stat.S_ISREG(old.st_mode):
                    os.fchmod(fh.fileno(), stat.S_IMODE(old.st_mode))  # keep e.g. an executable bit
            os.replace(tmp, t.name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp, dir_fd=dfd)
            raise
