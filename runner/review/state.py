"""What a review remembers between runs, kept in hidden markers in its own comments.

* The summary comment starts with ``SUMMARY_MARKER`` and ``head_marker(sha)``: the head commit
  the review covered, so the next one covers only the commits since (``review_range``).
* Each inline comment ends with ``finding_marker(fingerprint)``: a new run does not post a
  finding whose fingerprint is on an unresolved comment (``posted_fingerprints``); resolving
  the thread dismisses it, and a resolved finding that recurs is posted again.

Markers are read only where the runner writes them (the summary's leading lines, an inline
comment's last line), so a marker quoted in a finding's text or suggestion is never taken for
one. Whose comments to read (the runner's own) is the caller's decision.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

SUMMARY_MARKER = "<!-- claude-runner:review -->"
_HEAD = re.compile(r"<!-- claude-runner:reviewed-head:([0-9A-Za-z_]{1,128}) -->")
_FINDING = re.compile(r"<!-- claude-runner:finding:([0-9A-Za-z_]{1,128}) -->")
_TOKEN = re.compile(r"[0-9A-Za-z_]{1,128}")


def _token(value: str, what: str) -> str:
    # A value with other characters (e.g. "-->") could end the HTML comment and show or forge text.
    if not _TOKEN.fullmatch(value):
        raise ValueError(f"a {what} in a marker must be 1-128 letters, digits or _: {value!r}")
    return value


def head_marker(sha: str) -> str:
    """The hidden marker recording the last reviewed head commit."""
    return f"<!-- claude-runner:reviewed-head:{_token(sha, 'commit sha')} -->"


def finding_marker(fp: str) -> str:
    """The hidden marker carrying a finding's fingerprint, the last line of its inline comment."""
    return f"<!-- claude-runner:finding:{_token(fp, 'fingerprint')} -->"


def last_reviewed_head(summary_body: str | None) -> str | None:
    """The head commit recorded in a summary comment, or None (no summary, or no marker).

    Only the leading run of marker lines is read, and the body must carry ``SUMMARY_MARKER``.
    """
    if not summary_body:
        return None
    lines = [line.strip() for line in summary_body.strip().splitlines()]
    leading: list[str] = []
    for line in lines:
        if not line.startswith("<!-- claude-runner:"):
            break
        leading.append(line)
    if SUMMARY_MARKER not in leading:
        return None
    for line in leading:
        match = _HEAD.fullmatch(line)
        if match:
            return match.group(1)
    return None


def comment_fingerprint(body: str) -> str | None:
    """The fingerprint on the last line of an inline comment the runner posted, or None."""
    stripped = body.strip()
    last = stripped.rsplit("\n", 1)[-1].strip() if stripped else ""
    match = _FINDING.fullmatch(last)
    return match.group(1) if match else None


def posted_fingerprints(comment_bodies: Iterable[tuple[str, bool]]) -> set[str]:
    """Fingerprints of findings already posted and still open, from (body, resolved) pairs.

    A resolved comment does not count: resolving dismisses that instance, and if the problem is
    found again (e.g. it came back) it deserves a fresh comment.
    """
    found: set[str] = set()
    for body, resolved in comment_bodies:
        if resolved:
            continue
        fingerprint = comment_fingerprint(body)
        if fingerprint:
            found.add(fingerprint)
    return found


@dataclass(frozen=True)
class ReviewRange:
    """The commits a review covers: ``base..head``; ``incremental`` when ``base`` is a past head."""

    base: str
    head: str
    incremental: bool
    reason: str

    @property
    def nothing_new(self) -> bool:
        """True when the head was already reviewed: there is no diff to review."""
        return self.base == self.head


def review_range(
    *, merge_base: str, head: str, last_head: str | None, last_head_is_ancestor: bool
) -> ReviewRange:
    """Which commits to review, from the last reviewed head (if any) to ``head``.

    * no earlier review: the whole change, from ``merge_base``;
    * the last reviewed head is ``head``: nothing new (``base == head``);
    * it is an ancestor of ``head``: only the commits since it;
    * otherwise the branch was force-pushed or rebased and the old head means nothing for the
      new history: the whole change again.
    """
    if last_head is None:
        return ReviewRange(merge_base, head, False, "first review")
    if last_head == head:
        return ReviewRange(head, head, True, "no new commits since the last review")
    if last_head_is_ancestor:
        return ReviewRange(last_head, head, True, f"commits since the last review ({last_head[:7]})")
    return ReviewRange(merge_base, head, False, "force-push or rebase since the last review")
