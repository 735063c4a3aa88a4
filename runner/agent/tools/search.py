"""Glob, Grep and LS: finding files and text, confined to the workspace.

Glob and Grep run the ``rg`` binary from the ``ripgrep`` wheel with an argv list (never a
shell), the scrubbed environment, a timeout and an output cap, like Claude Code does: Glob
lists every file (ignored and hidden ones included, ``.git`` excluded) and Grep honours
``.gitignore``. Paths come back relative to the workspace, which is shorter for the model.
"""

from __future__ import annotations

import fnmatch
import os
import selectors
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult, bool_arg, int_arg, str_arg
from runner.agent.tools.paths import display_path, resolve_in_roots

GLOB_MAX_RESULTS = 100
GREP_MAX_CHARS = 30_000
RG_TIMEOUT_S = 30.0
RG_MAX_BYTES = 8 * 1024 * 1024  # raw rg output kept; more than this is cut and reported
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


def find_rg() -> str:
    """The ``rg`` binary: the ripgrep wheel's (next to this Python) first, then ``PATH``."""
    name = "rg.exe" if os.name == "nt" else "rg"
    # sys.executable is not resolved on purpose: in a venv it is the venv's bin/python.
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("rg")
    if found is None:
        raise ToolError(
            "ripgrep (rg) is not installed; install the `ripgrep` Python package (pip install ripgrep)"
        )
    return found


def _timeout(ctx: ToolContext, limit: float = RG_TIMEOUT_S) -> float:
    if ctx.deadline is None:
        return limit
    remaining = ctx.deadline - time.monotonic()
    if remaining <= 0:
        raise ToolError("the run's time limit has been reached")
    return min(limit, remaining)


def run_rg(
    args: list[str], ctx: ToolContext, cwd: Path, on_lines: Callable[[list[str]], None] | None = None
) -> tuple[int, str, str, bool]:
    """Run rg; returns (exit code, stdout, stderr, stdout was cut). Output is read in bounded chunks.

    With ``on_lines``, stdout's complete lines are handed to it as they arrive (the caller works
    while rg still walks the tree) and the stdout returned is empty."""
    timeout = _timeout(ctx)
    proc = subprocess.Popen(
        [find_rg(), "--no-config", *args],  # --no-config: RIPGREP_CONFIG_PATH must not change results
        cwd=cwd,
        env=dict(ctx.subprocess_env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = bytearray(), bytearray()
    cut = drained = False
    sent = 0  # stdout bytes already handed to on_lines
    end = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as sel:
            for stream, sink in ((proc.stdout, out), (proc.stderr, err)):
                if stream is not None:
                    sel.register(stream, selectors.EVENT_READ, sink)
            while sel.get_map() and not cut:
                left = end - time.monotonic()
                if left <= 0:
                    raise ToolError(
                        f"the search timed out after {timeout:.0f} s; narrow the path, glob or pattern"
                    )
                for key, _ in sel.select(left):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        continue
                    key.data.extend(chunk)
                    if on_lines is not None and key.data is out:
                        sent += _hand_on(out, on_lines)
                    # Enough to answer with: stop rg, don't buffer it all.
                    cut = sent + len(out) > RG_MAX_BYTES
            drained = not cut
    finally:
        if not drained:  # timed out, cut, or interrupted: rg must not outlive the call
            proc.kill()
        code = proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    if cut:
        del out[out.rfind(b"\n", 0, max(0, RG_MAX_BYTES - sent)) + 1 :]
    if on_lines is not None:
        if out and not cut:
            out.extend(b"\n")  # a last line without its newline
        _hand_on(out, on_lines)
        out.clear()
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), cut


def _hand_on(out: bytearray, on_lines: Callable[[list[str]], None]) -> int:
    """Pass ``out``'s complete lines to ``on_lines`` and drop them from it; returns their size."""
    end = out.rfind(b"\n") + 1
    if end:
        on_lines(out[:end].decode("utf-8", "replace").splitlines())
        del out[:end]
    return end


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
        stamps = _Stamps(str(base))
        argv = ["--files", "--no-ignore", "--hidden", "--glob", pattern, "--glob", "!.git"]
        code, _, err, cut = run_rg(argv, ctx, base, on_lines=stamps.add)
        if code == 2 and not stamps.listed:
            raise ToolError(f"Glob failed: {(err.strip() or 'rg exit code 2').splitlines()[-1]}")
        newest, count = stamps.newest(GLOB_MAX_RESULTS)
        if not newest:
            return ToolResult("No files found")
        # Only the files shown are turned into display paths: one cheap lstat per match is all.
        lines = [display_path(base / rel, ctx) for rel in newest]
        if count > GLOB_MAX_RESULTS or cut:
            total = f"more than {count}" if cut else str(count)
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

        argv = ["--color=never", "--hidden", "--max-columns=500", "--max-columns-preview"]
        if bool_arg(args, "-i"):
            argv.append("--ignore-case")
        if bool_arg(args, "multiline"):
            argv += ["--multiline", "--multiline-dotall"]
        if mode == "files_with_matches":
            argv.append("--files-with-matches")
        else:
            # Sorted by path so the output is stable from run to run (rg is parallel otherwise).
            argv += ["--with-filename", "--no-heading", "--sort=path"]
            if mode == "count":
                argv.append("--count")
            else:
                argv.append("--line-number" if bool_arg(args, "-n", default=True) else "--no-line-number")
        if mode == "content":
            for flag in ("-A", "-B", "-C"):
                context = int_arg(args, flag)
                if context:
                    argv += [flag, str(context)]
        glob = str_arg(args, "glob", required=False)
        if glob:
            argv += ["--glob", glob]
        argv += ["--glob", "!.git"]  # last: later globs win in rg
        file_type = str_arg(args, "type", required=False)
        if file_type:
            argv += ["--type", file_type]
        argv += ["--regexp", pattern]  # --regexp: a pattern starting with "-" is not a flag
        cwd = Path(os.path.realpath(ctx.cwd))
        if target != cwd:
            argv += ["--", display_path(target, ctx)]

        code, out, err, cut = run_rg(argv, ctx, cwd)
        if code == 1 or (code == 0 and not out.strip()):
            return ToolResult("No matches found")
        if code == 2 and not out.strip():
            detail = "\n".join(err.strip().splitlines()[:6]) or "rg exit code 2"
            raise ToolError(f"Grep failed: {detail}")
        lines = out.splitlines()
        if mode == "files_with_matches":
            lines = _newest_first(lines, cwd)
        more = head_limit is not None and len(lines) > head_limit
        shown = lines[:head_limit] if head_limit is not None else lines
        if mode == "files_with_matches":
            header = f"Found {len(lines)} file{'s' if len(lines) != 1 else ''}"
            body = "\n".join([header, *shown])
        elif mode == "count":
            total = sum(int(line.rpartition(":")[2]) for line in lines if line.rpartition(":")[2].isdigit())
            body = "\n".join([*shown, f"Found {total} matching lines in {len(lines)} files"])
        else:
            body = "\n".join(shown)
        if more:
            body += f"\n[head_limit {head_limit}: {len(lines) - len(shown)} more lines not shown]"
        if cut:
            body += "\n[rg output was cut; narrow the search]"
        return ToolResult(_cap(body))


class _Stamps:
    """The modification times of the files rg lists under ``base``, taken while rg still walks.

    One ``lstat`` each and no path objects: this is most of Glob's time. A file removed since
    rg listed it is left out."""

    def __init__(self, base: str) -> None:
        self.prefix = base.rstrip(os.sep) + os.sep
        self.mtimes: list[float] = []
        self.rels: list[str] = []
        self.listed = 0

    def add(self, rels: list[str]) -> None:
        """Stamp a batch of listed paths (relative to ``base``)."""
        self.listed += len(rels)
        prefix, lstat = self.prefix, os.lstat
        try:
            mtimes = [lstat(prefix + rel).st_mtime for rel in rels]
        except OSError:  # one was removed meanwhile: the slower loop leaves it out
            mtimes, kept = [], []
            for rel in rels:
                try:
                    mtimes.append(lstat(prefix + rel).st_mtime)
                except OSError:
                    continue
                kept.append(rel)
            rels = kept
        self.mtimes += mtimes
        self.rels += rels

    def newest(self, limit: int) -> tuple[list[str], int]:
        """The ``limit`` newest paths, newest first (ties by path), and how many there are."""
        mtimes = self.mtimes
        # The limit-th newest time first (sorting floats is cheap), then only the files at or above it.
        cut = sorted(mtimes)[-limit] if len(mtimes) > limit else float("-inf")
        picked = sorted((-m, rel) for m, rel in zip(mtimes, self.rels, strict=True) if m >= cut)
        return [rel for _, rel in picked[:limit]], len(mtimes)


def _newest_first(paths: list[str], cwd: Path) -> list[str]:
    def mtime(rel: str) -> float:
        try:
            return (cwd / rel).stat().st_mtime
        except OSError:
            return 0.0

    return sorted(paths, key=lambda rel: (-mtime(rel), rel))


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
