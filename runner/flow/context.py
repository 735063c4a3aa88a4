"""The ``Context`` a prompt needs, built from a fetched thread: filtered, cleaned, budgeted.

Pure: the thread, the diff and the trigger time come in as values. What does not fit the
token budget is not lost: it goes into ``overflow`` files that the runner writes where the
agent can read them, and the prompt says so.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from runner.platforms.base import ChangedFile, ThreadComment, ThreadData
from runner.sanitize import Redactor, clean_untrusted, clean_untrusted_code

CHARS_PER_TOKEN = 4  # a conservative estimate for English and code
DEFAULT_BUDGET_TOKENS = 30_000
BODY_SHARE = 0.25  # at most this much of the budget for the title and body
COMMENTS_SHARE = 0.35  # then this much for the conversation; the rest for files and diff
MAX_FILES_LISTED = 300


@dataclass(frozen=True)
class Context:
    """What the prompt shows about the thread, all of it sanitised."""

    repository: str
    number: int
    is_pull_request: bool
    title: str
    body: str
    author: str
    state: str
    labels: tuple[str, ...] = ()
    draft: bool = False
    head_ref: str | None = None
    base_ref: str | None = None
    is_fork: bool = False
    request: str | None = None  # what the trigger asked for
    trigger_author: str | None = None
    comments: tuple[ThreadComment, ...] = ()
    files: tuple[ChangedFile, ...] = ()
    files_total: int = 0
    diff: str = ""
    overflow: dict[str, str] = field(default_factory=dict)  # file name -> content, for the agent to read
    notes: tuple[str, ...] = ()  # what was left out and why, said in the prompt


def estimate_tokens(text: str) -> int:
    """A cheap token estimate for budgeting."""
    return len(text) // CHARS_PER_TOKEN + 1


def keep_for_prompt(
    comments: tuple[ThreadComment, ...],
    trigger_time: datetime | None,
    trigger_comment_id: int | None,
    own_comment_ids: Collection[int] = (),
) -> tuple[list[ThreadComment], list[str]]:
    """Comments the prompt may show: none hidden, none created or edited at or after the trigger.

    A comment edited after someone asked ``@claude`` could smuggle in instructions the
    requester never saw; the trigger comment itself is shown separately as the request.
    ``own_comment_ids``: this run's own comments (its tracking comment), left out silently:
    counting them as "left out" would only puzzle the model.
    """
    kept: list[ThreadComment] = []
    late = hidden = 0
    for comment in comments:
        if comment.id == trigger_comment_id or comment.id in own_comment_ids:
            continue
        if comment.minimized:
            hidden += 1
            continue
        stamps = [t for t in (comment.created_at, comment.updated_at) if t is not None]
        if trigger_time is not None and any(t >= trigger_time for t in stamps):
            late += 1
            continue
        kept.append(comment)
    notes = []
    if late:
        notes.append(f"{late} comment(s) created or edited after the request were left out.")
    if hidden:
        notes.append(f"{hidden} hidden (minimized) comment(s) were left out.")
    return kept, notes


def actor_matches(login: str, pattern: str) -> bool:
    """Whether ``login`` matches ``pattern``: a login, or one with ``*`` wildcards (``*[bot]``,
    ``renovate*``); case-insensitive, as logins are."""
    login, pattern = login.lower(), pattern.strip().lower()
    if "*" not in pattern:
        return login == pattern
    first, *middle, last = pattern.split("*")
    if len(login) < len(first) + len(last) or not (login.startswith(first) and login.endswith(last)):
        return False
    pos, end = len(first), len(login) - len(last)
    for piece in middle:
        found = login.find(piece, pos, end)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


def filter_by_actor(
    comments: Sequence[ThreadComment], include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> tuple[list[ThreadComment], int]:
    """``include_comments_by_actor`` / ``exclude_comments_by_actor``: the comments to show, and how
    many were left out. With ``include``, only its actors' comments; ``exclude`` wins over it.
    ``*[bot]`` also matches a bot whose login has no ``[bot]`` (GitLab's bot users)."""

    def matches(comment: ThreadComment, patterns: Sequence[str]) -> bool:
        return any(
            actor_matches(comment.author, p) or (comment.author_is_bot and p.strip().lower() == "*[bot]")
            for p in patterns
            if p.strip()
        )

    kept = [c for c in comments if not matches(c, exclude) and (not any(include) or matches(c, include))]
    return kept, len(comments) - len(kept)


def build_context(
    thread: ThreadData,
    *,
    repository: str,
    title: str | None = None,
    body: str | None = None,
    request: str | None = None,
    trigger_author: str | None = None,
    trigger_time: datetime | None = None,
    trigger_comment_id: int | None = None,
    own_comment_ids: Collection[int] = (),
    diff: str = "",
    budget_tokens: int = DEFAULT_BUDGET_TOKENS,
    redactor: Redactor | None = None,
    include_comments_by_actor: Sequence[str] = (),
    exclude_comments_by_actor: Sequence[str] = (),
) -> Context:
    """Filter, clean and fit the thread into ``budget_tokens``.

    ``title`` and ``body`` should come from the event payload (as they were when the
    request was made), falling back to the fetched thread. ``own_comment_ids``: the run's own
    comments, never shown. ``include_comments_by_actor`` / ``exclude_comments_by_actor``: the
    workflow's actor filters (``filter_by_actor``).
    """

    def clean(text: str | None) -> str:
        return clean_untrusted(text or "", redactor)

    def clean_code(text: str) -> str:  # diffs, paths, branch names: not markdown
        return clean_untrusted_code(text, redactor)

    kept, notes = keep_for_prompt(thread.comments, trigger_time, trigger_comment_id, own_comment_ids)
    kept, filtered = filter_by_actor(kept, include_comments_by_actor, exclude_comments_by_actor)
    if filtered:
        notes.append(
            f"{filtered} comment(s) were left out by the workflow's include_comments_by_actor / "
            "exclude_comments_by_actor."
        )
    comments = [
        replace(
            c,
            body=clean(c.body),
            path=clean_code(c.path) if c.path else None,
            diff_hunk=clean_code(c.diff_hunk) if c.diff_hunk else None,
        )
        for c in kept
    ]
    overflow: dict[str, str] = {}

    body_text = clean(body if body is not None else thread.body)
    body_budget = int(budget_tokens * BODY_SHARE)
    if estimate_tokens(body_text) > body_budget:
        overflow["description.md"] = body_text
        body_text = body_text[: body_budget * CHARS_PER_TOKEN] + "\n[... cut: the rest is in description.md]"
        notes.append("The description was cut; the full text is in description.md.")
    used = estimate_tokens(body_text)

    # Newest comments matter most: keep from the end, within the conversation's share.
    comment_budget = int(budget_tokens * COMMENTS_SHARE)
    shown: list[ThreadComment] = []
    spent = 0
    for comment in reversed(comments):
        cost = estimate_tokens(comment.body) + estimate_tokens(comment.diff_hunk or "") + 20
        if spent + cost > comment_budget:
            break
        shown.append(comment)
        spent += cost
    shown.reverse()
    if len(shown) < len(comments):
        overflow["comments.md"] = render_comments(comments)
        notes.append(
            f"Only the newest {len(shown)} of {len(comments)} comments are shown; all are in comments.md."
        )
    used += spent

    files = list(thread.files)
    listed = [replace(f, patch=None, path=clean_code(f.path)) for f in files[:MAX_FILES_LISTED]]
    if len(files) > MAX_FILES_LISTED:
        overflow["files.txt"] = "\n".join(
            f"{f.status}\t+{f.additions}\t-{f.deletions}\t{clean_code(f.path)}" for f in files
        )
        notes.append(
            f"{len(files)} files changed; the first {MAX_FILES_LISTED} are listed; all in files.txt."
        )
    used += sum(estimate_tokens(f.path) + 8 for f in listed)

    diff_budget = max(budget_tokens - used, 0)
    diff_text = clean_code(diff)
    if estimate_tokens(diff_text) > diff_budget:
        overflow["diff.patch"] = diff_text
        cut = diff_text[: diff_budget * CHARS_PER_TOKEN]
        diff_text = cut[: cut.rfind("\ndiff --git")] if "\ndiff --git" in cut else cut
        notes.append("The diff was cut to fit; the whole diff is in diff.patch.")

    return Context(
        repository=repository,
        number=thread.number,
        is_pull_request=thread.is_pull_request,
        title=_one_line(clean(title if title is not None else thread.title)),
        body=body_text,
        author=thread.author,
        state=thread.state,
        labels=tuple(clean(label) for label in thread.labels),
        draft=thread.draft,
        head_ref=clean_code(thread.head_ref) if thread.head_ref else None,
        base_ref=clean_code(thread.base_ref) if thread.base_ref else None,
        is_fork=thread.is_fork,
        request=clean(request) if request is not None else None,
        trigger_author=trigger_author,
        comments=tuple(shown),
        files=tuple(listed),
        files_total=len(files),
        diff=diff_text,
        overflow=overflow,
        notes=tuple(notes),
    )


def _one_line(text: str) -> str:
    """A title stays on its line, even when HTML in it renders as blocks (``Fix <details> layout``)."""
    return " ".join(part.strip() for part in text.split("\n") if part.strip()) if "\n" in text else text


def render_comments(comments: list[ThreadComment]) -> str:
    """Comments as plain markdown, oldest first (for the overflow file)."""
    parts = []
    for c in comments:
        when = c.created_at.isoformat() if c.created_at else "?"
        where = f" on {c.path}:{c.line}" if c.path else ""
        state = f" ({c.review_state})" if c.review_state else ""
        access = " (no write access)" if c.author_can_write is False else ""
        hunk = f"\n```diff\n{c.diff_hunk}\n```" if c.diff_hunk else ""
        parts.append(f"### {c.kind}{state} by {c.author}{access} at {when}{where}{hunk}\n\n{c.body}")
    return "\n\n".join(parts)
