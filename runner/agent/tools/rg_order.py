"""Grep's content and count output in a stable order without making rg single-threaded.

``rg --sort=path`` gives a stable order but walks the tree on one thread (about 1.7x slower
on two cores). rg searching in parallel writes each file's lines together, in whatever order
the files finish; sorting those blocks by path gives the same bytes ``--sort=path`` prints.

For that rg is asked to end each path with a NUL byte (``--null`` for counts, the field
separators ``\\x00:`` and ``\\x00-`` for lines), which no path and no searched line contains
(rg stops at a NUL byte: binary file). The NULs mark where a path ends, so names with a colon
or a newline are parsed whole; they are dropped (lines) or become ``:`` (counts) afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# rg's own separators with a NUL in front: the path ends at the first NUL of a line.
MARKED_LINE_ARGS = ("--field-match-separator=\\x00:", "--field-context-separator=\\x00-")
MARKED_COUNT_ARGS = ("--null",)
CONTEXT_SEPARATOR = b"--"  # rg's default --context-separator, between groups and between files


@dataclass(frozen=True)
class Ordered:
    """rg's output in ``--sort=path`` order, the files in it and (counts) their matching lines."""

    text: bytes
    files: int
    matches: int = 0


def walk_order(path: bytes) -> bytes:
    """The key that sorts paths as ``rg --sort=path`` visits them: by name within a directory,
    a directory's files before its next sibling. "/" becomes the smallest byte, so ``a/z``
    comes before ``a-b`` and ``a.txt``, as it does in the walk."""
    return path.replace(b"/", b"\0")


# What rg says of a binary file (without a NUL: not one of its lines): "PATH: binary file matches
# (found ...)" for a file named on the command line, "PATH: WARNING: stopped searching ..." else.
_BINARY_NOTE = re.compile(
    rb"(.*): (?:binary file matches|WARNING: stopped searching binary file after match) \(found", re.DOTALL
)


def _blocks(raw: bytes, separator: bytes | None) -> dict[bytes, list[bytes]]:
    """Each file's output lines (marked with their NUL), by path: line by line, for any name."""
    blocks: dict[bytes, list[bytes]] = {}
    current: list[bytes] = []
    path: bytes | None = None
    carry = b""  # the start of a path that holds a newline
    held = False  # a separator line seen, not yet known to be inside a file or between two
    pieces = raw.split(b"\n")
    if pieces and not pieces[-1]:
        pieces.pop()
    for piece in pieces:
        if carry:
            piece, carry = carry + b"\n" + piece, b""
        end = piece.find(b"\0")
        if end >= 0:
            line_path = piece[:end]
        elif piece == separator:
            held = True
            continue
        elif note := _BINARY_NOTE.match(piece):  # rg's note on a file, in the file's block
            line_path = note[1]
        else:
            carry = piece
            continue
        if line_path != path:
            path = line_path
            current = blocks.setdefault(path, [])
            if current and separator is not None:  # the same file again: keep its groups apart
                current.append(separator)
        elif held and separator is not None:
            current.append(separator)
        held = False
        current.append(piece)
    return blocks


def _by_blocks(raw: bytes, separator: bytes | None) -> tuple[bytes, int]:
    blocks = _blocks(raw, separator)
    between = separator + b"\n" if separator is not None else b""
    text = between.join(b"\n".join(blocks[path]) + b"\n" for path in sorted(blocks, key=walk_order))
    return text, len(blocks)


_LINE_PATH = re.compile(rb"^\0?([^\0\n]+)\0", re.MULTILINE)  # a line's path, after a separator mark
_COUNT = re.compile(rb"\0(\d+)\n")


def _by_lines(raw: bytes, context: bool) -> tuple[bytes, int] | None:
    """The same without a Python step per line (a stable sort of the lines by their path), or
    None when a name holds a newline. Each separator line is folded into the line after it as a
    leading NUL; with every file's block made to start with one, the sorted text has one between
    files and keeps those between groups of a file."""
    if context:
        raw = (b"\n" + CONTEXT_SEPARATOR + b"\n" + raw).replace(b"\n--\n", b"\n\0")[1:]
    lines = raw.split(b"\n")
    lines.pop()  # after the last newline
    paths = _LINE_PATH.findall(raw)
    if len(paths) != len(lines):
        return None
    keys = b"\n".join(paths).replace(b"/", b"\0").split(b"\n")  # walk_order, all at once
    text = b"\n".join(map(lines.__getitem__, sorted(range(len(lines)), key=keys.__getitem__))) + b"\n"
    if context:
        text = text[1:].replace(b"\n\0", b"\n" + CONTEXT_SEPARATOR + b"\n")
    return text, len(set(paths))


def _counts_by_lines(raw: bytes) -> Ordered | None:
    """``rg --count --null`` lines ("path NUL count") in path order, or None when a name holds a
    newline. Each whole line is its own key: "/" and the path's end both sort first."""
    lines = raw.split(b"\n")
    lines.pop()  # after the last newline
    if raw.count(b"\0") != len(lines):
        return None
    keys = raw.replace(b"/", b"\0").split(b"\n")
    text = b"\n".join(map(lines.__getitem__, sorted(range(len(lines)), key=keys.__getitem__))) + b"\n"
    counts = raw.replace(b"\0", b"\n").split(b"\n")[1::2]
    return Ordered(text.replace(b"\0", b":"), len(lines), sum(map(int, counts)))


def in_path_order(raw: bytes, *, context: bool, count: bool) -> Ordered:
    """Marked parallel output of ``rg --no-heading --with-filename`` (``--count`` when ``count``;
    with ``context`` when -A/-B/-C asked for separators) as ``rg --sort=path`` prints it."""
    if not raw:
        return Ordered(b"", 0)
    if not raw.endswith(b"\n"):
        raw += b"\n"
    if count:
        fast = _counts_by_lines(raw)
        if fast is not None:
            return fast
    separator = CONTEXT_SEPARATOR if context else None
    text, files = _by_lines(raw, context) or _by_blocks(raw, separator)
    if not count:
        return Ordered(text.replace(b"\0", b""), files)
    return Ordered(text.replace(b"\0", b":"), files, sum(map(int, _COUNT.findall(raw))))
