"""OIDC token sources: GitHub's token endpoint (the loopback fake), GitLab id_tokens, a file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket

import pytest

from runner.errors import CredentialsError, UsageError
from runner.providers.oidc import (
    FileToken,
    GitHubActionsOidc,
    GitLabIdToken,
    jwt_claims,
    token_source,
)
from runner.settings.oidc import looks_like_jwt, read_oidc_settings
from runner.testing.fake_oidc import GITHUB_ISSUER, FakeOidcIssuer, encode_jwt

AWS = "sts.amazonaws.com"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer():
    with FakeOidcIssuer(clock=Clock()) as fake:
        yield fake


# --- GitHub Actions ----------------------------------------------------------------------------


def test_github_token_for_the_requested_audience(issuer):
    seen: list[str] = []
    source = GitHubActionsOidc(issuer.request_url, issuer.request_token, on_token=seen.append)
    token = source.token(AWS)
    claims = jwt_claims(token)
    assert claims["aud"] == AWS and claims["iss"] == GITHUB_ISSUER
    assert claims["sub"] == "repo:owner/name:ref:refs/heads/main"
    assert claims["exp"] == 1_800_000_000 + 300
    assert issuer.issued == [(AWS, token)] and seen == [token]
    (request,) = issuer.requests
    assert request.authorized and request.audience == AWS and "api-version=2.0&audience=" in request.path


def test_github_tokens_are_fresh_per_call_and_per_audience(issuer):
    source = GitHubActionsOidc(issuer.request_url, issuer.request_token)
    first, second = source.token(AWS), source.token("//iam.googleapis.com/projects/1/x")
    assert first != second
    assert [aud for aud, _ in issuer.issued] == [AWS, "//iam.googleapis.com/projects/1/x"]


def test_without_id_token_write_the_permission_is_named():
    source = token_source(read_oidc_settings({"GITHUB_ACTIONS": "true"}))
    assert isinstance(source, GitHubActionsOidc)
    with pytest.raises(CredentialsError) as info:
        source.token(AWS)
    assert info.value.message.startswith("ACTIONS_ID_TOKEN_REQUEST_URL is not set")
    assert "id-token: write" in info.value.message
    assert info.value.fix == "add `permissions: { id-token: write }` to the job"
    half = GitHubActionsOidc("http://127.0.0.1:9/x?a=1", None)
    with pytest.raises(CredentialsError, match="ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set"):
        half.token(AWS)


def test_http_failures_are_one_line_errors_without_the_request_token(issuer):
    source = GitHubActionsOidc(issuer.request_url, issuer.request_token)
    issuer.fail_next(500)
    with pytest.raises(CredentialsError, match="answered HTTP 500") as info:
        source.token(AWS)
    assert issuer.request_token not in info.value.one_line()
    assert "fake-plan" not in info.value.one_line()  # the job's URL is not quoted either
    wrong = GitHubActionsOidc(issuer.request_url, "expired-request-token")
    with pytest.raises(CredentialsError, match="HTTP 401"):
        wrong.token(AWS)


def test_an_unreachable_endpoint_fails_fast():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    source = GitHubActionsOidc(f"http://127.0.0.1:{port}/token?v=1", "t", timeout_s=2)
    with pytest.raises(CredentialsError, match="could not reach GitHub's OIDC token endpoint"):
        source.token(AWS)


def test_the_fake_signs_with_hs256_when_given_a_secret():
    with FakeOidcIssuer(secret=b"k" * 32) as fake:
        token = GitHubActionsOidc(fake.request_url, fake.request_token).token("aud-x")
    head, payload, signature = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(head + "=="))["alg"] == "HS256"
    expected = hmac.new(b"k" * 32, f"{head}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) == expected


# --- GitLab id_tokens --------------------------------------------------------------------------


def test_gitlab_token_with_the_right_audience(issuer):
    token = issuer.mint(AWS, iss="https://gitlab.com")
    seen: list[str] = []
    source = GitLabIdToken("CLAUDE_OIDC_TOKEN", token, clock=issuer.clock, on_token=seen.append)
    assert source.token(AWS) == token and seen == [token]
    listed = issuer.mint(["a", AWS])
    assert GitLabIdToken("V", listed, clock=issuer.clock).token(AWS) == listed


def test_gitlab_audience_mismatch_says_what_to_write_in_gitlab_ci(issuer):
    source = GitLabIdToken("CLAUDE_OIDC_TOKEN", issuer.mint("https://gitlab.com"), clock=issuer.clock)
    with pytest.raises(CredentialsError) as info:
        source.token(AWS)
    assert (
        "minted for aud https://gitlab.com but the provider needs aud sts.amazonaws.com" in info.value.message
    )
    assert 'id_tokens: { CLAUDE_OIDC_TOKEN: { aud: "sts.amazonaws.com" } }' in info.value.fix
    assert ".gitlab-ci.yml" in info.value.fix


def test_gitlab_missing_expired_or_garbage_tokens(issuer):
    with pytest.raises(CredentialsError, match=r"MY_TOKEN is not set.*id_tokens"):
        GitLabIdToken("MY_TOKEN", None).token(AWS)
    expired = issuer.mint(AWS, exp=int(issuer.clock()) - 60)
    with pytest.raises(CredentialsError, match="expired 60 s ago"):
        GitLabIdToken("T", expired, clock=issuer.clock).token(AWS)
    with pytest.raises(CredentialsError, match="does not hold an OIDC token"):
        GitLabIdToken("T", "not-a-jwt").token(AWS)


# --- a token file ------------------------------------------------------------------------------


def test_a_token_file_is_reread_on_every_call(issuer, tmp_path):
    path = tmp_path / "token"
    path.write_text(issuer.mint(AWS) + "\n")
    source = FileToken(path, clock=issuer.clock)
    first = source.token(AWS)
    path.write_text(issuer.mint(AWS))  # the kubelet rotated it
    assert source.token(AWS) != first
    path.write_text(issuer.mint("other"))
    with pytest.raises(CredentialsError, match="minted for aud other"):
        source.token(AWS)
    with pytest.raises(CredentialsError, match="cannot read the OIDC token file"):
        FileToken(tmp_path / "missing").token(AWS)


# --- which source ------------------------------------------------------------------------------


def test_the_source_is_detected_and_an_explicit_one_wins(tmp_path):
    gitlab = token_source(read_oidc_settings({"GITLAB_CI": "true", "CLAUDE_OIDC_TOKEN_VARIABLE": "AWS_ID"}))
    assert isinstance(gitlab, GitLabIdToken) and gitlab.name == "GitLab id_tokens (AWS_ID)"
    assert isinstance(token_source(read_oidc_settings({"GITHUB_ACTIONS": "true"})), GitHubActionsOidc)
    assert token_source(read_oidc_settings({})) is None
    both = {"GITHUB_ACTIONS": "true", "GITLAB_CI": "true"}
    assert isinstance(
        token_source(read_oidc_settings({**both, "CLAUDE_OIDC_SOURCE": "gitlab"})), GitLabIdToken
    )
    assert token_source(read_oidc_settings({**both, "CLAUDE_OIDC_SOURCE": "none"})) is None
    file_env = {"GITHUB_ACTIONS": "true", "CLAUDE_OIDC_TOKEN_FILE": str(tmp_path / "t")}
    assert isinstance(token_source(read_oidc_settings(file_env)), FileToken)
    with pytest.raises(UsageError, match="CLAUDE_OIDC_SOURCE must be one of"):
        token_source(read_oidc_settings({"CLAUDE_OIDC_SOURCE": "azure"}))
    with pytest.raises(UsageError, match="needs CLAUDE_OIDC_TOKEN_FILE"):
        token_source(read_oidc_settings({"CLAUDE_OIDC_SOURCE": "file"}))
    with pytest.raises(UsageError, match="CLAUDE_OIDC_TOKEN_VARIABLE"):
        token_source(read_oidc_settings({"GITLAB_CI": "true", "CLAUDE_OIDC_TOKEN_VARIABLE": "not a name"}))


def test_oidc_material_is_found_whatever_its_variable_is_called():
    jwt = encode_jwt({"aud": AWS, "sub": "project_path:g/p:ref_type:branch:ref:main"})
    env = {
        "CLAUDE_OIDC_TOKEN_VARIABLE": "AWS_ID",
        "AWS_ID": "opaque-value",
        "SOME_OTHER": jwt,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req",
        "HOME": "/home/x",
    }
    assert set(read_oidc_settings(env).withheld) == {"AWS_ID", "SOME_OTHER", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}
    assert looks_like_jwt(jwt) and not looks_like_jwt("eyJhbGciOi")
    assert jwt_claims(jwt)["aud"] == AWS
    with pytest.raises(ValueError):
        jwt_claims("a.b")
