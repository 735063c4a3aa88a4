"""FakeGitHub behaves like GitHub for a real client: PyGithub 2.x against the loopback fake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, BadCredentialsException, Github, GithubException, GithubIntegration

from runner.testing.fake_github import FakeGitHub

TOKEN = "ghp_fakeGitHubTestToken000000000000000000"
FULL = "octo-org/hello-world"
PATCH = "@@ -1,3 +1,4 @@\n import os\n-x = 1\n+x = 2\n+y = 3\n print(x)"


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    """A running fake whose token acts as `claude-bot` (write access)."""
    with FakeGitHub("octo-org", "hello-world", tokens={TOKEN: "claude-bot"}) as fake:
        fake.add_user("alice", permission="write")
        fake.add_user("boss", permission="admin")
        fake.add_user("reader", permission="read")
        fake.add_issue(1, "Crash", "@claude fix", "reader")
        fake.add_pull(2, head_ref="feature", files=[{"filename": "app.py", "patch": PATCH}], user="alice")
        yield fake


def client(url: str, token: str = TOKEN, **kwargs: Any) -> Github:
    """PyGithub without throttling or retries, as a test wants it."""
    return Github(
        auth=Auth.Token(token),
        base_url=url,
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
        **kwargs,
    )


def test_repository_and_permissions(fake: FakeGitHub) -> None:
    repo = client(fake.base_url).get_repo(FULL)
    assert (repo.default_branch, repo.private, repo.owner.login) == ("main", False, "octo-org")
    assert repo.clone_url == f"{fake.base_url}/{FULL}.git"
    assert repo.html_url == f"{fake.base_url}/{FULL}"
    assert repo.permissions.push and not repo.permissions.admin  # the token's own permissions
    assert repo.get_collaborator_permission("boss") == "admin"
    assert repo.get_collaborator_permission("alice") == "write"
    assert repo.get_collaborator_permission("reader") == "read"
    assert repo.get_collaborator_permission("stranger") == "read"  # public repository: not a 404
    assert repo.get_collaborator_role_name("alice") == "write"


def test_private_repository_stranger_has_none() -> None:
    with FakeGitHub(tokens=[TOKEN], private=True) as fake:
        fake.add_user("triager", permission="triage")
        repo = client(fake.base_url).get_repo(FULL)
        assert repo.private
        assert repo.get_collaborator_permission("stranger") == "none"
        assert repo.get_collaborator_permission("triager") == "read"
        assert repo.get_collaborator_role_name("triager") == "triage"


def test_ghes_api_root(fake: FakeGitHub) -> None:
    with FakeGitHub(tokens=[TOKEN], ghes=True) as ghes:
        ghes.add_issue(1, "x")
        gh = client(ghes.api_url)
        issue = gh.get_repo(FULL).get_issue(1)
        assert issue.url == f"{ghes.api_url}/repos/{FULL}/issues/1"
        issue.create_comment("hello")
        assert ghes.requests[-1].path == f"/api/v3/repos/{FULL}/issues/1/comments"
        assert [c.body for c in ghes.comments(1)] == ["hello"]


def test_comments_create_edit_and_paginate(fake: FakeGitHub) -> None:
    for i in range(250):
        fake.add_comment(1, f"comment {i}", "alice", created_at=1_700_000_000 + i)
    issue = client(fake.base_url, per_page=100).get_repo(FULL).get_issue(1)
    before = len(fake.requests_to("GET", "list_comments"))
    bodies = [c.body for c in issue.get_comments()]
    assert bodies == [f"comment {i}" for i in range(250)]
    pages = fake.requests_to("GET", "list_comments")[before:]
    assert [(r.query["per_page"], r.query.get("page", "1")) for r in pages] == [
        ("100", "1"),
        ("100", "2"),
        ("100", "3"),
    ]
    assert issue.comments == 250

    mine = issue.create_comment("Working on it…")
    assert mine.user.login == "claude-bot" and fake.comment(mine.id).body == "Working on it…"
    mine.edit("Done ✅")
    assert fake.comment(mine.id).body == "Done ✅"
    assert fake.comment(mine.id).updated_at >= fake.comment(mine.id).created_at
    assert fake.comments(1)[-1].id == mine.id


def test_link_header_shape(fake: FakeGitHub) -> None:
    for i in range(5):
        fake.add_comment(1, str(i))
    url = f"{fake.base_url}/repos/{FULL}/issues/1/comments"
    with requests.Session() as s:
        s.trust_env = False
        r = s.get(url, params={"per_page": 2, "page": 2}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert [c["body"] for c in r.json()] == ["2", "3"]
    assert r.headers["link"] == (
        f'<{url}?per_page=2&page=1>; rel="prev", <{url}?per_page=2&page=3>; rel="next", '
        f'<{url}?per_page=2&page=3>; rel="last", <{url}?per_page=2&page=1>; rel="first"'
    )


def test_pull_request_files_paginate(fake: FakeGitHub) -> None:
    files = [
        {"filename": f"src/f{i}.py", "patch": "@@ -0,0 +1 @@\n+x", "status": "added"} for i in range(120)
    ]
    fake.add_pull(5, head_ref="big", files=files)
    pr = client(fake.base_url, per_page=100).get_repo(FULL).get_pull(5)
    assert (pr.changed_files, pr.additions, pr.deletions) == (120, 120, 0)
    got = list(pr.get_files())
    assert [f.filename for f in got] == [f"src/f{i}.py" for i in range(120)]
    assert got[0].status == "added" and got[0].patch == "@@ -0,0 +1 @@\n+x" and got[0].changes == 1
    assert len(fake.requests_to("GET", "list_files")) == 2


def test_pull_request_shape_and_fork_detection(fake: FakeGitHub) -> None:
    fake.add_pull(
        6, head_ref="patch-1", head_repo_full_name="mallory/hello-world", draft=True, user="mallory"
    )
    repo = client(fake.base_url).get_repo(FULL)
    same, fork = repo.get_pull(2), repo.get_pull(6)
    assert (same.head.ref, same.base.ref, same.head.repo.full_name) == ("feature", "main", FULL)
    assert same.head.sha == fake.pull(2).head_sha and same.base.sha == fake.branch_sha("main")
    assert fork.head.repo.full_name == "mallory/hello-world" and fork.head.repo.fork and fork.draft
    assert fork.head.label == "mallory:patch-1" and fork.user.login == "mallory"
    issue = repo.get_issue(6)
    assert issue.pull_request is not None and repo.get_issue(1).pull_request is None
    with pytest.raises(GithubException) as err:
        repo.get_pull(1)
    assert err.value.status == 404


def test_create_and_find_pull_request(fake: FakeGitHub) -> None:
    repo = client(fake.base_url).get_repo(FULL)
    with pytest.raises(GithubException) as err:
        repo.create_pull(base="main", head="claude/issue-1", title="Fix", body="x")
    assert err.value.status == 422 and err.value.data["errors"][0]["field"] == "head"
    with pytest.raises(GithubException) as err:
        repo.create_pull(base="main", head="main", title="Fix", body="x")
    assert "No commits between" in err.value.data["errors"][0]["message"]

    fake.add_branch("claude/issue-1", "a" * 40)  # as if the runner had pushed it
    pr = repo.create_pull(base="main", head="claude/issue-1", title="Fix crash", body="Fixes #1", draft=True)
    assert (pr.number, pr.draft, pr.head.sha, pr.user.login) == (3, True, "a" * 40, "claude-bot")
    assert [p.title for p in fake.pulls_created] == ["Fix crash"]
    with pytest.raises(GithubException) as err:
        repo.create_pull(base="main", head="claude/issue-1", title="Again", body="")
    assert "already exists" in err.value.data["errors"][0]["message"]

    found = list(repo.get_pulls(state="open", head="octo-org:claude/issue-1"))
    assert [p.number for p in found] == [3]
    assert list(repo.get_pulls(state="closed", head="octo-org:claude/issue-1")) == []


def test_review_comments_replies_and_reviews(fake: FakeGitHub) -> None:
    fake.add_user("claude-bot", permission="write")
    root = fake.add_review_comment(2, "Why 2?", "boss", "app.py", 2)
    assert root.position == 3 and root.diff_hunk == "@@ -1,3 +1,4 @@\n import os\n-x = 1\n+x = 2"
    pr = client(fake.base_url).get_repo(FULL).get_pull(2)
    [listed] = list(pr.get_review_comments())
    assert (listed.path, listed.line, listed.side, listed.diff_hunk) == ("app.py", 2, "RIGHT", root.diff_hunk)
    assert listed.commit_id == fake.pull(2).head_sha and listed.original_line == 2

    reply = pr.create_review_comment_reply(root.id, "Because the spec says so.")
    assert reply.in_reply_to_id == root.id and reply.path == "app.py" and reply.line == 2

    review = pr.create_review(
        body="Two nits",
        event="COMMENT",
        comments=[{"path": "app.py", "line": 3, "side": "RIGHT", "body": "y?"}],
    )
    assert review.state == "COMMENTED" and [r.id for r in fake.reviews_created] == [review.id]
    inline = [c for c in fake.review_comments_of(2) if c.review_id == review.id]
    assert [(c.body, c.line, c.position) for c in inline] == [("y?", 3, 4)]
    with pytest.raises(GithubException) as err:
        pr.create_review(body="x", event="COMMENT", comments=[{"path": "app.py", "line": 40, "body": "?"}])
    assert err.value.status == 422 and err.value.data["errors"] == ["Line could not be resolved"]
    assert {r.state for r in pr.get_reviews()} == {"COMMENTED"}


def test_bad_token_is_401(fake: FakeGitHub) -> None:
    with pytest.raises(BadCredentialsException) as err:
        client(fake.base_url, token="ghp_wrong").get_repo(FULL)
    assert err.value.status == 401 and err.value.data["message"] == "Bad credentials"
    assert fake.requests[-1].status == 401


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_app_installation_token_flow_and_revocation(fake: FakeGitHub) -> None:
    app_auth = Auth.AppAuth(fake.app_id, _pem())
    integration = GithubIntegration(
        auth=app_auth, base_url=fake.base_url, retry=None, seconds_between_requests=None
    )
    installation = integration.get_repo_installation("octo-org", "hello-world")
    assert installation.id == fake.installation_id
    token = integration.get_access_token(installation.id, permissions={"issues": "write", "contents": "read"})
    assert token.token.startswith("ghs_") and token.permissions == {"issues": "write", "contents": "read"}

    gh = client(fake.base_url, token=token.token)
    comment = gh.get_repo(FULL).get_issue(1).create_comment("from the app")
    assert comment.user.login == "claude-runner[bot]" and comment.user.type == "Bot"
    with pytest.raises(GithubException) as err:  # the token was narrowed to issues + contents
        gh.get_repo(FULL).create_pull(base="main", head="feature", title="x", body="")
    assert err.value.status == 403

    gh.requester.requestJsonAndCheck("DELETE", "/installation/token")
    with pytest.raises(BadCredentialsException):
        gh.get_repo(FULL)

    with pytest.raises(GithubException) as err:  # app endpoints need the JWT, not a token
        client(fake.base_url).requester.requestJsonAndCheck("GET", f"/repos/{FULL}/installation")
    assert err.value.status == 401 and err.value.data["message"] == "A JSON web token could not be decoded"


def test_app_installation_auth_object(fake: FakeGitHub) -> None:
    auth = Auth.AppAuth(str(fake.app_id), _pem()).get_installation_auth(fake.installation_id)
    gh = Github(
        auth=auth,
        base_url=fake.base_url,
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
    )
    assert gh.get_repo(FULL).get_pull(2).title == "A pull request"
    assert len(fake.requests_to("POST", "create_token")) == 1


def test_jwt_with_wrong_issuer_is_401(fake: FakeGitHub) -> None:
    integration = GithubIntegration(
        auth=Auth.AppAuth(999, _pem()), base_url=fake.base_url, retry=None, seconds_between_requests=None
    )
    with pytest.raises(GithubException) as err:
        integration.get_repo_installation("octo-org", "hello-world")
    assert err.value.status == 401


def test_request_log(fake: FakeGitHub) -> None:
    client(fake.base_url).get_repo(FULL).get_issue(1).create_comment("hi")
    record = fake.requests[-1]
    assert (record.method, record.path, record.route, record.status) == (
        "POST",
        f"/repos/{FULL}/issues/1/comments",
        "create_comment",
        201,
    )
    assert record.body == {"body": "hi"} and record.headers["authorization"] == f"token {TOKEN}"
    assert fake.request_count("GET", "get_repo") == 1


def test_contents_and_review_comment_edit(fake: FakeGitHub) -> None:
    fake.add_file("CLAUDE.md", "# Rules\nBe brief.\n")
    fake.add_file("CLAUDE.md", "# Rules from the PR\n", ref="feature")
    repo = client(fake.base_url).get_repo(FULL)
    assert repo.get_contents("CLAUDE.md", ref="main").decoded_content == b"# Rules\nBe brief.\n"
    head_sha = fake.pull(2).head_sha
    assert repo.get_contents("CLAUDE.md", ref=head_sha).decoded_content == b"# Rules from the PR\n"
    with pytest.raises(GithubException) as err:
        repo.get_contents(".mcp.json", ref="main")
    assert err.value.status == 404

    root = fake.add_review_comment(2, "Why 2?", "boss", "app.py", 2)
    comment = repo.get_pull(2).get_review_comment(root.id)
    comment.edit("Why 2, really?")
    assert fake.review_comments[root.id].body == "Why 2, really?"
