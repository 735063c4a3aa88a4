"""GitLab's wire formats turned into our plain values: access levels, notes and discussions,
diff entries, diff positions, suggestion blocks and error messages. Pure functions, no client."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from runner.platforms.base import ChangedFile, ThreadComment, permission_at_least

Noteable = Literal["merge_request", "issue"]

# GitLab's member access levels (``access_level``) and the protocol's level each one grants.
# Reporters can label and triage but not push, which is GitHub's "triage"; Developers push, which is
# what "write" gates; Maintainers and Owners manage the project.
ACCESS_LEVELS = {0: "none", 5: "none", 10: "read", 15: "read", 20: "triage", 30: "write", 40: "maintain"}
OWNER = 50

# Project and group access tokens act as bot users named like this (GitLab does not say "bot" in
# the basic user object other users may read), as do GitLab's own service accounts.
_BOT_NAME = re.compile(r"^(project|group)_\d+_bot(_[0-9a-f]+)?$|^(alert|support|ghost|visual_review)-bot$")
_DRAFT = re.compile(r"^\s*(\[draft\]|\(draft\)|draft:|draft\s*-)\s*", re.IGNORECASE)
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def access_permission(level: int | None) -> str:
    """The protocol's permission for a GitLab ``access_level`` (None: not a member)."""
    if level is None:
        return "none"
    if level >= OWNER:
        return "admin"
    return ACCESS_LEVELS.get(max((k for k in ACCESS_LEVELS if k <= level), default=0), "none")


def is_bot_account(user: Mapping[str, Any]) -> bool:
    """A bot: GitLab's ``bot`` flag when the object has it, else the bot username patterns."""
    if user.get("bot") is not None:
        return bool(user["bot"])
    return bool(_BOT_NAME.match(str(user.get("username") or "")))


def label_names(labels: Any) -> tuple[str, ...]:
    """Label names: GitLab sends strings, or objects with a ``name`` (``with_labels_details``)."""
    names = []
    for label in labels if isinstance(labels, list) else ():
        name = label.get("name") if isinstance(label, Mapping) else label
        if isinstance(name, str) and name:
            names.append(name)
    return tuple(names)


def strip_draft(title: str) -> str:
    """An MR title without GitLab's draft prefix ("Draft:", "[Draft]", "(Draft)"): ``draft`` says it."""
    return _DRAFT.sub("", title, count=1)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def thread_state(state: str | None) -> str:
    """GitLab's ``opened`` is the protocol's ``open``; closed, merged and locked are kept."""
    return "open" if state in (None, "opened", "reopened") else str(state)


def error_message(exc: Any) -> str:
    """GitLab's message: a string, a list, or a field -> [messages] mapping (validation errors)."""
    message = getattr(exc, "error_message", None)
    if isinstance(message, bytes):
        message = message.decode(errors="replace")
    if isinstance(message, Mapping):
        parts = []
        for key, value in message.items():
            text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(text if key == "base" else f"{key}: {text}")
        return "; ".join(parts)
    if isinstance(message, list):
        return "; ".join(map(str, message))
    return str(message or exc)


def changed_file(entry: Mapping[str, Any]) -> ChangedFile:
    """A ``ChangedFile`` from one entry of ``/merge_requests/:iid/diffs`` (or ``changes``)."""
    if entry.get("new_file"):
        status = "added"
    elif entry.get("deleted_file"):
        status = "removed"
    elif entry.get("renamed_file"):
        status = "renamed"
    else:
        status = "modified"
    patch = entry.get("diff") or ""
    additions = deletions = 0
    for line in patch.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            additions += 1
        elif line.startswith("-") and not line.startswith("---"):
            deletions += 1
    return ChangedFile(
        path=str(entry.get("new_path") or entry.get("old_path")),
        status=status,
        additions=additions,
        deletions=deletions,
        patch=patch or None,
        previous_path=entry.get("old_path") if status == "renamed" else None,
    )


def hunk_up_to(patch: str | None, new_line: int | None, old_line: int | None) -> str | None:
    """The hunk of ``patch`` holding the line, cut after it (what GitHub calls a ``diff_hunk``)."""
    if not patch or (new_line is None and old_line is None):
        return None
    hunk: list[str] = []
    old = new = 0
    for line in patch.splitlines():
        header = _HUNK.match(line)
        if header:
            hunk, old, new = [line], int(header.group(1)), int(header.group(2))
            continue
        if not hunk:
            continue
        hunk.append(line)
        kind = line[:1]
        at_old = kind in (" ", "-") and old_line is not None and old == old_line
        at_new = kind in (" ", "+") and new_line is not None and new == new_line
        if at_new or (at_old and (new_line is None or kind == "-")):
            return "\n".join(hunk)
        old += kind in (" ", "-")
        new += kind in (" ", "+")
    return None


def thread_comments(
    discussions: Iterable[Mapping[str, Any]], patches: Mapping[str, str | None]
) -> tuple[list[ThreadComment], dict[int, str]]:
    """Every non-system note of ``discussions`` as a ``ThreadComment``, and note id -> discussion.

    Diff notes become ``review_comment``s with their path, line, position and the hunk around the
    line (from ``patches``: path -> patch); replies point at the first note of their thread."""
    comments: list[ThreadComment] = []
    where: dict[int, str] = {}
    for discussion in discussions:
        discussion_id = str(discussion["id"])
        notes = discussion.get("notes") or []
        first = int(notes[0]["id"]) if notes and not discussion.get("individual_note") else None
        for note in notes:
            where[int(note["id"])] = discussion_id
            if note.get("system"):  # "added 1 commit", "changed the description": not conversation
                continue
            comments.append(_note(note, discussion_id, first, patches))
    return comments, where


def note_authors(discussions: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """User id -> username of everyone who wrote a (non-system) note in ``discussions``."""
    authors: dict[int, str] = {}
    for discussion in discussions:
        for note in discussion.get("notes") or []:
            author = note.get("author") or {}
            if not note.get("system") and isinstance(author.get("id"), int) and author.get("username"):
                authors[int(author["id"])] = str(author["username"])
    return authors


def with_write_access(comments: Iterable[ThreadComment], writers: Mapping[str, bool]) -> list[ThreadComment]:
    """``comments`` with ``author_can_write`` from ``writers`` (username -> can push; a username
    not in it stays unknown)."""
    return [replace(c, author_can_write=writers.get(c.author, c.author_can_write)) for c in comments]


def can_push(member: Mapping[str, Any] | None) -> bool:
    """Whether a ``members/all`` entry (None: not a member) can push: an active Developer or above."""
    if not member or member.get("state", "active") != "active":
        return False
    return permission_at_least(access_permission(member.get("access_level")), "write")


def _note(
    note: Mapping[str, Any], discussion_id: str, first: int | None, patches: Mapping[str, str | None]
) -> ThreadComment:
    author = note.get("author") or {}
    position = note.get("position") if note.get("type") == "DiffNote" else None
    path = line = hunk = None
    if isinstance(position, Mapping):
        new_line, old_line = position.get("new_line"), position.get("old_line")
        path = position.get("new_path") if new_line is not None else position.get("old_path")
        path = path or position.get("new_path") or position.get("old_path")
        line = new_line if new_line is not None else old_line
        hunk = hunk_up_to(patches.get(str(position.get("new_path"))), new_line, old_line)
    note_id = int(note["id"])
    return ThreadComment(
        id=note_id,
        kind="review_comment" if position else "comment",
        author=str(author.get("username") or "ghost"),
        body=str(note.get("body") or ""),
        created_at=parse_time(note.get("created_at")),
        updated_at=parse_time(note.get("updated_at")),
        author_is_bot=is_bot_account(author),
        path=path,
        line=line,
        diff_hunk=hunk,
        in_reply_to=first if first is not None and first != note_id else None,
        discussion_id=discussion_id,
        position=dict(position) if isinstance(position, Mapping) else None,
        resolved=note.get("resolved") if note.get("resolvable") else None,
    )


def text_position(
    diff_refs: Mapping[str, Any],
    new_path: str,
    *,
    new_line: int | None = None,
    old_line: int | None = None,
    old_path: str | None = None,
) -> dict[str, Any]:
    """A ``position`` for a diff note on one line: ``new_line`` for an added or unchanged line,
    ``old_line`` for a removed one (both for an unchanged line), with the MR's ``diff_refs``."""
    if new_line is None and old_line is None:
        raise ValueError("a diff note needs new_line or old_line")
    position: dict[str, Any] = {
        "position_type": "text",
        "base_sha": diff_refs["base_sha"],
        "start_sha": diff_refs["start_sha"],
        "head_sha": diff_refs["head_sha"],
        "old_path": old_path or new_path,
        "new_path": new_path,
    }
    if new_line is not None:
        position["new_line"] = new_line
    if old_line is not None:
        position["old_line"] = old_line
    return position


def suggestion(replacement: str, *, above: int = 0, below: int = 0) -> str:
    """A suggestion block replacing the commented line (and ``above``/``below`` lines around it)."""
    fence = "````" if "```" in replacement else "```"
    text = replacement if replacement.endswith("\n") or not replacement else replacement + "\n"
    return f"{fence}suggestion:-{above}+{below}\n{text}{fence}"
