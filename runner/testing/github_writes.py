"""The writes the fake GitHub's REST endpoints make to its state, with GitHub's validation: each
function takes the decoded JSON payload and the caller's login, and raises `ApiError` as GitHub
answers (404 for a missing target, 422 `Validation Failed` for a bad payload)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.testing.github_model import (
    MAX_BODY,
    REVIEW_STATES,
    ApiError,
    Comment,
    Issue,
    PullInfo,
    Review,
    ReviewComment,
    locate,
    not_found,
    validation_failed,
)
from runner.testing.github_state import GitHubState

__all__ = [
    "create_comment",
    "create_pull",
    "create_review",
    "edit_comment",
    "edit_review_comment",
    "reply_to_review_comment",
]


def _body(payload: Mapping[str, Any], resource: str) -> str:
    body = payload.get("body")
    if not isinstance(body, str) or not body:
        raise validation_failed(resource, "body", "missing_field")
    if len(body) > MAX_BODY:
        message = f"body is too long (maximum is {MAX_BODY} characters)"
        raise validation_failed(resource, "body", "custom", message)
    return body


def _unprocessable(*errors: str) -> ApiError:
    return ApiError(422, "Unprocessable Entity", list(errors))


def _pull(state: GitHubState, number: int) -> PullInfo:
    try:
        return state.pull(number)
    except KeyError:
        raise not_found() from None


def create_comment(state: GitHubState, number: int, payload: Mapping[str, Any], login: str) -> Comment:
    """`POST /repos/{owner}/{repo}/issues/{number}/comments`."""
    with state.lock:
        if number not in state.issues:
            raise not_found()
        return state.add_comment(number, _body(payload, "IssueComment"), login)


def edit_comment(state: GitHubState, comment_id: int, payload: Mapping[str, Any]) -> Comment:
    """`PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}`."""
    with state.lock:
        comment = state.issue_comments.get(comment_id)
        if comment is None:
            raise not_found()
        comment.body, comment.updated_at = _body(payload, "IssueComment"), state.clock()
        return comment


def edit_review_comment(state: GitHubState, comment_id: int, payload: Mapping[str, Any]) -> ReviewComment:
    """`PATCH /repos/{owner}/{repo}/pulls/comments/{comment_id}`."""
    with state.lock:
        comment = state.review_comments.get(comment_id)
        if comment is None:
            raise not_found()
        comment.body, comment.updated_at = _body(payload, "PullRequestReviewComment"), state.clock()
        return comment


def create_pull(state: GitHubState, payload: Mapping[str, Any], login: str) -> Issue:
    """`POST /repos/{owner}/{repo}/pulls`: the head branch must exist (in this repository, or in a
    fork named `owner:branch`), differ from the base and have no open pull request yet."""
    for name in ("head", "base"):
        if not isinstance(payload.get(name), str) or not payload[name]:
            raise validation_failed("PullRequest", name, "missing_field")
    title = payload.get("title")
    if not isinstance(title, str) or not title.strip():
        raise validation_failed("PullRequest", "title", "missing_field")
    head, base = str(payload["head"]), str(payload["base"])
    head_owner, _, ref = head.rpartition(":")
    head_owner = head_owner or state.owner
    head_repo = state.full_name if head_owner == state.owner else f"{head_owner}/{state.repo_name}"
    head_repo = str(payload.get("head_repo") or head_repo)
    with state.lock:
        base_sha = state.branch_sha(base)
        if base_sha is None:
            raise validation_failed("PullRequest", "base", "invalid")
        head_sha = state.branch_sha(ref, head_repo)
        if head_sha is None:
            raise validation_failed("PullRequest", "head", "invalid")
        if (head_repo == state.full_name and ref == base) or head_sha == base_sha:
            raise validation_failed("PullRequest", "", "custom", f"No commits between {base} and {head}")
        for issue in state.issues.values():
            pull = issue.pull
            if (
                pull is not None
                and issue.state == "open"
                and (pull.head_repo_full_name, pull.head_ref, pull.base_ref) == (head_repo, ref, base)
            ):
                message = f"A pull request already exists for {head_owner}:{ref}."
                raise validation_failed("PullRequest", "", "custom", message)
        body = payload.get("body")
        issue = state.add_pull(
            head_ref=ref,
            base_ref=base,
            head_sha=head_sha,
            base_sha=base_sha,
            head_repo_full_name=head_repo,
            draft=bool(payload.get("draft", False)),
            title=title,
            body=body if isinstance(body, str) else None,
            user=login,
            maintainer_can_modify=bool(payload.get("maintainer_can_modify", head_repo != state.full_name)),
        )
        state.pulls_created.append(issue)
        return issue


def create_review(state: GitHubState, number: int, payload: Mapping[str, Any], login: str) -> Review:
    """`POST /repos/{owner}/{repo}/pulls/{number}/reviews`: a review with its inline `comments`,
    all or nothing. Without `event` the review stays PENDING."""
    with state.lock:
        pull = _pull(state, number)
        event = payload.get("event")
        if event is not None and event not in REVIEW_STATES:
            raise validation_failed("PullRequestReview", "event", "invalid")
        if event in ("APPROVE", "REQUEST_CHANGES") and state.issue(number).user == login:
            verb = "approve" if event == "APPROVE" else "request changes on"
            raise _unprocessable(f"Can not {verb} your own pull request")
        body = payload.get("body") or ""
        comments = payload.get("comments") or []
        if not isinstance(body, str) or not isinstance(comments, list):
            raise ApiError(400, "Problems parsing JSON")
        if event == "REQUEST_CHANGES" and not body:
            raise _unprocessable("Review body is required when requesting changes")
        if event is None and any(r.state == "PENDING" and r.user == login for r in state.reviews_of(number)):
            raise _unprocessable("User can only have one pending review per pull request")
        placed: list[dict[str, Any]] = []
        for spec in comments:
            if not isinstance(spec, dict) or not spec.get("path") or not spec.get("body"):
                raise validation_failed("PullRequestReviewComment", "body", "missing_field")
            placed.append(_place(pull, spec))
        review = state.add_review(
            number, login, REVIEW_STATES.get(str(event), "PENDING"), body, payload.get("commit_id")
        )
        for spec in placed:
            state.add_review_comment(number, user=login, review_id=review.id, **spec)
        state.reviews_created.append(review)
        return review


def _place(pull: PullInfo, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Check one inline comment of a review against the pull request's diff."""
    path, side = str(spec["path"]), str(spec.get("side") or "RIGHT")
    line, position = spec.get("line"), spec.get("position")
    if line is None and position is None and spec.get("subject_type") != "file":
        raise _unprocessable("Line could not be resolved")
    known = {f.filename: f for f in pull.files}
    if known and path not in known:
        raise _unprocessable("Path could not be resolved")
    patch = known[path].patch if path in known else None
    if patch and (line is not None or position is not None) and locate(patch, line, side, position) is None:
        raise _unprocessable("Line could not be resolved")
    start_line = spec.get("start_line")
    return {
        "body": str(spec["body"]),
        "path": path,
        "line": line,
        "side": side,
        "position": position,
        "start_line": start_line,
        "start_side": spec.get("start_side") or (side if start_line is not None else None),
    }


def reply_to_review_comment(
    state: GitHubState, number: int, comment_id: int, payload: Mapping[str, Any], login: str
) -> ReviewComment:
    """`POST /repos/{owner}/{repo}/pulls/{number}/comments/{comment_id}/replies`: the reply joins
    the thread of `comment_id` (a reply to a reply answers the thread's first comment) in a review of
    its own, as on GitHub."""
    with state.lock:
        target = state.review_comments.get(comment_id)
        if target is None or target.number != number:
            raise not_found()
        body = _body(payload, "PullRequestReviewComment")
        review = state.add_review(number, login, "COMMENTED", "")
        return state.add_review_comment(number, body, login, in_reply_to=comment_id, review_id=review.id)
