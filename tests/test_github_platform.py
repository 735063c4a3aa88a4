"""The GitHub adapter against the fake GitHub, in-process: request budgets, App tokens, trusted files."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from runner.errors import CredentialsError
from runner.platforms.github import GitHubAuth, GitHubPlatform
from runner.testing.fake_github import FakeGitHub

TOKEN = "ghp_fake_token"


@pytest.fixture
def github():
    with FakeGitHub("octo-org", "hello-world") as fake:
        yield fake


def platform(fake, auth=None):
    return GitHubPlatform(
        "octo-org/hello-world", auth or GitHubAuth(TOKEN), api_url=fake.api_url, server_url=fake.web_url
    )


def test_a_big_pull_request_is_gathered_in_at_most_12_requests(github):
    files = [
        {
            "filename": f"src/f{i}.py",
            "patch": "@@ -1 +1 @@\n-a\n+b",
            "status": "modified",
            "additions": 1,
            "deletions": 1,
        }
        for i in range(300)
    ]
    github.add_pull(12, head_ref="big", files=files)
    for i in range(250):
        github.add_comment(12, f"comment {i}", user="octocat")
    before = len(github.requests)
    thread = platform(github).fetch_thread(12, is_pull_request=True)
    assert len(thread.files) == 300
    assert len([c for c in thread.comments if c.kind == "comment"]) == 250
    assert len(github.requests) - before == thread.api_requests <= 12


def test_permission_levels(github):
    github.add_user("reader", permission="read")
    github.add_user("maint", permission="maintain")
    gh = platform(github)
    assert gh.permission("reader") == "read"
    assert gh.permission("maint") == "maintain"
    assert gh.permission("octo-org") == "admin"
    assert gh.permission("stranger") in ("read", "none")


def test_trusted_files_come_from_the_requested_ref(github):
    github.add_file("CLAUDE.md", "Use tabs.", ref="main")
    gh = platform(github)
    assert gh.read_file("CLAUDE.md", "main") == "Use tabs."
    assert gh.read_file(".claude/settings.json", "main") is None


def test_comment_create_update_and_sticky_lookup(github):
    github.add_issue(3)
    gh = platform(github)
    ref = gh.create_comment(3, "<!-- marker --> working")
    gh.update_comment(ref, "<!-- marker --> done")
    assert [c.body for c in github.comments(3)] == ["<!-- marker --> done"]
    assert gh.find_comment(3, "<!-- marker -->") == ref
    assert gh.find_comment(3, "<!-- other -->") is None


def test_bad_token_is_a_credentials_error(github):
    with pytest.raises(CredentialsError, match="rejected the token"):
        platform(github, GitHubAuth("ghp_wrong")).permission("octocat")


def test_github_app_token_is_minted_and_revoked(github):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    gh = platform(github, GitHubAuth(app_id=str(github.app_id), app_private_key=pem))
    assert gh.token.startswith("ghs_")
    gh.create_comment(github.add_issue(4).number, "hello")
    assert github.comments(4)[0].user == "claude-runner[bot]"
    gh.close()
    assert gh.token in github.revoked_tokens


def test_bad_app_key_is_a_one_line_credentials_error(github):
    with pytest.raises(CredentialsError, match="app_private_key"):
        platform(github, GitHubAuth(app_id="1", app_private_key="not a key"))
