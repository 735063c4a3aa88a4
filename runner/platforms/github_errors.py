"""GitHub's refusals as the runner's one-line errors. Light on purpose (no PyGithub, no requests):
the acknowledgement's small client (``github_ack.py``) and the SDK adapter (``github_client.py``)
both say the same thing for the same answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.errors import CredentialsError, PlatformError, PlatformUnavailable
from runner.platforms.retry import RETRY_STATUSES, Backoff, rate_limited

STATUS_PAGE = "https://www.githubstatus.com"


def data_message(data: Any) -> str | None:
    """GitHub's error message in an answer's JSON, with the first validation detail (422s say
    little otherwise), or None when the answer has no message."""
    if not isinstance(data, dict) or not data.get("message"):
        return None
    message = str(data["message"])
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        detail = first.get("message") or first.get("code") if isinstance(first, dict) else str(first)
        if detail:
            message += f" ({detail})"
    return message


def refusal(
    what: str,
    status: int,
    message: str,
    headers: Mapping[str, str],
    *,
    authenticated: bool,
    backoff: Backoff,
) -> PlatformError | CredentialsError:
    """The error for GitHub answering ``status`` while the runner tried to ``what``; ``message`` is
    the status and GitHub's words, ``authenticated`` whether the token had worked before."""
    if status == 401:
        if authenticated:
            return CredentialsError(
                f"the GitHub token expired or was revoked (401 while trying to {what})",
                "run the job again; a github_token must stay valid for the whole job",
            )
        return CredentialsError(
            f"GitHub rejected the token while trying to {what}",
            "check github_token or the App installation",
        )
    if status == 429 or (status == 403 and rate_limited(headers)):
        wait = backoff.server_wait(headers)
        until = f" (GitHub asks to wait {wait:.0f} s)" if wait else ""
        return PlatformUnavailable(
            f"GitHub API rate limit while trying to {what}: {message}{until}{backoff.after()}",
            "run the job again once the limit resets",
        )
    if status in RETRY_STATUSES and status != 403:
        return PlatformUnavailable(
            f"GitHub API kept failing while trying to {what}: {message}{backoff.after()}",
            f"GitHub may be having an outage ({STATUS_PAGE}); run the job again later",
        )
    return PlatformError(f"GitHub could not {what}: {message}")
