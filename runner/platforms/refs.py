"""What the acknowledgement of a mention needs of the platform model (``flow/ack.py``): a comment's
reference and the permission levels, apart from ``base.py``'s many value types (which re-exports
them) so that the tracking comment is posted before those are loaded."""

from __future__ import annotations

from dataclasses import dataclass, field

# Permission levels, weakest first; "maintain" and "triage" are GitHub's, mapped by the adapter.
PERMISSION_ORDER = ("none", "read", "triage", "write", "maintain", "admin")


def permission_at_least(level: str, required: str) -> bool:
    """True when ``level`` grants at least ``required`` (unknown levels grant nothing)."""
    if level not in PERMISSION_ORDER or required not in PERMISSION_ORDER:
        return False
    return PERMISSION_ORDER.index(level) >= PERMISSION_ORDER.index(required)


@dataclass(frozen=True)
class CommentRef:
    """A comment the runner wrote: its id, its web URL, and which id space it lives in."""

    id: int
    url: str
    kind: str = "issue"  # "issue" (issue/PR conversation) or "review" (a reply in a review thread)
    # GitLab addresses a note through its merge request or issue, so its ref says which one;
    # ``discussion_id`` is the thread a reply went into (GitHub leaves all three unset).
    number: int | None = None
    noteable: str | None = None  # "merge_request" or "issue"
    discussion_id: str | None = None
    body: str | None = field(default=None, compare=False, repr=False)  # as found (find_comment)
