"""A fork's change request gets no push: the agent's edits become suggestions on its diff.

Pure functions, no git and no client. The input is ``git diff --unified=0 <start_sha>`` of the
agent's work (``git.worktree_diff``), where ``start_sha`` is the change request's head: the old
side of that patch is the new side of the change request's own diff, so a hunk's old lines are
the lines a suggestion replaces.

* ``parse_patch`` splits the patch into files and hunks; ``suggestions_for`` makes one
  ``Suggestion`` per hunk of a modified text file. A replacement (``-a,k +b,m`` with ``k > 0``)
  replaces lines ``a..a+k-1`` with the ``m`` new lines (``m == 0``: an empty suggestion deletes
  them). A pure insertion (``k == 0``) cannot be expressed as "replace nothing", so it becomes a
  suggestion on the line it follows that repeats that line and adds the new ones after it (before
  line 1 for an insertion at the top of the file). New, deleted, renamed and binary files cannot
  be suggested at all.
* ``place`` keeps the suggestions whose every line is visible on the new side of the change
  request's diff (hosts only anchor comments there) and still reads as the hunk expects.
* ``gitlab_body`` / ``github_body`` render a suggestion block; ``fallback_diff`` renders what
  could not be placed as a diff for the final comment.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from runner.platforms.base import ChangedFile, InlineComment

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
EXPLANATION = "Suggested by Claude (the runner does not push to forks): apply it to take the change."
MAX_FALLBACK_CHARS = 20_000  # a comment holds ~1 MB on GitHub and GitLab, a reader far less


@dataclass(frozen=True)
class Hunk:
    """One ``@@`` block of the agent's patch (``--unified=0``: changed lines only)."""

    header: str
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    removed: tuple[str, ...]
    added: tuple[str, ...]
    complete: bool = True  # False: the patch was cut inside this hunk

    def text(self) -> str:
        """The hunk as patch text."""
        lines = [self.header, *("-" + r for r in self.removed), *("+" + a for a in self.added)]
        return "\n".join(lines)


@dataclass(frozen=True)
class FilePatch:
    """One file of the agent's patch: its ``diff --git`` header lines and its hunks."""

    path: str
    headers: tuple[str, ...]
    hunks: tuple[Hunk, ...]
    suggestable: bool  # a modified text file; not new, deleted, binary or with an unreadable path

    def text(self, hunks: Sequence[Hunk] | None = None) -> str:
        """The file's patch, with all its hunks or only ``hunks``."""
        return "\n".join([*self.headers, *(h.text() for h in (self.hunks if hunks is None else hunks))])


@dataclass(frozen=True)
class Suggestion:
    """Replace lines ``start_line..end_line`` of ``path`` (the change's head) with ``replacement_lines``.

    ``insert``: a pure insertion, whose replacement is completed by ``place`` with the anchor
    line's text ("after": the anchor comes first; "before": last). ``anchor_old_line``: set by
    ``place`` when the anchor (last) line is unchanged in the change's diff (GitLab needs it).
    """

    path: str
    start_line: int
    end_line: int
    replacement_lines: tuple[str, ...]
    original_lines: tuple[str, ...]  # what the lines read now, checked against the change's diff
    hunk: Hunk
    insert: Literal["after", "before"] | None = None
    anchor_old_line: int | None = None
    old_path: str | None = None  # set by ``place`` for a file the change request renamed

    @property
    def size(self) -> int:
        """How many lines the suggestion replaces."""
        return self.end_line - self.start_line + 1


def parse_patch(diff: str) -> list[FilePatch]:
    """Files and hunks of a ``git diff`` (``a/``/``b/`` prefixes, renames off); tolerates a cut end."""
    files: list[FilePatch] = []
    headers: list[str] = []
    hunks: list[Hunk] = []
    current: list[str] | None = None  # the lines of the hunk being read

    def close_hunk() -> None:
        nonlocal current
        if current is None:
            return
        head = _HUNK.match(current[0])
        assert head is not None
        old_count = int(head.group(2) if head.group(2) is not None else 1)
        new_count = int(head.group(4) if head.group(4) is not None else 1)
        removed = tuple(x[1:] for x in current[1:] if x.startswith("-"))
        added = tuple(x[1:] for x in current[1:] if x.startswith("+"))
        complete = (len(removed), len(added)) == (old_count, new_count)
        hunks.append(
            Hunk(
                current[0],
                int(head.group(1)),
                old_count,
                int(head.group(3)),
                new_count,
                removed,
                added,
                complete,
            )
        )
        current = None

    def close_file() -> None:
        close_hunk()
        if headers:
            files.append(_file_patch(headers, hunks))
        headers.clear()
        hunks.clear()

    for line in diff.splitlines():
        if line.startswith("diff --git "):
            close_file()
            headers.append(line)
        elif line.startswith("@@ ") and _HUNK.match(line) and headers:
            close_hunk()
            current = [line]
        elif current is not None and line[:1] in ("-", "+"):
            current.append(line)
        elif current is not None and line.startswith("\\"):
            continue  # "\ No newline at end of file": a suggestion cannot say it; the text still can
        elif current is None and headers:
            headers.append(line)
        # anything else: the truncation note of a bounded diff
    close_file()
    return files


def _file_patch(headers: Sequence[str], hunks: Sequence[Hunk]) -> FilePatch:
    old = next((h[4:] for h in headers if h.startswith("--- ")), None)
    new = next((h[4:] for h in headers if h.startswith("+++ ")), None)
    git_line = headers[0]
    path = new[2:] if new and new.startswith("b/") else git_line.rsplit(" b/", 1)[-1]
    suggestable = (
        old is not None
        and new is not None
        and old.startswith("a/")
        and new.startswith("b/")
        and old[2:] == new[2:]
        and not path.startswith('"')  # a quoted path (control characters): leave it to the diff
        and not any(h.startswith(("Binary files", "GIT binary patch")) for h in headers)
    )
    return FilePatch(path, tuple(headers), tuple(hunks), suggestable)


def suggestions_for(patches: Sequence[FilePatch]) -> list[Suggestion]:
    """One suggestion per complete hunk of each suggestable file."""
    found: list[Suggestion] = []
    for patch in patches:
        if not patch.suggestable:
            continue
        for hunk in patch.hunks:
            if not hunk.complete or hunk.removed == hunk.added:
                continue  # cut off, or only the end-of-file newline changed: the diff says it
            if hunk.old_count:
                last = hunk.old_start + hunk.old_count - 1
                found.append(Suggestion(patch.path, hunk.old_start, last, hunk.added, hunk.removed, hunk))
            elif hunk.old_start == 0:  # inserted before line 1
                found.append(Suggestion(patch.path, 1, 1, hunk.added, (), hunk, insert="before"))
            else:  # inserted after line old_start
                line = hunk.old_start
                found.append(Suggestion(patch.path, line, line, hunk.added, (), hunk, insert="after"))
    return found


def visible_lines(patch: str | None, side: str = "RIGHT") -> dict[int, tuple[str, int | None]]:
    """New-side line number -> (text, old-side number if unchanged) for the lines a diff shows.

    ``side="LEFT"`` mirrors it: old-side line number -> (text, new-side number if unchanged),
    the lines a review comment on the old version may anchor on (removed and context lines).
    """
    left = side == "LEFT"
    lines: dict[int, tuple[str, int | None]] = {}
    old = new = 0
    inside = False
    for line in (patch or "").splitlines():
        head = _HUNK.match(line)
        if head:
            old, new, inside = int(head.group(1)), int(head.group(3)), True
            continue
        if not inside:
            continue
        kind, text = line[:1], line[1:]
        if kind == " ":
            lines[old if left else new] = (text, new if left else old)
        elif kind == ("-" if left else "+"):
            lines[old if left else new] = (text, None)
        elif kind not in ("-", "+"):
            continue  # "\ No newline at end of file"
        old += kind in (" ", "-")
        new += kind in (" ", "+")
    return lines


def place(
    suggestions: Sequence[Suggestion], files: Sequence[ChangedFile]
) -> tuple[list[Suggestion], list[Suggestion]]:
    """Split into (placed, unplaced): placed ones have every line visible on the new side of the
    change request's diff, reading as the agent's patch expects; insertions get their anchor text."""
    visible: Mapping[str, dict[int, tuple[str, int | None]]] = {
        f.path: visible_lines(f.patch) for f in files if f.status != "removed"
    }
    renamed = {f.path: f.previous_path for f in files if f.previous_path}
    placed: list[Suggestion] = []
    unplaced: list[Suggestion] = []
    for s in suggestions:
        shown = visible.get(s.path, {})
        span = range(s.start_line, s.end_line + 1)
        if not all(n in shown for n in span):
            unplaced.append(s)
            continue
        current = tuple(shown[n][0] for n in span)
        if s.insert is None and current != s.original_lines:
            unplaced.append(s)  # the change moved on since the agent's start: its lines differ
            continue
        replacement = s.replacement_lines
        if s.insert == "after":
            replacement = (*current, *replacement)
        elif s.insert == "before":
            replacement = (*replacement, *current)
        placed.append(
            dataclasses.replace(
                s,
                replacement_lines=replacement,
                original_lines=current,
                insert=None,
                anchor_old_line=shown[s.end_line][1],
                old_path=renamed.get(s.path),
            )
        )
    return placed, unplaced


def _fence(lines: Sequence[str], minimum: int = 3) -> str:
    """A backtick fence longer than any backtick run in ``lines``, so they cannot close it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(minimum, longest + 1)


def fenced_block(opening: str, lines: Sequence[str]) -> str:
    """``lines`` in a backtick block opened with ``opening`` (e.g. "suggestion"), fenced safely."""
    fence = _fence(lines)
    return "\n".join([f"{fence}{opening}", *lines, fence])


def gitlab_body(s: Suggestion, explanation: str = EXPLANATION) -> str:
    """GitLab: anchored on the range's last line, ``-{n-1}+0`` reaches up to its first line."""
    return f"{explanation}\n\n{fenced_block(f'suggestion:-{s.size - 1}+0', s.replacement_lines)}"


def github_body(s: Suggestion, explanation: str = EXPLANATION) -> str:
    """GitHub: the range is the comment's ``start_line``..``line``; the block is plain."""
    return f"{explanation}\n\n{fenced_block('suggestion', s.replacement_lines)}"


def inline_comment(s: Suggestion, platform: str, explanation: str = EXPLANATION) -> InlineComment:
    """The placed suggestion as a comment for ``platform`` ("gitlab" or "github")."""
    body = gitlab_body(s, explanation) if platform == "gitlab" else github_body(s, explanation)
    return InlineComment(
        path=s.path,
        line=s.end_line,
        body=body,
        start_line=s.start_line if s.size > 1 else None,
        old_line=s.anchor_old_line,
        old_path=s.old_path,
    )


def fallback_diff(
    patches: Sequence[FilePatch], unplaced: Sequence[Suggestion], *, max_chars: int = MAX_FALLBACK_CHARS
) -> str:
    """What could not become a suggestion, as patch text: files that cannot be suggested whole,
    and the hunks of the others that were not placed. Cut at a line after ``max_chars``."""
    left = {s.hunk for s in unplaced}
    parts: list[str] = []
    for patch in patches:
        if not patch.suggestable:
            parts.append(patch.text())
            continue
        # A hunk that was never a suggestion (cut off, newline only) is still part of the change.
        hunks = [h for h in patch.hunks if h in left or not h.complete or h.removed == h.added]
        if hunks:
            parts.append(patch.text(hunks))
    text = "\n".join(parts)
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars].rsplit("\n", 1)[0]
    hidden = text.count("\n") - cut.count("\n")
    return f"{cut}\n... {hidden} more lines not shown (the diff is too large for a comment)"


def report(*, posted: int, first_url: str | None, fallback: str, noun: str = "merge request") -> str:
    """The final comment's section on the offered changes (markdown)."""
    lines = [f"This {noun} comes from a fork, so nothing was pushed."]
    if posted:
        where = f"[on the diff]({first_url})" if first_url else "on the diff"
        what = "1 suggestion was" if posted == 1 else f"{posted} suggestions were"
        lines[0] += f" {what} posted {where}: apply {'it' if posted == 1 else 'them'} to take the change."
    if fallback:
        fence = _fence(fallback.splitlines())
        lines += [
            "",
            "Changes that could not be posted as suggestions (outside the diff, or new files):",
            "",
            f"{fence}diff",
            fallback,
            fence,
        ]
    return "\n".join(lines)
