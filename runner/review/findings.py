"""The agent's findings: what a finding is, the tool that reports one, and their validation."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult, int_arg, str_arg
from runner.flow.suggestions import visible_lines
from runner.platforms.base import ChangedFile

SEVERITIES = ("important", "nit", "pre_existing")
SIDES = ("RIGHT", "LEFT")  # RIGHT: the new version of the file; LEFT: the old one


@dataclass(frozen=True)
class Finding:
    """One problem the reviewer found, anchored to lines of the diff."""

    path: str
    line: int  # the last line of the range (GitHub's `line`)
    title: str
    body: str
    severity: str = "important"
    end_line: int | None = None  # as the tool receives it: the range is line..end_line when given
    side: str = "RIGHT"
    suggestion: str | None = None  # replacement text for the whole range, if the fix is mechanical

    @property
    def first_line(self) -> int:
        """The first line of the range."""
        return min(self.line, self.end_line) if self.end_line else self.line

    @property
    def last_line(self) -> int:
        """The last line of the range."""
        return max(self.line, self.end_line) if self.end_line else self.line

    def fingerprint(self) -> str:
        """Stable across reruns and line shifts: the file, the side and the normalised title."""
        title = re.sub(r"\W+", " ", self.title.lower()).strip()
        digest = hashlib.sha256(f"{self.path}\0{self.side}\0{title}".encode()).hexdigest()
        return digest[:16]


# The new version's lines of a file (None: unreadable): a function, or a mapping path -> lines.
FileLines = Callable[[str], list[str] | None] | Mapping[str, list[str]]

LABELS = {"important": "🔴 Important", "nit": "🟡 Nit", "pre_existing": "🟣 Pre-existing"}
MAX_TITLE_CHARS = 200
MAX_FINDINGS = 100  # a review with more findings than this is noise; the model is told to pick


class _DiffIndex:
    """The changed files by path, with each file's visible lines per side computed once."""

    def __init__(self, files: Sequence[ChangedFile]) -> None:
        self.by_path = {f.path: f for f in files}
        self.renamed = {f.previous_path: f.path for f in files if f.previous_path}
        self._visible: dict[tuple[str, str], dict[int, tuple[str, int | None]]] = {}

    def visible(self, path: str, side: str) -> dict[int, tuple[str, int | None]]:
        key = (path, side)
        if key not in self._visible:
            self._visible[key] = visible_lines(self.by_path[path].patch, side)
        return self._visible[key]


def suggestion_lines(suggestion: str) -> list[str]:
    """The suggestion's replacement lines (one trailing newline is not an extra empty line)."""
    text = suggestion.replace("\r\n", "\n")
    text = text[:-1] if text.endswith("\n") else text
    return text.split("\n") if text else []


def _check(finding: Finding, index: _DiffIndex, file_lines: FileLines | None) -> str | None:
    if finding.severity not in SEVERITIES:
        return f"severity {finding.severity!r} is not one of {', '.join(SEVERITIES)}"
    if finding.side not in SIDES:
        return f"side {finding.side!r} is not one of {', '.join(SIDES)}"
    changed = index.by_path.get(finding.path)
    if changed is None:
        new_path = index.renamed.get(finding.path)
        if new_path:
            return f"{finding.path} is not in the diff (it was renamed to {new_path}: use the new path)"
        return f"{finding.path} is not in the diff"
    if changed.patch is None:
        return f"{finding.path} has no diff to comment on (binary or too large)"
    first, last = finding.first_line, finding.last_line
    if first < 1:
        return "line numbers start at 1"
    shown = index.visible(finding.path, finding.side)
    # Every line of the range must be shown: a range with a gap spans two hunks, which neither
    # host accepts as one comment.
    if not all(n in shown for n in range(first, last + 1)):
        where = f"line {first}" if first == last else f"lines {first}-{last}"
        verb = "is" if first == last else "are"
        return f"{where} {verb} not inside a hunk on the {finding.side} side of {finding.path}"
    if finding.suggestion is None:
        return None
    if finding.side != "RIGHT":
        return "a suggestion can only replace lines on the RIGHT side"
    if file_lines is None:
        current = None
    elif isinstance(file_lines, Mapping):
        current = file_lines.get(finding.path)
    else:
        current = file_lines(finding.path)
    if current is not None and last <= len(current):
        replaced = [line.rstrip("\r\n") for line in current[first - 1 : last]]
    else:  # no checkout at hand: the diff shows every line of the range
        replaced = [shown[n][0] for n in range(first, last + 1)]
    if suggestion_lines(finding.suggestion) == replaced:
        return "the suggestion is identical to the lines it replaces"
    return None


def validate_finding(
    finding: Finding,
    files: Sequence[ChangedFile],
    *,
    file_lines: FileLines | None = None,
) -> str | None:
    """Why ``finding`` cannot be posted inline on this diff, or None when it can.

    Checks: known severity and side; the file is in the diff and has a patch; every line of the
    range is visible on that side (inside one hunk); a suggestion is on the RIGHT side and differs
    from the lines it replaces. ``file_lines(path)`` returns the new version's lines from the
    checkout; without it (or when it returns None) the diff's own text of the range is compared.
    """
    return _check(finding, _DiffIndex(files), file_lines)


def validate_findings(
    findings: Iterable[Finding],
    files: Sequence[ChangedFile],
    *,
    file_lines: FileLines | None = None,
) -> tuple[list[Finding], list[tuple[Finding, str]]]:
    """Split into (valid, rejected with reasons); a repeated fingerprint keeps its first finding.

    The repeat is the same problem reported twice (same file, side and title), so it is dropped,
    not rejected: the summary would otherwise list one problem twice.
    """
    index = _DiffIndex(files)
    seen: set[str] = set()
    valid: list[Finding] = []
    rejected: list[tuple[Finding, str]] = []
    for finding in findings:
        fingerprint = finding.fingerprint()
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        reason = _check(finding, index, file_lines)
        if reason is None:
            valid.append(finding)
        else:
            rejected.append((finding, reason))
    return valid, rejected


_PARAMS = ("path", "line", "end_line", "side", "severity", "title", "body", "suggestion")


class ReportFindingTool(Tool):
    """Records the reviewer's findings; the runner validates and publishes them after the turn."""

    name = "report_finding"
    description = (
        "Report one problem found in this change, anchored on lines of the diff: a comment is "
        "posted there after the review. Report each problem once. `line` (and `end_line` for a "
        "range) are line numbers on `side`: RIGHT (default) for the new version, i.e. added or "
        "context lines; LEFT for removed lines. Severity: important (a bug to fix before "
        "merging), nit (minor, not blocking), pre_existing (a bug this change did not introduce). "
        "`title`: one short line naming the problem; `body`: why it is wrong and when it fails. "
        "Give `suggestion` (the replacement text for the whole line range) only for a mechanical "
        "fix the author can apply as is. Reporting again with the same path and title replaces a "
        "finding that could not be anchored."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File path as shown in the diff"},
            "line": {"type": "integer", "minimum": 1, "description": "The (first) line of the problem"},
            "end_line": {"type": "integer", "minimum": 1, "description": "The last line of a range"},
            "side": {"type": "string", "enum": list(SIDES), "description": "RIGHT: new lines; LEFT: old"},
            "severity": {"type": "string", "enum": list(SEVERITIES)},
            "title": {"type": "string", "description": "One short line"},
            "body": {"type": "string", "description": "Why it is a problem and how it fails"},
            "suggestion": {"type": "string", "description": "Replacement text for lines line..end_line"},
        },
        "required": ["path", "line", "severity", "title", "body"],
        "additionalProperties": False,
    }
    read_only = True
    needs_permission = False

    def __init__(
        self,
        files: Sequence[ChangedFile],
        *,
        file_lines: FileLines | None = None,
        max_findings: int = MAX_FINDINGS,
    ) -> None:
        self.findings: list[Finding] = []
        self._index = _DiffIndex(files)
        self._file_lines = file_lines
        self._max = max_findings
        self._anchored: dict[str, bool] = {}  # fingerprint -> whether it passed validation

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Check the call's shape, record the finding, and say at once if its anchor is off."""
        finding = self._parse(args)
        fingerprint = finding.fingerprint()
        reason = _check(finding, self._index, self._file_lines)
        if fingerprint in self._anchored:
            number = next(n for n, f in enumerate(self.findings, 1) if f.fingerprint() == fingerprint)
            if self._anchored[fingerprint]:
                raise ToolError(
                    f"finding {number} already has this title in {finding.path}: report each problem "
                    "once, or give a different problem its own title"
                )
            self.findings[number - 1] = finding  # the model fixing an anchor it was told was off
            verb = "Replaced"
        else:
            if len(self.findings) >= self._max:
                raise ToolError(f"{self._max} findings are recorded, the most one review posts: stop here")
            self.findings.append(finding)
            number, verb = len(self.findings), "Recorded"
        self._anchored[fingerprint] = reason is None
        if reason is None:
            return ToolResult(f"{verb} finding {number}.")
        hint = self._hint(finding)
        return ToolResult(
            f"{verb} finding {number}, but it cannot be posted on the diff: {reason}.{hint} "
            "Report it again with the same path and title to fix the anchor; otherwise it is listed "
            "in the review summary."
        )

    def _hint(self, finding: Finding) -> str:
        if finding.path in self._index.by_path:
            return ""
        name = finding.path.rsplit("/", 1)[-1]
        close = [p for p in self._index.by_path if p.endswith("/" + name) or p == name][:3]
        return f" Changed files with that name: {', '.join(close)}." if close else ""

    def _parse(self, args: Mapping[str, Any]) -> Finding:
        unknown = sorted(set(args) - set(_PARAMS))
        if unknown:
            raise ToolError(f"unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(_PARAMS)}")
        path = str_arg(args, "path").strip()
        if not path:
            raise ToolError("path must be a file path from the diff")
        line = int_arg(args, "line", minimum=1)
        if line is None:
            raise ToolError("missing required parameter: line")
        end_line = int_arg(args, "end_line", minimum=1)
        if end_line is not None and end_line < line:
            raise ToolError("end_line must be at least line (line is the first line of the range)")
        side = str_arg(args, "side", required=False, default="RIGHT").strip().upper()
        if side not in SIDES:
            raise ToolError("side must be RIGHT (new lines) or LEFT (removed lines)")
        severity = str_arg(args, "severity").strip().lower().replace("-", "_").replace(" ", "_")
        if severity not in SEVERITIES:
            raise ToolError(f"severity must be one of {', '.join(SEVERITIES)}")
        title = " ".join(str_arg(args, "title").split())
        if not title or len(title) > MAX_TITLE_CHARS:
            raise ToolError(f"title must be one line of 1 to {MAX_TITLE_CHARS} characters")
        body = str_arg(args, "body").strip()
        if not body:
            raise ToolError("body must say why this is a problem")
        suggestion = args.get("suggestion")
        if suggestion is not None and not isinstance(suggestion, str):
            raise ToolError("parameter suggestion must be a string")
        if suggestion is not None and side != "RIGHT":
            raise ToolError("a suggestion replaces new lines: use side RIGHT, or drop the suggestion")
        return Finding(
            path=path,
            line=line,
            end_line=end_line if end_line not in (None, line) else None,
            title=title,
            body=body,
            severity=severity,
            side=side,
            suggestion=suggestion,
        )
