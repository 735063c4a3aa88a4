"""GitHub's wire formats turned into our plain values: the GraphQL comments query and its
comments, REST's pull request, reviews, review comments and files, pagination links, timestamps
and error messages. Pure functions, no client."""

from __future__ import annotations

import urllib.parse
from datetime import datetime
from typing import Any

from runner.platforms.base import ChangedFile, ThreadComment, can_write_by_association

GHOST = "ghost"  # how GitHub names a deleted account

_COMMENT_PAGE = """comments(first: 100, after: $after) {
          totalCount pageInfo { hasNextPage endCursor }
          nodes {
            databaseId body author { __typename login } authorAssociation
            createdAt updatedAt lastEditedAt isMinimized minimizedReason
          }
        }"""
COMMENTS_QUERY = f"""query ThreadComments($owner: String!, $name: String!, $number: Int!, $after: String) {{
  repository(owner: $owner, name: $name) {{
    issueOrPullRequest(number: $number) {{
      ... on Issue {{
        {_COMMENT_PAGE}
      }}
      ... on PullRequest {{
        {_COMMENT_PAGE}
      }}
    }}
  }}
}}
"""

# What only GraphQL says about conversation comments listed over REST (by their ``node_id``):
# whether each is minimized, and when its body was last edited. At most 100 ids a query.
MINIMIZED_QUERY = """query MinimizedComments($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on IssueComment { databaseId isMinimized lastEditedAt }
  }
}
"""


def default_graphql_url(api_url: str) -> str:
    """GitHub's GraphQL endpoint next to the REST root ``api_url``."""
    if api_url.endswith("/api/v3"):  # Enterprise Server
        return api_url.removesuffix("/v3") + "/graphql"
    return api_url + "/graphql"


def graphql_comment(node: dict[str, Any]) -> ThreadComment:
    """A conversation comment from GraphQL's ``IssueComment``."""
    author = node.get("author")  # null: the account was deleted (REST calls it "ghost")
    is_bot = author is not None and author.get("__typename") == "Bot"
    login = str(author["login"]) if author else GHOST
    if is_bot and not login.endswith("[bot]"):
        login += "[bot]"  # GraphQL names a bot by its App's slug; REST and webhooks as "slug[bot]"
    # The later of the two: an edit of the body (``lastEditedAt``) is what must not postdate
    # the trigger, and ``updatedAt`` is what REST's ``updated_at`` reported.
    stamps = [t for t in (parse_time(node.get("updatedAt")), parse_time(node.get("lastEditedAt"))) if t]
    return ThreadComment(
        id=int(node["databaseId"]),
        kind="comment",
        author=login,
        body=node.get("body") or "",
        created_at=parse_time(node.get("createdAt")),
        updated_at=max(stamps) if stamps else None,
        author_is_bot=is_bot,
        minimized=bool(node.get("isMinimized")),
        author_can_write=can_write_by_association(node.get("authorAssociation")),
    )


def rest_issue_comment(comment: dict[str, Any], node: dict[str, Any] | None) -> ThreadComment:
    """A conversation comment from REST's list of an issue's comments, with what GraphQL's
    ``node`` (``MINIMIZED_QUERY``) adds: as ``graphql_comment`` would have read it."""
    node = node or {}
    stamps = [t for t in (parse_time(comment.get("updated_at")), parse_time(node.get("lastEditedAt"))) if t]
    return ThreadComment(
        id=int(comment["id"]),
        kind="comment",
        author=login_of(comment.get("user")),  # REST already names a bot "slug[bot]"
        body=comment.get("body") or "",
        created_at=parse_time(comment.get("created_at")),
        updated_at=max(stamps) if stamps else None,
        author_is_bot=is_bot(comment.get("user")),
        minimized=bool(node.get("isMinimized")),
        author_can_write=can_write_by_association(comment.get("author_association")),
    )


def pull_fields(pr: dict[str, Any], repo_full_name: str) -> dict[str, Any]:
    """``ThreadData``'s pull request fields from REST's pull request: draft, branches, commits, and
    whether the head is in a fork of ``repo_full_name``."""
    head_repo = (pr["head"].get("repo") or {}).get("full_name")
    return dict(
        draft=bool(pr.get("draft")),
        head_ref=pr["head"]["ref"],
        base_ref=pr["base"]["ref"],
        head_sha=pr["head"]["sha"],
        base_sha=pr["base"]["sha"],
        head_repo=head_repo,
        is_fork=head_repo != repo_full_name,
    )


def login_of(user: Any) -> str:
    """The login of a REST ``simple-user``; a deleted account (``user: null``) reads as "ghost",
    as GitHub shows it."""
    login = user.get("login") if isinstance(user, dict) else None
    return str(login) if login else GHOST


def is_bot(user: Any) -> bool:
    """Whether a REST ``simple-user`` (or null) is a bot account."""
    return isinstance(user, dict) and user.get("type") == "Bot"


def label_names(labels: Any) -> tuple[str, ...]:
    """Label names from an ``issue``'s ``labels``: objects with a ``name``, or plain strings (the
    description allows both)."""
    names = []
    for label in labels if isinstance(labels, list) else ():
        name = label.get("name") if isinstance(label, dict) else label
        if isinstance(name, str) and name:
            names.append(name)
    return tuple(names)


def rest_review(review: dict[str, Any]) -> ThreadComment:
    """A review (its body and verdict) from REST's list of a pull request's reviews."""
    return ThreadComment(
        id=int(review["id"]),
        kind="review",
        author=login_of(review.get("user")),
        author_is_bot=is_bot(review.get("user")),
        body=review.get("body") or "",
        created_at=parse_time(review.get("submitted_at")),
        review_state=review.get("state"),
        author_can_write=can_write_by_association(review.get("author_association")),
    )


def rest_review_comment(comment: dict[str, Any]) -> ThreadComment:
    """An inline comment on the diff from REST's list of a pull request's review comments."""
    return ThreadComment(
        id=int(comment["id"]),
        kind="review_comment",
        author=login_of(comment.get("user")),
        author_is_bot=is_bot(comment.get("user")),
        body=comment.get("body") or "",
        created_at=parse_time(comment.get("created_at")),
        updated_at=parse_time(comment.get("updated_at")),
        path=comment.get("path"),
        line=comment.get("line") or comment.get("original_line"),
        diff_hunk=comment.get("diff_hunk"),
        in_reply_to=comment.get("in_reply_to_id"),
        author_can_write=can_write_by_association(comment.get("author_association")),
    )


def rest_changed_file(file: dict[str, Any]) -> ChangedFile:
    """A changed file from REST's list of a pull request's files."""
    return ChangedFile(
        path=file["filename"],
        status=file["status"],
        additions=int(file.get("additions", 0)),
        deletions=int(file.get("deletions", 0)),
        patch=file.get("patch"),
        previous_path=file.get("previous_filename"),
    )


def next_link(header: str) -> str | None:
    """The ``rel="next"`` URL of a GitHub ``Link`` header."""
    for part in header.split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return url.strip().strip("<>")
    return None


def last_page(header: str) -> int | None:
    """The page number of a GitHub ``Link`` header's ``rel="last"`` URL (None: no such link)."""
    for part in header.split(","):
        url, _, rel = part.partition(";")
        if 'rel="last"' in rel:
            query = urllib.parse.urlsplit(url.strip().strip("<>")).query
            pages = urllib.parse.parse_qs(query).get("page")
            return int(pages[0]) if pages and pages[0].isdigit() else None
    return None


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def error_message(exc: Any) -> str:
    """GitHub's error message, with the first validation detail (422s say little otherwise)."""
    data = getattr(exc, "data", None)
    if not isinstance(data, dict) or not data.get("message"):
        return str(exc)
    message = str(data["message"])
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        detail = first.get("message") or first.get("code") if isinstance(first, dict) else str(first)
        if detail:
            message += f" ({detail})"
    return message
