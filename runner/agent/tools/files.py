"""Read, Write, Edit and MultiEdit: Claude Code's file tools, confined to the workspace.

Text is decoded as UTF-8 with ``surrogateescape`` when it is edited, so bytes that are not
valid UTF-8 are written back unchanged; line endings are left as they are (a CRLF file
stays CRLF even though the model writes ``\\n``). Writes go through a temporary file and a
rename, so a failed edit never leaves half a file behind. Files are opened through directory
descriptors (``fdio.py``): what the path check saw is what is read or written.
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, ClassVar

from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult, bool_arg, int_arg, str_arg
from runner.agent.tools.fdio import Target, describe_non_file, lstat, open_read, target, write_atomic
from runner.agent.tools.notebook import render_notebook
from runner.agent.tools.paths import display_path

MAX_LINES = 2000
MAX_LINE_CHARS = 2000
MAX_OUTPUT_BYTES = 256 * 1024
# The API refuses images over 5 MB once base64-encoded, which is 4/3 of the file size.
MAX_IMAGE_BYTES = 5 * 1024 * 1024 * 3 // 4
MAX_PDF_BYTES = 10 * 1024 * 1024
SNIPPET_CONTEXT = 3
SNIPPET_MAX_LINES = 30

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})
_FILE_PATH = {"type": "string", "description": "Absolute path, or relative to the workspace"}


def sniff_media_type(head: bytes) -> str | None:
    """The media type from the file's magic bytes: the extension can lie, the API checks."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _printable(text: str) -> str:
    # Undecodable bytes are lone surrogates here; they cannot be sent as JSON, show them as U+FFFD.
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _line_count(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def _numbered(lines: list[str], first: int) -> str:
    return "\n".join(f"{n}\t{_printable(line)[:MAX_LINE_CHARS]}" for n, line in enumerate(lines, first))


def _status(t: Target, verb: str) -> os.stat_result | None:
    try:
        return lstat(t)
    except OSError as exc:
        raise ToolError(f"could not {verb} {t.raw}: {exc.strerror or exc}") from exc


def _existing_file(raw: str, ctx: ToolContext, *, for_write: bool) -> Target:
    t = target(raw, ctx, for_write=for_write)
    _must_be_file(t, _status(t, "write" if for_write else "read"))
    return t


# Claude Code's words, so a model trained on them knows what to do next.
NOT_READ_ERROR = "File has not been read yet. Read it first before writing to it."


def _must_have_read(t: Target) -> None:
    """Refuse to change an existing file the model has not read in this run."""
    if t.real not in t.ctx.read_files:
        raise ToolError(NOT_READ_ERROR)


def _must_be_file(t: Target, st: os.stat_result | None) -> None:
    if st is None:
        hint = " (to create a file, use Write)" if t.for_write else ""
        raise ToolError(f"File does not exist: {t.raw}{hint}")
    problem = describe_non_file(t, st)
    if problem is not None:
        raise problem


def _decode_for_edit(t: Target) -> str:
    try:
        with open_read(t) as fh:
            data = fh.read()
    except OSError as exc:
        raise ToolError(f"could not read {t.raw}: {exc.strerror or exc}") from exc
    if b"\0" in data:
        raise ToolError(f"{t.raw} is a binary file; only text files can be edited")
    return data.decode("utf-8", "surrogateescape")


def _atomic_write(t: Target, text: str) -> int:
    """Write ``text`` through a temporary file and a rename (``fdio.write_atomic``); the byte count."""
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise ToolError(f"the content for {t.raw} has characters that cannot be written as UTF-8") from exc
    try:
        write_atomic(t, data)
    except OSError as exc:
        raise ToolError(f"could not write {t.raw}: {exc.strerror or exc}") from exc
    return len(data)


def _lines(fh: BinaryIO) -> Iterator[bytes]:
    """Lines of a binary file, each cut to what can be shown, without loading a huge line whole."""
    cap = MAX_LINE_CHARS * 4 + 4  # enough bytes for MAX_LINE_CHARS characters of UTF-8
    while True:
        line = fh.readline(cap)
        if not line:
            return
        if not line.endswith(b"\n"):
            rest = line
            while rest and not rest.endswith(b"\n"):  # skip the remainder of an overlong line
                rest = fh.readline(1 << 20)
        yield line


def _count_lines(fh: BinaryIO) -> int:
    count, last = 0, b"\n"
    fh.seek(0)
    while chunk := fh.read(1 << 20):
        count += chunk.count(b"\n")
        last = chunk[-1:]
    return count + (last != b"\n")


class Read(Tool):
    """Claude Code's Read: numbered text lines, or an image / PDF content block."""

    name: ClassVar[str] = "Read"
    description: ClassVar[str] = (
        "Read a file. Each line comes back prefixed with its number and a tab, at most 2000 lines per "
        "call (use offset and limit for more). Images (PNG, JPEG, GIF, WebP) and PDFs are shown to you "
        "as content; Jupyter notebooks (.ipynb) as their cells, with the ids NotebookEdit takes."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "file_path": _FILE_PATH,
            "offset": {"type": "integer", "description": "1-based line to start at"},
            "limit": {"type": "integer", "description": "Number of lines to read"},
        },
        "required": ["file_path"],
        "additionalProperties": False,
    }

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Return the file's numbered lines, or a content block for an image or PDF."""
        raw = str_arg(args, "file_path")
        offset = int_arg(args, "offset", default=1, minimum=0) or 1  # 0 means "from the start" too
        limit = int_arg(args, "limit", default=MAX_LINES, minimum=1) or MAX_LINES
        t = _existing_file(raw, ctx, for_write=False)
        suffix = t.real.suffix.lower()
        if suffix == ".ipynb" and (cells := render_notebook(t)) is not None:
            return ToolResult(cells)
        try:
            with open_read(t) as fh:
                head = fh.read(8192)
                media_type = sniff_media_type(head)
                if media_type is not None:
                    result = self._media(fh, raw, media_type)
                    ctx.read_files.add(t.real)
                    return result
                if suffix in IMAGE_SUFFIXES or suffix == ".pdf":
                    raise ToolError(f"{raw} has a {t.real.suffix} name but its content is not that format")
                if b"\0" in head:
                    raise ToolError(
                        f"{raw} is a binary file; Read shows text, images (PNG, JPEG, GIF, WebP) and PDFs"
                    )
                ctx.read_files.add(t.real)
                if not head:
                    return ToolResult(f"{display_path(t.real, ctx)} exists but is empty.")
                fh.seek(0)
                return ToolResult(self._text(fh, offset, limit))
        except OSError as exc:
            raise ToolError(f"could not read {raw}: {exc.strerror or exc}") from exc

    @staticmethod
    def _media(fh: BinaryIO, raw: str, media_type: str) -> ToolResult:
        cap = MAX_PDF_BYTES if media_type == "application/pdf" else MAX_IMAGE_BYTES
        size = os.fstat(fh.fileno()).st_size
        if size > cap:
            raise ToolError(f"{raw} is {size:,} bytes; files of this type are limited to {cap:,} bytes")
        fh.seek(0)
        source = {"type": "base64", "media_type": media_type, "data": base64.b64encode(fh.read()).decode()}
        kind = "document" if media_type == "application/pdf" else "image"
        return ToolResult([{"type": kind, "source": source}])

    @staticmethod
    def _text(fh: BinaryIO, offset: int, limit: int) -> str:
        out: list[str] = []
        used = 0
        lineno = 0
        stopped = ""  # why output ended before the file did
        for line in _lines(fh):
            lineno += 1
            if lineno < offset:
                continue
            if lineno >= offset + limit:
                stopped = "limit"
                break
            text = line.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r")
            if len(text) > MAX_LINE_CHARS:
                text = text[:MAX_LINE_CHARS] + " [line truncated]"
            entry = f"{lineno}\t{text}"
            used += len(entry.encode()) + 1
            if used > MAX_OUTPUT_BYTES:
                stopped = "size"
                break
            out.append(entry)
        if not out:
            return f"The file has {lineno} lines; offset {offset} is past the end."
        if not stopped:
            return "\n".join(out)
        last = offset + len(out) - 1
        total = _count_lines(fh)
        why = "output reached 256 KiB" if stopped == "size" else f"showing lines {offset}-{last} of {total}"
        note = f"[{why}; call Read with offset={last + 1} to continue]"
        return "\n".join(out) + "\n\n" + note


class Write(Tool):
    """Claude Code's Write: create or overwrite a whole file."""

    name: ClassVar[str] = "Write"
    description: ClassVar[str] = (
        "Write a file, replacing it if it exists; parent directories are created. An existing file "
        "must have been Read in this session first. Prefer Edit for changes to an existing file."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "file_path": _FILE_PATH,
            "content": {"type": "string", "description": "The full file content"},
        },
        "required": ["file_path", "content"],
        "additionalProperties": False,
    }
    read_only: ClassVar[bool] = False
    edits_files: ClassVar[bool] = True

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Write the content and confirm with the line and byte counts."""
        raw = str_arg(args, "file_path")
        content = str_arg(args, "content")
        t = target(raw, ctx, for_write=True)
        st = _status(t, "write")
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise ToolError(f"{raw} is a directory; give a file path")
        if st is not None:
            _must_have_read(t)
        size = _atomic_write(t, content)
        ctx.read_files.add(t.real)
        verb = "Updated" if st is not None else "Created"
        return ToolResult(f"{verb} {display_path(t.real, ctx)} ({_line_count(content)} lines, {size} bytes).")


def _replace(text: str, old: str, new: str, replace_all: bool) -> tuple[str, int, int]:
    """``text`` with ``old`` replaced; returns the new text, the count and the first index."""
    if old == new:
        raise ToolError("old_string and new_string are identical; there is nothing to change")
    if not old:
        if text:
            raise ToolError(
                "old_string is empty; it may only be empty to create a file (use Write to replace)"
            )
        return new, 1, 0
    count = text.count(old)
    if count == 0:
        hint = (
            " The file has bytes that are not UTF-8 (shown as \ufffd); avoid them." if "\ufffd" in old else ""
        )
        raise ToolError(
            "old_string was not found. It must match the file exactly, including whitespace and "
            f"indentation, without Read's line-number prefix.{hint}"
        )
    if count > 1 and not replace_all:
        raise ToolError(
            f"old_string matches {count} places; add surrounding lines to make it unique, "
            f"or set replace_all to true to change all {count}"
        )
    first = text.index(old)
    return (text.replace(old, new) if replace_all else text.replace(old, new, 1)), count, first


class _Editor:
    """One file's text during an edit, with CRLF files edited as LF and written back as CRLF."""

    def __init__(self, raw: str, ctx: ToolContext, *, create_ok: bool) -> None:
        self.raw = raw
        self.target = target(raw, ctx, for_write=True)
        self.path = self.target.real
        st = _status(self.target, "write")
        self.created = create_ok and st is None
        if not self.created:
            _must_be_file(self.target, st)
        original = "" if self.created else _decode_for_edit(self.target)
        if not self.created:
            _must_have_read(self.target)
        # Only a file with CRLF on every line is converted; mixed endings are edited verbatim.
        self.crlf = "\r\n" in original and original.count("\r\n") == original.count("\n")
        self.text = original.replace("\r\n", "\n") if self.crlf else original

    def apply(self, old: str, new: str, replace_all: bool) -> tuple[int, int]:
        if self.crlf:
            old, new = old.replace("\r\n", "\n"), new.replace("\r\n", "\n")
        if self.created and self.text == "" and old:
            raise ToolError(
                f"File does not exist: {self.raw} (use an empty old_string, or Write, to create it)"
            )
        self.text, count, first = _replace(self.text, old, new, replace_all)
        return count, first

    def save(self) -> None:
        _atomic_write(self.target, self.text.replace("\n", "\r\n") if self.crlf else self.text)
        self.target.ctx.read_files.add(self.path)

    def snippet(self, first: int, new: str) -> str:
        lines = self.text.removesuffix("\n").split("\n")
        start = self.text.count("\n", 0, first)  # 0-based line of the change
        last = start + new.count("\n") - new.endswith("\n")  # a trailing newline only ends the last line
        end = min(last + SNIPPET_CONTEXT + 1, len(lines), start + SNIPPET_MAX_LINES)
        start = max(0, start - SNIPPET_CONTEXT)
        return _numbered(lines[start:end], start + 1)


def _edit_args(item: Mapping[str, Any]) -> tuple[str, str, bool]:
    return str_arg(item, "old_string"), str_arg(item, "new_string"), bool_arg(item, "replace_all")


class Edit(Tool):
    """Claude Code's Edit: exact string replacement, unique unless ``replace_all``."""

    name: ClassVar[str] = "Edit"
    description: ClassVar[str] = (
        "Replace an exact string in a file you have Read in this session. old_string must match the file "
        "exactly (indentation included, no line-number prefix) and be unique unless replace_all is true. "
        "An empty old_string creates a file."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "file_path": _FILE_PATH,
            "old_string": {"type": "string", "description": "Exact text to replace"},
            "new_string": {"type": "string", "description": "Replacement text"},
            "replace_all": {"type": "boolean", "description": "Replace every match (default false)"},
        },
        "required": ["file_path", "old_string", "new_string"],
        "additionalProperties": False,
    }
    read_only: ClassVar[bool] = False
    edits_files: ClassVar[bool] = True

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Apply the replacement and show the changed lines."""
        raw = str_arg(args, "file_path")
        old, new, replace_all = _edit_args(args)
        editor = _Editor(raw, ctx, create_ok=not old)
        count, first = editor.apply(old, new, replace_all)
        editor.save()
        where = display_path(editor.path, ctx)
        if editor.created:
            return ToolResult(f"Created {where} ({_line_count(editor.text)} lines).")
        what = f"{count} occurrences" if count > 1 else "1 occurrence"
        return ToolResult(f"Edited {where}: replaced {what}.\n{editor.snippet(first, new)}")


class MultiEdit(Tool):
    """Claude Code's MultiEdit: several edits to one file, all applied or none."""

    name: ClassVar[str] = "MultiEdit"
    description: ClassVar[str] = (
        "Apply several Edit-style replacements to one file, in order, each seeing the result of the "
        "previous. Atomic: if any edit fails, the file is left unchanged."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "file_path": _FILE_PATH,
            "edits": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "old_string": {"type": "string"},
                        "new_string": {"type": "string"},
                        "replace_all": {"type": "boolean"},
                    },
                    "required": ["old_string", "new_string"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["file_path", "edits"],
        "additionalProperties": False,
    }
    read_only: ClassVar[bool] = False
    edits_files: ClassVar[bool] = True

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Apply every edit in memory, then write once."""
        raw = str_arg(args, "file_path")
        edits = args.get("edits")
        if not isinstance(edits, list) or not edits or not all(isinstance(e, Mapping) for e in edits):
            raise ToolError("edits must be a non-empty array of {old_string, new_string} objects")
        first_old = edits[0].get("old_string")
        editor = _Editor(raw, ctx, create_ok=first_old == "")
        for index, item in enumerate(edits):
            try:
                editor.apply(*_edit_args(item))
            except ToolError as exc:
                raise ToolError(
                    f"edits[{index}] (edit {index + 1} of {len(edits)}) failed: {str(exc).rstrip('.')}. "
                    "No edit was applied; the file is unchanged."
                ) from exc
        editor.save()
        verb = "Created" if editor.created else "Edited"
        return ToolResult(f"{verb} {display_path(editor.path, ctx)}: applied {len(edits)} edits.")
