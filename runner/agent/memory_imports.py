"""``@path`` imports in CLAUDE.md, as Claude Code reads them, confined to one tree.

A CLAUDE.md may pull in other files with ``@path/to/file`` (after a space or at the start of
a line, outside code spans and code blocks). The path is relative to the importing file;
imports nest up to ``MAX_IMPORT_DEPTH`` hops, and a file already included is not included
again, so a loop ends. Unlike Claude Code, a path that leaves the tree (absolute, ``~/``, or
``..`` above the root) is skipped: in CI the tree is the workspace, or the default branch
the runner trusts, and nothing outside it is the project's.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_IMPORT_DEPTH = 5  # Claude Code's limit
MAX_IMPORTS = 20  # files pulled in across all imports of one CLAUDE.md

# Claude Code's pattern: "@" after whitespace or at the start, then the path (escaped spaces allowed).
_IMPORT = re.compile(r"(?:^|\s)@((?:[^\s\\]|\\ )+)")


@dataclass(frozen=True)
class Imported:
    """One file an import brought in: its path relative to the tree's root, and its text."""

    path: str
    text: str


def import_paths(text: str) -> list[str]:
    """The ``@path`` targets written in ``text``'s prose, in order (not those in code)."""
    if "@" not in text:
        return []
    from markdown_it import MarkdownIt  # only a CLAUDE.md with an "@" pays for the parser

    found: list[str] = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type != "inline" or token.children is None:
            continue
        for child in token.children:
            if child.type == "text":
                found += [m.replace("\\ ", " ").rstrip(".,;:)") for m in _IMPORT.findall(child.content)]
    return found


def resolve(importer: str, target: str) -> str | None:
    """``target`` relative to the directory of ``importer`` (both root-relative), or None when it
    is absolute, starts at a home directory or climbs out of the root."""
    if target.startswith(("/", "~")) or not target:
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(importer), target))
    if joined == ".." or joined.startswith("../") or joined == ".":
        return None
    return joined


def expand_imports(
    path: str,
    text: str,
    read: Callable[[str], str | None],
    *,
    seen: set[str] | None = None,
    depth: int = MAX_IMPORT_DEPTH,
) -> list[Imported]:
    """The files ``text`` (the file at root-relative ``path``) imports, depth first, each once.

    ``read`` returns a root-relative file's text, or None when it does not exist or may not be
    read; such an import is left as written. ``seen``: root-relative paths already included
    (shared across the CLAUDE.md files of one prompt), updated.
    """
    seen = set() if seen is None else seen
    seen.add(posixpath.normpath(path))
    out: list[Imported] = []

    def walk(importer: str, body: str, level: int) -> None:
        if level > depth:
            return
        for target in import_paths(body):
            resolved = resolve(importer, target)
            if resolved is None or resolved in seen or len(out) >= MAX_IMPORTS:
                continue
            seen.add(resolved)
            content = read(resolved)
            if content is None:
                continue
            out.append(Imported(resolved, content))
            walk(resolved, content, level + 1)

    walk(posixpath.normpath(path), text, 1)
    return out
