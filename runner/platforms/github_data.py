"""GitHub's wire formats turned into our plain values: the GraphQL comments query, REST
pagination links, timestamps and error messages. Pure functions, no client."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runner.platforms.base import ThreadComment

_COMMENT_PAGE = """comments(first: 100, after: $after) {
          pageInfo { hasNextPage endCursor }
          nodes {
            databaseId body author { __typename login }
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


def default_graphql_url(api_url: str) -> str:
    """GitHub's GraphQL endpoint next to the REST root ``api_url``."""
    if api_url.endswith("/api/v3"):  # Enterprise Server
        return api_url.removesuffix("/v3") + "/graphql"
    return api_url + "/graphql"


def graphql_comment(node: dict[str, Any]) -> ThreadComment:
    """A conversation comment from GraphQL's ``IssueComment``."""
    author = node.get("author")  # null: the account was deleted (REST calls it "ghost")
    is_bot = author is not None and author.get("__typename") == "Bot"
    login = str(author["login"]) if author else "ghost"
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
    )


def next_link(header: str) -> str | None:
    """The ``rel="next"`` URL of a GitHub ``Link`` header."""
    for part in header.split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return url.strip().strip("<>")
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
