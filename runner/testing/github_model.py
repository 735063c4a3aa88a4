"""The records behind the fake GitHub (users, issues, pull requests, comments, reviews), GitHub's
error type, and diff arithmetic for review comment positions (stdlib only)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ApiError",
    "Comment",
    "Issue",
    "PullFile",
    "PullInfo",
    "Review",
    "ReviewComment",
    "User",
    "diff_rows",
    "fake_sha",
    "locate",
    "not_found",
    "validation_failed",
]

DOCS = "https://docs.github.com/rest"
PERMISSIONS = ("admin", "maintain", "write", "triage", "read", "none")
REVIEW_STATES = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}
MAX_BODY = 65536
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


class ApiError(Exception):
    """A REST error: `status` and GitHub's body `{"message", "documentation_url"[, "errors"]}`."""

    def __init__(self, status: int, message: str, errors: list[Any] | None = None, docs: str = DOCS) -> None:
        super().__init__(f"{status} {message}")
        self.status, self.message, self.errors, self.docs = status, message, errors, docs

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        body: dict[str, Any] = {"message": self.message, "documentation_url": self.docs}
        if self.errors is not None:  # `validation-error` documents no `status`, `basic-error` does
            body["errors"] = self.errors
        else:
            body["status"] = str(self.status)
        return body


def not_found() -> ApiError:
    """GitHub's 404."""
    return ApiError(404, "Not Found")


def validation_failed(resource: str, field_name: str, code: str, message: str | None = None) -> ApiError:
    """GitHub's 422 `Validation Failed` with one `errors` entry."""
    error: dict[str, Any] = {"resource": resource, "code": code, "field": field_name}
    if message is not None:
        error["message"] = message
    if not field_name:
        del error["field"]
    return ApiError(422, "Validation Failed", [error])


@dataclass
class User:
    """A GitHub account and its permission on the repository (`admin`, `maintain`, `write`,
    `triage`, `read` or `none`)."""

    login: str
    id: int
    type: str = "User"
    permission: str = "write"
    association: str | None = None
    site_admin: bool = False


@dataclass
class PullFile:
    """One changed file of a pull request, as `GET .../pulls/{n}/files` lists it."""

    filename: str
    status: str = "modified"
    patch: str | None = None
    additions: int = 0
    deletions: int = 0
    previous_filename: str | None = None
    sha: str = ""

    @classmethod
    def coerce(cls, spec: PullFile | Mapping[str, Any]) -> PullFile:
        """A file from a dict (`filename` and optionally `status`, `patch`, `additions`, ...);
        counts default to those of the patch."""
        if isinstance(spec, PullFile):
            return spec
        patch = spec.get("patch")
        rows = (patch or "").split("\n")
        adds = sum(1 for r in rows if r.startswith("+") and not r.startswith("+++"))
        dels = sum(1 for r in rows if r.startswith("-") and not r.startswith("---"))
        digest = hashlib.sha1(f"{spec['filename']}\0{patch}".encode()).hexdigest()
        return cls(
            filename=spec["filename"],
            status=spec.get("status", "modified"),
            patch=patch,
            additions=spec.get("additions", adds),
            deletions=spec.get("deletions", dels),
            previous_filename=spec.get("previous_filename"),
            sha=spec.get("sha", digest),
        )


@dataclass
class PullInfo:
    """The pull-request half of an issue that is a pull request."""

    head_ref: str
    base_ref: str
    head_sha: str
    base_sha: str
    head_repo_full_name: str
    draft: bool = False
    merged: bool = False
    mergeable: bool | None = True
    mergeable_state: str = "clean"
    maintainer_can_modify: bool = False
    commits: int = 1
    files: list[PullFile] = field(default_factory=list)


@dataclass
class Issue:
    """An issue or (with `pull`) a pull request."""

    number: int
    id: int
    title: str
    body: str | None
    user: str
    state: str = "open"
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    created_at: float = 0.0
    updated_at: float = 0.0
    closed_at: float | None = None
    locked: bool = False
    pull: PullInfo | None = None


@dataclass
class Comment:
    """An issue (or pull request conversation) comment."""

    id: int
    issue_number: int
    body: str
    user: str
    created_at: float
    updated_at: float
    minimized: bool = False  # hidden by a maintainer; only GraphQL tells (`isMinimized`)
    minimized_reason: str | None = None  # the `MinimizeComment` classifier, e.g. "SPAM", "OFF_TOPIC"


@dataclass
class ReviewComment:
    """An inline pull request review comment."""

    id: int
    number: int
    body: str
    user: str
    path: str
    line: int | None
    side: str
    commit_id: str
    diff_hunk: str
    position: int | None
    created_at: float
    updated_at: float
    start_line: int | None = None
    start_side: str | None = None
    in_reply_to_id: int | None = None
    review_id: int | None = None
    subject_type: str = "line"


@dataclass
class Review:
    """A pull request review (`APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`)."""

    id: int
    number: int
    user: str
    body: str
    state: str
    commit_id: str
    submitted_at: float | None


def diff_rows(patch: str) -> Iterator[tuple[int, int | None, int | None, int, int]]:
    """For each diff line after the first hunk header: (position, old line or None, new line or None,
    index of its hunk header, its own index). Positions count from 1 below the first `@@`, and later
    hunk headers count too, as GitHub's `position` does."""
    old = new = position = 0
    header = -1
    for index, row in enumerate(patch.split("\n")):
        match = _HUNK.match(row)
        if match:
            old, new, header = int(match.group(1)), int(match.group(2)), index
            position += 1 if index > 0 else 0
            continue
        if header < 0 or row.startswith("\\"):
            continue
        position += 1
        if row.startswith("-"):
            yield position, old, None, header, index
            old += 1
        elif row.startswith("+"):
            yield position, None, new, header, index
            new += 1
        else:
            yield position, old, new, header, index
            old, new = old + 1, new + 1


def locate(patch: str, line: int | None, side: str, position: int | None) -> tuple[int, int, str] | None:
    """Where a comment on `line` of `side` (or at diff `position`) sits in `patch`:
    (position, line, diff hunk from its `@@` header down to the line), or None if not in the diff."""
    rows = patch.split("\n")
    for pos, old, new, header, index in diff_rows(patch):
        hit = old if side == "LEFT" else new
        if hit is not None and (pos == position if position is not None else hit == line):
            return pos, hit, "\n".join(rows[header : index + 1])
    return None


def fake_sha(seed: str) -> str:
    """A stable 40-hex commit id derived from `seed`."""
    return hashlib.sha1(seed.encode()).hexdigest()
