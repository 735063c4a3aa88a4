"""Which changed files a review puts in the model's prompt, within a token budget.

1. **Excluded**: files matching ``excludes`` (gitignore-style globs; by default lock files,
   vendored code and generated output), unless they match ``includes``.
2. **Ranked**: source first, then tests, then docs and config, then deleted files (nothing is left
   to review but what went away); within a tier, most changed lines first, then by path.
3. **Packed**: in rank order, each file's diff goes in when it still fits the budget; a file that
   does not fit (or whose patch the host did not send: binary or too large) is listed as not
   fitting, and the agent can still read it with its tools. Smaller files after it may fit.

Linear in the number of files, and holds no copy of the patches: a 5,000-file change is ranked
and packed in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from runner.flow.context import estimate_tokens
from runner.platforms.base import ChangedFile

LOCK_FILES = (
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "Cargo.lock",
    "go.sum",
    "Gemfile.lock",
    "composer.lock",
    "uv.lock",
    "Pipfile.lock",
)
# A trailing slash matches the directory at any depth (a nested module's vendor/ too).
VENDORED = ("vendor/", "third_party/", "node_modules/")
# dist/ and build/ only at the root: deeper, a "build" directory is often source (e.g. Go's go/build).
GENERATED = (
    "*.min.js",
    "*.min.css",
    "*.map",
    "*_pb2.py",
    "*.pb.go",
    "*.generated.*",
    "/dist/**",
    "/build/**",
    "*.snap",
    "__snapshots__/",
)
DEFAULT_EXCLUDES: tuple[str, ...] = LOCK_FILES + VENDORED + GENERATED
_KINDS = {**dict.fromkeys(LOCK_FILES, "lock file"), **dict.fromkeys(VENDORED, "vendored")}
_KINDS |= dict.fromkeys(GENERATED, "generated")

_TEST_DIRS = {"test", "tests", "spec", "specs", "__tests__", "testdata", "e2e"}
_DOC_SUFFIXES = (".md", ".rst", ".txt", ".adoc")
_CONFIG_SUFFIXES = (".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".xml", ".lock", ".csv")
_DOC_DIRS = {"doc", "docs", ".github"}


@dataclass(frozen=True)
class Selection:
    """The outcome: files whose diff is in the prompt, and the rest with why."""

    included: tuple[ChangedFile, ...]
    excluded: tuple[tuple[str, str], ...]  # (path, why): by an exclude pattern
    not_fitting: tuple[ChangedFile, ...]  # over the budget, or no patch from the host
    diff_tokens: int  # estimated tokens of render_diff(self); at most the budget


def rank_tier(f: ChangedFile) -> int:
    """0 source, 1 tests, 2 docs and config, 3 deleted files."""
    if f.status in ("removed", "deleted"):
        return 3
    parts = f.path.lower().split("/")
    name = parts[-1]
    stem = name.split(".", 1)[0]
    if _TEST_DIRS.intersection(parts[:-1]) or (
        stem.startswith("test_") or stem.endswith(("_test", "_spec")) or ".test." in name or ".spec." in name
    ):
        return 1
    if _DOC_DIRS.intersection(parts[:-1]) or name.endswith(_DOC_SUFFIXES + _CONFIG_SUFFIXES):
        return 2
    if "." not in name and name not in ("makefile", "dockerfile"):
        return 2  # LICENSE, CODEOWNERS, ... (Makefile and Dockerfile are code)
    return 0


def _spec(patterns: Sequence[str]) -> Any:
    import pathspec  # only a review needs it

    return pathspec.GitIgnoreSpec.from_lines(patterns)


def _why(path: str, singles: Sequence[tuple[str, Any]]) -> str:
    """The first plain pattern matching ``path``, said as a kind for the default ones."""
    for pattern, spec in singles:
        if spec.match_file(path):
            return _KINDS.get(pattern, f"matches {pattern}")
    return "excluded"


def _header(f: ChangedFile) -> str:
    old = f.previous_path or f.path
    before = "/dev/null" if f.status == "added" else f"a/{old}"
    after = "/dev/null" if f.status in ("removed", "deleted") else f"b/{f.path}"
    return f"diff --git a/{old} b/{f.path}\n--- {before}\n+++ {after}\n"


def _piece(f: ChangedFile) -> str:
    # Ends with a newline, so the joined diff's estimate never exceeds the sum of the pieces'.
    patch = f.patch or ""
    return _header(f) + patch + ("" if patch.endswith("\n") else "\n")


def select_files(
    files: Sequence[ChangedFile],
    *,
    budget_tokens: int,
    excludes: Sequence[str] = DEFAULT_EXCLUDES,
    includes: Sequence[str] = (),
) -> Selection:
    """Exclude, rank and pack ``files`` into ``budget_tokens`` of diff (see the module's doc)."""
    exclude_spec = _spec(excludes) if excludes else None
    include_spec = _spec(includes) if includes else None
    singles: list[tuple[str, Any]] | None = None  # one spec per pattern, to say why; built once
    excluded: list[tuple[str, str]] = []
    kept: list[ChangedFile] = []
    for f in files:
        out = exclude_spec is not None and exclude_spec.match_file(f.path)
        if out and not (include_spec is not None and include_spec.match_file(f.path)):
            if singles is None:
                singles = [(p, _spec([p])) for p in excludes if not p.startswith("!")]
            excluded.append((f.path, _why(f.path, singles)))
        else:
            kept.append(f)
    kept.sort(key=lambda f: (rank_tier(f), -(f.additions + f.deletions), f.path))
    included: list[ChangedFile] = []
    not_fitting: list[ChangedFile] = []
    used = 0
    for f in kept:
        if f.patch is None:
            not_fitting.append(f)
            continue
        tokens = estimate_tokens(_piece(f))
        if used + tokens <= budget_tokens:
            included.append(f)
            used += tokens
        else:
            not_fitting.append(f)
    return Selection(tuple(included), tuple(excluded), tuple(not_fitting), used)


def render_diff(selection: Selection) -> str:
    """The included files as one unified diff (``diff --git`` headers, then each patch)."""
    return "".join(_piece(f) for f in selection.included)
