"""The fake GitHub's responses validate against GitHub's published OpenAPI description.

Each case makes a real HTTP request to a populated `FakeGitHub`, finds the operation in the
description (npm `@octokit/openapi`, fetched by `scripts/fetch-github-openapi.sh`) by method and
path template, and validates the JSON body against the schema documented for the returned status.
Object schemas are closed (see `tests/github_openapi.py`), so undocumented properties fail too.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from runner.testing.fake_github import FakeGitHub
from runner.testing.github_endpoints import ROUTES
from tests.testing.github_openapi import ENV_VAR, FETCH_SCRIPT, OpenAPI, description_path

TOKEN = "ghp_schemaTestToken0123456789abcdefghij"
REPO = "/repos/octo-org/hello-world"
PATCH = (
    "@@ -1,3 +1,4 @@\n import os\n-x = 1\n+x = 2\n+y = 3\n print(x)\n"
    "@@ -10,2 +11,2 @@ def f():\n-    return 1\n+    return 2\n     # end"
)


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    """The description, loaded once for the module."""
    path = description_path()
    if not path.is_file():
        pytest.fail(
            f"GitHub's OpenAPI description is missing ({path}): run `bash {FETCH_SCRIPT}` first, "
            f"or point {ENV_VAR} at api.github.com.json from the npm package @octokit/openapi",
            pytrace=False,
        )
    return OpenAPI(path)


def populated(*, ghes: bool = False) -> FakeGitHub:
    """A fake with users of every kind, an issue, same-repo, fork, draft and merged pull requests,
    comments, review threads and reviews."""
    fake = FakeGitHub("octo-org", "hello-world", tokens={TOKEN: "octocat"}, ghes=ghes)
    fake.add_user("octocat", permission="admin")
    fake.add_user("alice", permission="write")
    fake.add_user("carol", permission="maintain")
    fake.add_user("bob", permission="read")
    fake.add_user("dependabot[bot]", type="Bot", permission="write")
    fake.add_issue(
        1, "Crash on start", "It crashes.\n\n@claude fix it", "bob", labels=["bug"], assignees=["alice"]
    )
    files = [
        {"filename": "src/app.py", "patch": PATCH},
        {"filename": "docs/new guide.md", "status": "added", "patch": "@@ -0,0 +1,2 @@\n+# Guide\n+hi"},
        {"filename": "img/logo.png", "status": "added"},
        {"filename": "src/util.py", "status": "renamed", "previous_filename": "src/utils.py"},
    ]
    fake.add_pull(2, head_ref="feature", files=files, title="Add feature", body="Closes #1", user="alice")
    fake.add_pull(
        3, head_ref="patch-1", head_repo_full_name="mallory/hello-world", draft=True, user="mallory"
    )
    fake.add_pull(4, head_ref="old", state="closed", merged=True, body=None, user="dependabot[bot]")
    fake.add_comment(1, "@claude please look", "bob")
    fake.add_comment(2, "LGTM", "carol")
    review = fake.add_review(2, "carol", "CHANGES_REQUESTED", "See inline")
    root = fake.add_review_comment(2, "Why 2?", "carol", "src/app.py", 2, review_id=review.id)
    fake.add_review_comment(2, "Because.", "alice", in_reply_to=root.id)
    fake.add_review_comment(2, "Old line", "carol", "src/app.py", 1, side="LEFT", start_line=None)
    fake.add_branch("claude/issue-1", "c" * 40)
    fake.add_file(".claude/settings.json", '{"permissions": {"allow": ["Bash(npm test:*)"]}}\n')
    return fake


def jwt(app_id: int) -> str:
    """An App JWT (the fake does not check signatures)."""
    now = int(time.time())

    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    claims = {"iat": now - 60, "exp": now + 540, "iss": app_id}
    return f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{b64(claims)}.c2ln"


@dataclass(frozen=True)
class Case:
    """One request and the status (and, if the operation does not document it, schema) expected."""

    id: str
    route: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    status: int = 200
    auth: str = "token"  # token | jwt | installation | bad | none
    ghes: bool = False
    schema: str | None = None  # a components/schemas name when the operation omits this status

    def __str__(self) -> str:
        return self.id


REVIEW_COMMENT = {"path": "src/app.py", "line": 3, "side": "RIGHT", "body": "Nit: name y"}
CASES = [
    Case("repo", "get_repo", "GET", REPO),
    Case("repo-ghes", "get_repo", "GET", f"/api/v3{REPO}", ghes=True),
    Case("repo-bad-token", "get_repo", "GET", REPO, status=401, auth="bad", schema="basic-error"),
    Case("repo-other-404", "get_repo", "GET", "/repos/octo-org/other", status=404),
    Case("user-by-name", "get_user_by_name", "GET", "/users/alice"),
    Case("user-by-name-bot", "get_user_by_name", "GET", "/users/dependabot%5Bbot%5D"),
    Case("user-by-name-404", "get_user_by_name", "GET", "/users/nobody", status=404),
    Case("permission-admin", "get_permission", "GET", f"{REPO}/collaborators/octocat/permission"),
    Case("permission-maintain", "get_permission", "GET", f"{REPO}/collaborators/carol/permission"),
    Case("permission-read", "get_permission", "GET", f"{REPO}/collaborators/bob/permission"),
    Case("permission-stranger", "get_permission", "GET", f"{REPO}/collaborators/nobody/permission"),
    Case("permission-bot", "get_permission", "GET", f"{REPO}/collaborators/dependabot%5Bbot%5D/permission"),
    Case("issue", "get_issue", "GET", f"{REPO}/issues/1"),
    Case("issue-is-pull", "get_issue", "GET", f"{REPO}/issues/2"),
    Case("issue-closed-pull", "get_issue", "GET", f"{REPO}/issues/4"),
    Case("issue-404", "get_issue", "GET", f"{REPO}/issues/99", status=404),
    Case("comments", "list_comments", "GET", f"{REPO}/issues/1/comments?per_page=100"),
    Case("create-comment", "create_comment", "POST", f"{REPO}/issues/1/comments", {"body": "On it"}, 201),
    Case(
        "create-comment-ghes",
        "create_comment",
        "POST",
        f"/api/v3{REPO}/issues/2/comments",
        {"body": "x"},
        201,
        ghes=True,
    ),
    Case("create-comment-empty", "create_comment", "POST", f"{REPO}/issues/1/comments", {"body": ""}, 422),
    Case(
        "create-comment-as-app",
        "create_comment",
        "POST",
        f"{REPO}/issues/1/comments",
        {"body": "hi"},
        201,
        "installation",
    ),
    Case("comment", "get_comment", "GET", f"{REPO}/issues/comments/1100001"),
    Case("edit-comment", "edit_comment", "PATCH", f"{REPO}/issues/comments/1100001", {"body": "Done"}),
    Case("edit-comment-empty", "edit_comment", "PATCH", f"{REPO}/issues/comments/1100001", {"body": ""}, 422),
    Case("pull", "get_pull", "GET", f"{REPO}/pulls/2"),
    Case("pull-fork-draft", "get_pull", "GET", f"{REPO}/pulls/3"),
    Case("pull-merged", "get_pull", "GET", f"{REPO}/pulls/4"),
    Case("pull-ghes", "get_pull", "GET", f"/api/v3{REPO}/pulls/2", ghes=True),
    Case("pull-of-issue-404", "get_pull", "GET", f"{REPO}/pulls/1", status=404),
    Case("files", "list_files", "GET", f"{REPO}/pulls/2/files"),
    Case("review-comments", "list_review_comments", "GET", f"{REPO}/pulls/2/comments"),
    Case("reviews", "list_reviews", "GET", f"{REPO}/pulls/2/reviews"),
    Case("reply", "create_reply", "POST", f"{REPO}/pulls/2/comments/2200001/replies", {"body": "Fixed"}, 201),
    Case("reply-404", "create_reply", "POST", f"{REPO}/pulls/2/comments/1/replies", {"body": "?"}, 404),
    Case(
        "review",
        "create_review",
        "POST",
        f"{REPO}/pulls/2/reviews",
        {"event": "COMMENT", "body": "Review", "comments": [REVIEW_COMMENT]},
    ),
    Case(
        "review-pending", "create_review", "POST", f"{REPO}/pulls/2/reviews", {"comments": [REVIEW_COMMENT]}
    ),
    Case(
        "review-line-not-in-diff",
        "create_review",
        "POST",
        f"{REPO}/pulls/2/reviews",
        {"event": "COMMENT", "body": "x", "comments": [{**REVIEW_COMMENT, "line": 7}]},
        422,
    ),
    Case("pulls-by-head", "list_pulls", "GET", f"{REPO}/pulls?head=octo-org:feature&state=open"),
    Case("pulls-all", "list_pulls", "GET", f"{REPO}/pulls?state=all&per_page=2"),
    Case(
        "create-pull",
        "create_pull",
        "POST",
        f"{REPO}/pulls",
        {"title": "Fix crash", "head": "claude/issue-1", "base": "main", "body": "Fixes #1", "draft": True},
        201,
    ),
    Case(
        "create-pull-no-branch",
        "create_pull",
        "POST",
        f"{REPO}/pulls",
        {"title": "x", "head": "nope", "base": "main"},
        422,
    ),
    Case(
        "create-pull-head-is-base",
        "create_pull",
        "POST",
        f"{REPO}/pulls",
        {"title": "x", "head": "main", "base": "main"},
        422,
    ),
    Case("review-comment", "get_review_comment", "GET", f"{REPO}/pulls/comments/2200001"),
    Case(
        "edit-review-comment",
        "edit_review_comment",
        "PATCH",
        f"{REPO}/pulls/comments/2200001",
        {"body": "Edited"},
    ),
    Case("contents", "get_contents", "GET", f"{REPO}/contents/.claude/settings.json?ref=main"),
    Case("contents-404", "get_contents", "GET", f"{REPO}/contents/CLAUDE.md?ref=main", status=404),
    Case("installation", "get_installation", "GET", f"{REPO}/installation", auth="jwt"),
    Case(
        "access-token",
        "create_token",
        "POST",
        "/app/installations/4242424/access_tokens",
        {"permissions": {"issues": "write", "contents": "read"}},
        201,
        "jwt",
    ),
    Case("access-token-no-jwt", "create_token", "POST", "/app/installations/4242424/access_tokens", {}, 401),
    Case("revoke-token", "revoke_token", "DELETE", "/installation/token", status=204, auth="installation"),
    Case("user", "get_user", "GET", "/user"),
    Case("user-no-auth", "get_user", "GET", "/user", status=401, auth="none"),
    Case("rate-limit", "get_rate_limit", "GET", "/rate_limit"),
]


@pytest.fixture
def session() -> Iterator[requests.Session]:
    """An HTTP session that ignores proxy settings (loopback only)."""
    with requests.Session() as s:
        s.trust_env = False
        yield s


@pytest.mark.parametrize("case", CASES, ids=str)
def test_response_matches_openapi(openapi: OpenAPI, session: requests.Session, case: Case) -> None:
    with populated(ghes=case.ghes) as fake:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        credential = {
            "token": f"token {TOKEN}",
            "jwt": f"Bearer {jwt(fake.app_id)}",
            "installation": f"token {fake.mint_installation_token()}",
            "bad": "token ghp_wrong",
        }.get(case.auth)
        if credential:
            headers["Authorization"] = credential
        response = session.request(
            case.method, fake.base_url + case.path, json=case.body, headers=headers, timeout=10
        )
        assert fake.requests[-1].route == case.route or response.status_code == 404
    assert response.status_code == case.status, response.text
    assert response.headers["x-github-request-id"]
    assert response.headers["x-ratelimit-remaining"].isdigit()
    op = openapi.operation(case.method, case.path)
    if case.schema is not None:
        pointer: str | None = f"/components/schemas/{case.schema}"
    else:
        pointer = openapi.response_pointer(op, case.status)
    if pointer is None:
        assert response.content == b""
        return
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    errors = openapi.errors(pointer, body)
    assert not errors, f"{op.operation_id} {case.status} ({pointer}):\n" + "\n".join(errors[:20])
    if case.status >= 400:
        assert body["message"] and body["documentation_url"].startswith("https://docs.github.com/")


def test_every_route_has_a_case() -> None:
    from runner.testing.github_ci import CI_ROUTES
    from tests.testing.test_fake_github_ci_schema import CI_CASES

    served = {name for _, _, name in (*ROUTES, *CI_ROUTES)}
    assert served <= {case.route for case in (*CASES, *CI_CASES)}


def test_undocumented_property_fails(openapi: OpenAPI) -> None:
    """The check is strict: an undocumented (e.g. misspelt) property is an error, and so is a null
    where the description does not allow one."""
    with populated() as fake, requests.Session() as s:
        s.trust_env = False
        body = s.get(f"{fake.base_url}{REPO}/issues/1", headers={"Authorization": f"token {TOKEN}"}).json()
    pointer = openapi.response_pointer(openapi.operation("GET", f"{REPO}/issues/1"), 200)
    assert pointer is not None
    assert openapi.errors(pointer, body) == []
    assert openapi.errors(pointer, {**body, "htmlurl": body["html_url"]})
    assert openapi.errors(pointer, {**body, "title": None})
    assert openapi.errors(pointer, {**body, "created_at": "2024-01-01 10:00:00"})


def test_deleted_accounts_and_string_labels_match_openapi(
    openapi: OpenAPI, session: requests.Session
) -> None:
    """`delete_user` answers `user: null` wherever the description allows it (and the `ghost`
    user where it does not); `string_labels` answers an issue's labels as plain names."""
    headers = {"Authorization": f"token {TOKEN}"}
    with populated() as fake:
        for login in ("alice", "bob", "carol", "dependabot[bot]"):
            fake.delete_user(login)
        fake.string_labels = True
        bodies = {}
        for path in (
            f"{REPO}/issues/1",
            f"{REPO}/issues/1/comments",
            f"{REPO}/pulls/2",
            f"{REPO}/pulls/2/comments",
            f"{REPO}/pulls/2/reviews",
            f"{REPO}/pulls?state=all",
        ):
            response = session.get(fake.base_url + path, headers=headers, timeout=10)
            assert response.status_code == 200, path
            pointer = openapi.response_pointer(openapi.operation("GET", path), 200)
            assert pointer is not None
            errors = openapi.errors(pointer, response.json())
            assert not errors, f"{path}:\n" + "\n".join(errors[:20])
            bodies[path] = response.json()
    assert bodies[f"{REPO}/issues/1"]["user"] is None and bodies[f"{REPO}/issues/1"]["labels"] == ["bug"]
    assert bodies[f"{REPO}/issues/1/comments"][0]["user"] is None
    assert all(c["user"] is None for c in bodies[f"{REPO}/pulls/2/comments"])
    assert bodies[f"{REPO}/pulls/2/reviews"][0]["user"] is None
    assert bodies[f"{REPO}/pulls/2"]["user"]["login"] == "ghost"


@pytest.mark.parametrize(
    ("inject", "status"),
    [
        (lambda f: f.faults.fail("get_issue", 502), 502),
        (lambda f: f.faults.fail("get_issue", 500), 500),
        (lambda f: f.faults.rate_limit("get_issue", retry_after=60), 403),
        (lambda f: f.faults.rate_limit("get_issue", reset_in=60, status=429), 429),
    ],
    ids=["502", "500", "secondary-rate-limit", "rate-limit-429"],
)
def test_injected_faults_answer_like_github(
    openapi: OpenAPI, session: requests.Session, inject: Any, status: int
) -> None:
    """A fault's answer has GitHub's error body (`basic-error`) and, for a rate limit, the headers
    GitHub documents: `retry-after`, or `x-ratelimit-remaining: 0` with `x-ratelimit-reset`."""
    headers = {"Authorization": f"token {TOKEN}"}
    with populated() as fake:
        inject(fake)
        response = session.get(f"{fake.base_url}{REPO}/issues/1", headers=headers, timeout=10)
        again = session.get(f"{fake.base_url}{REPO}/issues/1", headers=headers, timeout=10)
    assert (response.status_code, again.status_code) == (status, 200)
    assert not openapi.errors("/components/schemas/basic-error", response.json())
    if status in (403, 429):
        limited = response.headers.get("retry-after") or response.headers["x-ratelimit-remaining"] == "0"
        assert limited and "rate limit" in response.json()["message"]
        assert response.headers.get("retry-after") or int(response.headers["x-ratelimit-reset"]) > time.time()
