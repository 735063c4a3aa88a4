"""Glob, Grep and LS: finding files and text, confined to the workspace.

Glob and Grep run the ``rg`` binary from the ``ripgrep`` wheel (``rg.py``) like Claude Code
does: Glob lists every file (ignored and hidden ones included, ``.git`` excluded) and Grep
honours ``.gitignore``. Paths come back relative to the workspace, which is shorter for the model.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult, bool_arg, int_arg, str_arg
from runner.agent.tools.glob_walk import newest_files
from runner.agent.tools.mtimes import newest_first, stamp
from runner.agent.tools.paths import display_path, resolve_in_roots
from runner.agent.tools.rg import RgRun, run_rg
from runner.agent.tools.rg_order import MARKED_COUNT_ARGS, MARKED_LINE_ARGS, in_path_order

GLOB_MAX_RESULTS = 100
GREP_MAX_CHARS = 30_000
LS_MAX_ENTRIES = 1000
LS_MAX_DEPTH = 5
# Listed but not expanded by LS: big, generated, and rarely what the model is looking for.
LS_NOT_EXPANDED = frozenset(
    {
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".next",
        ".gradle",
    }
)


def _search_root(ctx: ToolContext, raw: str) -> Path:
    return resolve_in_roots(raw or str(ctx.cwd), ctx, for_write=False)


def _cap(text: str, limit: int = GREP_MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    kept = text[: cut if cut > 0 else limit]
    return kept + f"\n\n[output cut at {limit} characters; narrow the search or use head_limit]"


class Glob(Tool):
    """Claude Code's Glob: files matching a pattern, newest first."""

    name: ClassVar[str] = "Glob"
    description: ClassVar[str] = (
        'Find files by glob pattern (e.g. "**/*.py", "src/**/*.{ts,tsx}"); a pattern without "/" matches at '
        "any depth. Returns paths sorted by modification time, newest first."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "Glob pattern"},
            "path": {"type": "string", "description": "Directory to search (default: the workspace)"},
        },
        "required": ["pattern"],
        "additionalProperties": False,
    }

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """List matching files, newest first, at most 100."""
        pattern = str_arg(args, "pattern").removeprefix("./")
        base = _search_root(ctx, str_arg(args, "path", required=False))
        if os.path.isabs(pattern):
            # An absolute pattern: search from its literal directory prefix, match the rest.
            parts = Path(pattern).parts
            literal = next((i for i, p in enumerate(parts) if any(c in p for c in "*?[{")), len(parts) - 1)
            base = resolve_in_roots(str(Path(*parts[:literal])), ctx)
            pattern = "/".join(parts[literal:])
        if not base.is_dir():
            raise ToolError(f"{display_path(base, ctx)} is not a directory")
        listing = newest_files(pattern, base, ctx, GLOB_MAX_RESULTS)
        if listing.code == 2 and not listing.count:
            raise ToolError(f"Glob failed: {(listing.err.strip() or 'rg exit code 2').splitlines()[-1]}")
        shown, count = listing.newest, listing.count
        if not shown:
            return ToolResult("No files found")
        # Only the files shown are turned into display paths.
        lines = [display_path(base / rel.decode("utf-8", "replace"), ctx) for rel in shown]
        if count > GLOB_MAX_RESULTS or listing.cut:
            total = f"more than {count}" if listing.cut else str(count)
            lines.append(f"[the {GLOB_MAX_RESULTS} newest of {total} files; use a narrower pattern or path]")
        return ToolResult("\n".join(lines))


class Grep(Tool):
    """Claude Code's Grep: ripgrep with its output modes."""

    name: ClassVar[str] = "Grep"
    description: ClassVar[str] = (
        "Search file contents with a ripgrep regex (honours .gitignore). output_mode: files_with_matches "
        "(default, newest first), content (matching lines), or count."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "Regular expression (Rust regex syntax)"},
            "path": {"type": "string", "description": "File or directory to search (default: the workspace)"},
            "glob": {"type": "string", "description": 'Only files matching this glob, e.g. "*.{ts,tsx}"'},
            "type": {"type": "string", "description": "Only files of this rg type, e.g. py, js, rust"},
            "output_mode": {"type": "string", "enum": ["content", "files_with_matches", "count"]},
            "-i": {"type": "boolean", "description": "Case-insensitive"},
            "-n": {"type": "boolean", "description": "Line numbers in content mode (default true)"},
            "-A": {"type": "integer", "description": "Lines after each match (content mode)"},
            "-B": {"type": "integer", "description": "Lines before each match (content mode)"},
            "-C": {"type": "integer", "description": "Lines before and after each match (content mode)"},
            "multiline": {"type": "boolean", "description": "Let patterns span lines; . matches newlines"},
            "head_limit": {"type": "integer", "description": "Only the first N lines or entries"},
        },
        "required": ["pattern"],
        "additionalProperties": False,
    }

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Run rg in the requested mode and shape its output."""
        pattern = str_arg(args, "pattern")
        mode = str_arg(args, "output_mode", required=False, default="files_with_matches")
        if mode not in ("content", "files_with_matches", "count"):
            raise ToolError("output_mode must be one of content, files_with_matches, count")
        target = _search_root(ctx, str_arg(args, "path", required=False))
        head_limit = int_arg(args, "head_limit") or None  # 0 means no limit

        cwd = Path(os.path.realpath(ctx.cwd))
        shown_target = display_path(target, ctx)
        context = mode == "content" and any(int_arg(args, flag) for flag in ("-A", "-B", "-C"))
        head = ["--color=never", "--hidden", "--max-columns=500", "--max-columns-preview"]
        tail = [*_search_flags(args, mode, pattern), *(["--", shown_target] if target != cwd else [])]

        def search(sort_by_rg: bool) -> RgRun:
            argv = [*head, *_mode_flags(args, mode, sort_by_rg=sort_by_rg), *tail]
            return run_rg(argv, ctx, cwd, terminator=b"\0" if mode == "files_with_matches" else b"\n")

        run = search(sort_by_rg=False)
        if run.code == 1 or (run.code == 0 and not run.out.strip()):
            return ToolResult("No matches found")
        if run.code == 2 and not run.out.strip():
            detail = "\n".join(run.err.strip().splitlines()[:6]) or "rg exit code 2"
            raise ToolError(f"Grep failed: {detail}")
        files: int | None = None  # counted from rg's records (a name may hold a newline)
        matches = 0
        if mode == "files_with_matches":
            prefix = b"" if os.path.isabs(shown_target) else os.fsencode(cwd) + b"/"
            paths = run.out.split(b"\0")[:-1]
            ordered_paths = newest_first(*stamp(paths, prefix, follow=True, missing=0.0))
            lines = [path.decode("utf-8", "replace") for path in ordered_paths]
        elif run.cut:
            # More than is kept: only rg's own (single-threaded) walk in path order keeps the first files.
            run = search(sort_by_rg=True)
            lines = run.out.decode("utf-8", "replace").splitlines()
        else:
            ordered = in_path_order(run.out, context=context, count=mode == "count")
            lines = ordered.text.decode("utf-8", "replace").splitlines()
            files, matches = ordered.files, ordered.matches
        more = head_limit is not None and len(lines) > head_limit
        shown = lines[:head_limit] if head_limit is not None else lines
        if mode == "files_with_matches":
            header = f"Found {len(lines)} file{'s' if len(lines) != 1 else ''}"
            body = "\n".join([header, *shown])
        elif mode == "count":
            if files is None:  # rg's own sort: its lines are all there is
                files, matches = len(lines), _total(lines)
            body = "\n".join([*shown, f"Found {matches} matching lines in {files} files"])
        else:
            body = "\n".join(shown)
        if more:
            body += f"\n[head_limit {head_limit}: {len(lines) - len(shown)} more lines not shown]"
        if run.cut:
            body += "\n[rg output was cut; narrow the search]"
        return ToolResult(_cap(body))


def _total(count_lines: list[str]) -> int:
    """The matching lines ``rg --count`` reports, summed."""
    counts = (line.rpartition(":")[2] for line in count_lines)
    return sum(int(count) for count in counts if count.isdigit())


def _mode_flags(args: Mapping[str, Any], mode: str, *, sort_by_rg: bool) -> list[str]:
    """rg's flags for Grep's output mode. Paths end with a NUL (``rg_order``) unless rg sorts."""
    if mode == "files_with_matches":
        return ["--files-with-matches", "--null"]  # sorted by mtime here
    flags = ["--with-filename", "--no-heading"]
    if sort_by_rg:
        flags.append("--sort=path")  # one thread: only when the output is too big to sort here
    if mode == "count":
        return [*flags, "--count", *([] if sort_by_rg else MARKED_COUNT_ARGS)]
    flags.append("--line-number" if bool_arg(args, "-n", default=True) else "--no-line-number")
    return [*flags, *([] if sort_by_rg else MARKED_LINE_ARGS)]


def _search_flags(args: Mapping[str, Any], mode: str, pattern: str) -> list[str]:
    """rg's flags for what Grep searches: case, multiline, context, globs, type, the pattern."""
    flags = ["--ignore-case"] if bool_arg(args, "-i") else []
    if bool_arg(args, "multiline"):
        flags += ["--multiline", "--multiline-dotall"]
    if mode == "content":
        for flag in ("-A", "-B", "-C"):
            context = int_arg(args, flag)
            if context:
                flags += [flag, str(context)]
    glob = str_arg(args, "glob", required=False)
    if glob:
        flags += ["--glob", glob]
    flags += ["--glob", "!.git"]  # last: later globs win in rg
    file_type = str_arg(args, "type", required=False)
    if file_type:
        flags += ["--type", file_type]
    return [*flags, "--regexp", pattern]  # --regexp: a pattern starting with "-" is not a flag


class LS(Tool):
    """Claude Code's LS: a directory tree."""

    name: ClassVar[str] = "LS"
    description: ClassVar[str] = (
        "List a directory as a tree (up to 5 levels, 1000 entries; .git is hidden). "
        "Prefer Glob and Grep when you know what you are looking for."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "Directory to list"},
            "ignore": {"type": "array", "items": {"type": "string"}, "description": "Globs to leave out"},
        },
        "required": ["path"],
        "additionalProperties": False,
    }

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Walk breadth-first (so a huge first directory cannot hide the rest) and print a tree."""
        root = _search_root(ctx, str_arg(args, "path", required=False))
        if not root.is_dir():
            raise ToolError(f"{display_path(root, ctx)} is not a directory; use Read for files")
        ignore = args.get("ignore") or []
        if not isinstance(ignore, list) or not all(isinstance(g, str) for g in ignore):
            raise ToolError("ignore must be an array of glob patterns")

        children: dict[Path, list[tuple[str, str]]] = {}  # dir -> [(name, suffix)]
        unexpanded: set[Path] = set()
        queue: list[tuple[Path, int]] = [(root, 0)]
        count = 0
        for directory, depth in queue:  # the list grows while we walk it: breadth first
            if count >= LS_MAX_ENTRIES or depth >= LS_MAX_DEPTH:
                unexpanded.add(directory)
                continue
            try:
                with os.scandir(directory) as it:
                    entries = sorted(it, key=lambda e: (not e.is_dir(follow_symlinks=False), e.name))
            except OSError:
                children[directory] = [("(unreadable)", "")]
                continue
            listed: list[tuple[str, str]] = []
            for entry in entries:
                rel = os.path.relpath(entry.path, root)
                if entry.name == ".git" or any(
                    fnmatch.fnmatch(entry.name, g) or fnmatch.fnmatch(rel, g) for g in ignore
                ):
                    continue
                if count >= LS_MAX_ENTRIES:
                    unexpanded.add(directory)
                    break
                count += 1
                path = Path(entry.path)
                if entry.is_symlink():
                    listed.append((entry.name, f" -> {os.readlink(entry.path)}"))
                elif entry.is_dir():
                    listed.append((entry.name, "/"))
                    if entry.name in LS_NOT_EXPANDED:
                        unexpanded.add(path)
                    else:
                        queue.append((path, depth + 1))
                else:
                    listed.append((entry.name, ""))
            children[directory] = listed

        lines = [f"- {root}/"]

        def render(directory: Path, indent: int) -> None:
            for name, suffix in children.get(directory, []):
                path = directory / name
                mark = " …" if path in unexpanded and suffix == "/" else ""
                lines.append(f"{'  ' * indent}- {name}{suffix}{mark}")
                if suffix == "/":
                    render(path, indent + 1)

        render(root, 1)
        if count >= LS_MAX_ENTRIES:
            lines.append(f"[stopped at {LS_MAX_ENTRIES} entries; LS a subdirectory or use Glob]")
        if any(p != root for p in unexpanded):
            lines.append("[directories marked … were not expanded; LS them to see inside]")
        return ToolResult("\n".join(lines))
