"""The fake GitHub's routes and endpoint handlers: each handler takes the fake and the routed
request and returns a `Reply` (or raises `ApiError`); writes go through `github_writes`."""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runner.testing import github_writes as writes
from runner.testing.github_model import ApiError, Issue, not_found
from runner.testing.github_objects import JSON, iso
from runner.testing.github_render import Renderer

if TYPE_CHECKING:
    from runner.testing.fake_github import FakeGitHub

__all__ = ["APP_ROUTES", "ENDPOINTS", "NEEDS", "ROUTES", "Reply", "Request", "RequestRecord"]

RATE_LIMIT = 5000
DEFAULT_APP_PERMISSIONS = {
    "contents": "write",
    "issues": "write",
    "pull_requests": "write",
    "metadata": "read",
}
REPO_PATH = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(f"^{pattern}$"), name)
    for method, pattern, name in [
        ("GET", r"/user", "get_user"),
        ("GET", r"/rate_limit", "get_rate_limit"),
        ("POST", r"/app/installations/(?P<installation>\d+)/access_tokens", "create_token"),
        ("DELETE", r"/installation/token", "revoke_token"),
        ("GET", REPO_PATH, "get_repo"),
        ("GET", REPO_PATH + r"/installation", "get_installation"),
        ("GET", REPO_PATH + r"/collaborators/(?P<login>[^/]+)/permission", "get_permission"),
        ("GET", REPO_PATH + r"/issues/(?P<number>\d+)", "get_issue"),
        ("GET", REPO_PATH + r"/issues/(?P<number>\d+)/comments", "list_comments"),
        ("POST", REPO_PATH + r"/issues/(?P<number>\d+)/comments", "create_comment"),
        ("GET", REPO_PATH + r"/issues/comments/(?P<id>\d+)", "get_comment"),
        ("PATCH", REPO_PATH + r"/issues/comments/(?P<id>\d+)", "edit_comment"),
        ("GET", REPO_PATH + r"/pulls", "list_pulls"),
        ("POST", REPO_PATH + r"/pulls", "create_pull"),
        ("GET", REPO_PATH + r"/pulls/(?P<number>\d+)", "get_pull"),
        ("GET", REPO_PATH + r"/pulls/(?P<number>\d+)/files", "list_files"),
        ("GET", REPO_PATH + r"/pulls/(?P<number>\d+)/comments", "list_review_comments"),
        ("POST", REPO_PATH + r"/pulls/(?P<number>\d+)/comments/(?P<id>\d+)/replies", "create_reply"),
        ("GET", REPO_PATH + r"/pulls/(?P<number>\d+)/reviews", "list_reviews"),
        ("GET", REPO_PATH + r"/pulls/comments/(?P<id>\d+)", "get_review_comment"),
        ("PATCH", REPO_PATH + r"/pulls/comments/(?P<id>\d+)", "edit_review_comment"),
        ("GET", REPO_PATH + r"/contents/(?P<path>.+)", "get_contents"),
        ("POST", REPO_PATH + r"/pulls/(?P<number>\d+)/reviews", "create_review"),
    ]
]
APP_ROUTES = {"create_token", "get_installation"}
# Writes an installation token may only make with one of these permissions at "write".
NEEDS = {
    "create_comment": ("issues", "pull_requests"),
    "edit_comment": ("issues", "pull_requests"),
    "create_pull": ("pull_requests",),
    "create_reply": ("pull_requests",),
    "edit_review_comment": ("pull_requests",),
    "create_review": ("pull_requests",),
}


@dataclass
class RequestRecord:
    """One request the fake received and how it answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0
    route: str | None = None
    reply: Any = None
    timestamp: float = field(default_factory=time.time)  # when the request arrived (latency benchmarks)
    started: float = field(default_factory=time.monotonic)  # arrival and answer, monotonic: the
    ended: float = 0.0  # round trips a client made in sequence (``faults.round_trip_levels``)


@dataclass
class Reply:
    """An answer: status, JSON body, extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a body that is not JSON (a log)


@dataclass
class Request:
    """A routed request: its record, path parameters, and who it authenticated as."""

    record: RequestRecord
    params: dict[str, str]
    caller: str = ""
    token: str = ""


def render(fake: FakeGitHub, request: Request) -> Renderer:
    """A renderer of the fake's state for this request's caller."""
    return Renderer(fake, fake.urls, request.caller or None)


def page(
    fake: FakeGitHub, request: Request, items: list[Any], to_json: Callable[[Any], JSON] | None = None
) -> Reply:
    """One page of `items` (`per_page` default 30, at most 100; `page` from 1) with GitHub's `Link`
    header: rel prev, next, last, first, each the request's URL with its `page` replaced.
    `to_json`: renders an item, only those on the page (a long list costs a page, not the list)."""
    query = request.record.query
    try:
        per_page = min(100, max(1, int(query.get("per_page", 30))))
    except ValueError:
        per_page = 30
    try:
        current = max(1, int(query.get("page", 1)))
    except ValueError:
        current = 1
    last = max(1, -(-len(items) // per_page))
    shown = items[(current - 1) * per_page : current * per_page]
    reply = Reply(200, [to_json(item) for item in shown] if to_json is not None else shown)

    def url(n: int) -> str:
        return f"<{fake.base_url}{request.record.path}?{urllib.parse.urlencode({**query, 'page': n})}>"

    rels = []
    if current > 1:
        rels.append(f'{url(min(current - 1, last))}; rel="prev"')
    if current < last:
        rels += [f'{url(current + 1)}; rel="next"', f'{url(last)}; rel="last"']
    if current > 1:
        rels.append(f'{url(1)}; rel="first"')
    if rels:
        reply.headers["link"] = ", ".join(rels)
    return reply


def issue_of(fake: FakeGitHub, request: Request, *, pull: bool = False) -> Issue:
    """The issue (or, with `pull`, pull request) the path names; 404 if absent."""
    issue = fake.issues.get(int(request.params["number"]))
    if issue is None or (pull and issue.pull is None):
        raise not_found()
    return issue


def get_user(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /user`."""
    if request.caller == f"{fake.app_slug}[bot]":
        raise ApiError(403, "Resource not accessible by integration")
    return Reply(200, render(fake, request).private_user(request.caller))


def get_rate_limit(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /rate_limit`."""
    used = fake.rate_used.get(request.record.headers.get("authorization", ""), 0)
    core = {"limit": RATE_LIMIT, "remaining": RATE_LIMIT - used, "reset": fake.rate_reset, "used": used}
    search = {"limit": 30, "remaining": 30, "reset": fake.rate_reset, "used": 0}
    return Reply(200, {"resources": {"core": core, "search": search}, "rate": core})


def get_installation(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/installation`."""
    owner, created, api, install = (
        fake.user(fake.owner),
        iso(fake.created_at),
        fake.urls.api,
        fake.installation_id,
    )
    return Reply(
        200,
        {
            "id": install,
            "account": render(fake, request).user(fake.owner),
            "repository_selection": "selected",
            "access_tokens_url": f"{api}/app/installations/{install}/access_tokens",
            "repositories_url": f"{api}/installation/repositories",
            "html_url": f"{fake.web_url}/organizations/{fake.owner}/settings/installations/{install}",
            "app_id": fake.app_id,
            "app_slug": fake.app_slug,
            "client_id": f"Iv23li{fake.app_id:014d}",
            "target_id": owner.id,
            "target_type": owner.type,
            "permissions": fake.app_permissions,
            "events": ["issue_comment", "issues", "pull_request", "pull_request_review_comment"],
            "created_at": created,
            "updated_at": created,
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": None,
            "suspended_at": None,
        },
    )


def create_token(fake: FakeGitHub, request: Request) -> Reply:
    """`POST /app/installations/{installation}/access_tokens`."""
    if int(request.params["installation"]) != fake.installation_id:
        raise not_found()
    body = request.record.body if isinstance(request.record.body, dict) else {}
    asked = body.get("permissions") or {}
    widened = [k for k, v in asked.items() if fake.app_permissions.get(k) not in (v, "write")]
    if widened:
        raise ApiError(422, f"The permissions requested are not granted to this installation: {widened}")
    token = fake.mint_installation_token({**(asked or fake.app_permissions)})
    granted = fake.installation_tokens[token]
    expires = iso(granted["expires_at"])
    return Reply(
        201,
        {
            "token": token,
            "expires_at": expires,
            "permissions": granted["permissions"],
            "repository_selection": "selected",
        },
    )


def revoke_token(fake: FakeGitHub, request: Request) -> Reply:
    """`DELETE /installation/token`."""
    if request.token not in fake.installation_tokens:
        raise ApiError(403, "Resource not accessible by personal access token")
    with fake.lock:
        fake.revoked_tokens.add(request.token)
    return Reply(204)


def get_repo(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}`."""
    return Reply(200, render(fake, request).repo(full=True))


def get_permission(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/collaborators/{login}/permission`."""
    return Reply(200, render(fake, request).collaborator_permission(request.params["login"]))


def get_issue(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/issues/{number}`."""
    return Reply(200, render(fake, request).issue(issue_of(fake, request)))


def list_comments(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/issues/{number}/comments`."""
    comments = fake.comments(issue_of(fake, request).number)
    since = request.record.query.get("since")
    view = render(fake, request)
    return page(fake, request, [c for c in comments if not since or iso(c.updated_at) >= since], view.comment)


def create_comment(fake: FakeGitHub, request: Request) -> Reply:
    """`POST /repos/{owner}/{repo}/issues/{number}/comments`."""
    number = int(request.params["number"])
    comment = writes.create_comment(fake, number, request.record.body, request.caller)
    return Reply(201, render(fake, request).comment(comment))


def get_comment(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/issues/comments/{id}`."""
    comment = fake.issue_comments.get(int(request.params["id"]))
    if comment is None:
        raise not_found()
    return Reply(200, render(fake, request).comment(comment))


def edit_comment(fake: FakeGitHub, request: Request) -> Reply:
    """`PATCH /repos/{owner}/{repo}/issues/comments/{id}`."""
    comment = writes.edit_comment(fake, int(request.params["id"]), request.record.body)
    return Reply(200, render(fake, request).comment(comment))


def list_pulls(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/pulls`."""
    query = request.record.query
    state, head, base = query.get("state", "open"), query.get("head"), query.get("base")
    pulls = sorted((i for i in fake.issues.values() if i.pull is not None), key=lambda i: -i.number)
    chosen = []
    for issue in pulls:
        assert issue.pull is not None
        label = f"{issue.pull.head_repo_full_name.split('/')[0]}:{issue.pull.head_ref}"
        if state != "all" and issue.state != state:
            continue
        if (head and head != label) or (base and base != issue.pull.base_ref):
            continue
        chosen.append(issue)
    view = render(fake, request)
    return page(fake, request, [view.pull(i, simple=True) for i in chosen])


def create_pull(fake: FakeGitHub, request: Request) -> Reply:
    """`POST /repos/{owner}/{repo}/pulls`."""
    issue = writes.create_pull(fake, request.record.body, request.caller)
    return Reply(201, render(fake, request).pull(issue))


def get_pull(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/pulls/{number}`."""
    return Reply(200, render(fake, request).pull(issue_of(fake, request, pull=True)))


def list_files(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/pulls/{number}/files`."""
    issue = issue_of(fake, request, pull=True)
    assert issue.pull is not None
    view = render(fake, request)
    return page(fake, request, issue.pull.files[:3000], lambda f: view.file(issue, f))


def list_review_comments(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/pulls/{number}/comments`."""
    comments = fake.review_comments_of(issue_of(fake, request, pull=True).number)
    since = request.record.query.get("since")
    view = render(fake, request)
    listed = [c for c in comments if not since or iso(c.updated_at) >= since]
    return page(fake, request, listed, view.review_comment)


def create_reply(fake: FakeGitHub, request: Request) -> Reply:
    """`POST /repos/{owner}/{repo}/pulls/{number}/comments/{id}/replies`."""
    number, target = int(request.params["number"]), int(request.params["id"])
    comment = writes.reply_to_review_comment(fake, number, target, request.record.body, request.caller)
    return Reply(201, render(fake, request).review_comment(comment))


def list_reviews(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/pulls/{number}/reviews`."""
    number = issue_of(fake, request, pull=True).number
    view = render(fake, request)
    visible = [r for r in fake.reviews_of(number) if r.state != "PENDING" or r.user == request.caller]
    return page(fake, request, visible, view.review)


def create_review(fake: FakeGitHub, request: Request) -> Reply:
    """`POST /repos/{owner}/{repo}/pulls/{number}/reviews`."""
    number = issue_of(fake, request, pull=True).number
    review = writes.create_review(fake, number, request.record.body, request.caller)
    return Reply(200, render(fake, request).review(review))


def get_review_comment(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/pulls/comments/{comment_id}`."""
    comment = fake.review_comments.get(int(request.params["id"]))
    if comment is None:
        raise not_found()
    return Reply(200, render(fake, request).review_comment(comment))


def edit_review_comment(fake: FakeGitHub, request: Request) -> Reply:
    """`PATCH /repos/{owner}/{repo}/pulls/comments/{comment_id}`."""
    comment = writes.edit_review_comment(fake, int(request.params["id"]), request.record.body)
    return Reply(200, render(fake, request).review_comment(comment))


def get_contents(fake: FakeGitHub, request: Request) -> Reply:
    """`GET /repos/{owner}/{repo}/contents/{path}?ref=...` for files added with `add_file`."""
    path, ref = request.params["path"].strip("/"), request.record.query.get("ref") or fake.default_branch
    data = fake.file_at(path, ref)
    if data is None:
        folder = fake.folder_at(path, ref)
        if folder is None:
            raise not_found()
        files, folders = folder
        return Reply(200, render(fake, request).content_directory(ref, files, folders))
    return Reply(200, render(fake, request).content_file(path, ref, data))


ENDPOINTS: dict[str, Callable[[FakeGitHub, Request], Reply]] = {
    name: globals()[name] for _, _, name in ROUTES
}
