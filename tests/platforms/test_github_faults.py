"""The GitHub adapter when GitHub fails: transient faults are retried (one log line each), writes
that create something are never made twice, persistent failures are one line with exit code 10,
tokens expire. Against the fake GitHub's fault hooks, with a clock the test controls (no real waits
except the client's 1 s timeout in the hang cases)."""

from __future__ import annotations

import re
import socket

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from runner.errors import CredentialsError, PlatformError, PlatformUnavailable
from runner.platforms.base import InlineComment
from runner.platforms.github import GitHubAuth, GitHubPlatform
from runner.platforms.retry import ApiRetryPolicy
from runner.testing.clock import FakeClock
from runner.testing.fake_github import FakeGitHub

TOKEN = "ghp_fake_token"
REPO = "/repos/octo-org/hello-world"
PATCH = "@@ -1,2 +1,3 @@\n a\n+b\n c"
POLICY = ApiRetryPolicy(attempts=6, base_s=1.0, total_s=120.0, timeout_s=1.0)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def github(clock):
    with FakeGitHub("octo-org", "hello-world", clock=clock.time) as fake:
        fake.add_user("alice", permission="write")
        fake.add_issue(3, "A bug", "It breaks", "alice")
        fake.add_branch("fix", "f" * 40)
        fake.add_pull(5, head_ref="fix", files=[{"filename": "a.py", "patch": PATCH}], user="alice")
        yield fake


class Log(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)


@pytest.fixture
def log():
    return Log()


def platform(fake, clock, log, auth=None, **kwargs):
    return GitHubPlatform(
        "octo-org/hello-world",
        auth or GitHubAuth(TOKEN),
        api_url=fake.base_url,
        server_url=fake.web_url,
        retry=kwargs.pop("retry", POLICY),
        log=log,
        clock=clock,
        **kwargs,
    )


RETRY_LINE = re.compile(
    r"^GitHub API (.+) on (GET|POST|PATCH) (\S+), retrying in [\d.]+ s \(attempt (\d) of 6\)$"
)


# --- reads: every transient fault is retried --------------------------------------------------------
TRANSIENT = {
    "500": lambda f, route: f.faults.fail(route, 500),
    "502": lambda f, route: f.faults.fail(route, 502),
    "503": lambda f, route: f.faults.fail(route, 503),
    "429": lambda f, route: f.faults.fail(route, 429, message="API rate limit exceeded"),
    "secondary-rate-limit-retry-after": lambda f, route: f.faults.rate_limit(route, retry_after=3),
    "secondary-rate-limit-reset": lambda f, route: f.faults.rate_limit(route, reset_in=5, status=429),
    "connection-reset": lambda f, route: f.faults.reset(route),
}


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
@pytest.mark.parametrize(
    ("route", "read"),
    [
        ("get_permission", lambda gh: gh.permission("alice") == "write"),
        ("get_repo", lambda gh: gh.repository().default_branch == "main"),
        ("get_issue", lambda gh: gh.fetch_thread(3, False).title == "A bug"),
        ("graphql", lambda gh: gh.fetch_thread(3, False).title == "A bug"),
        ("list_files", lambda gh: [f.path for f in gh.fetch_thread(5, True).files] == ["a.py"]),
        ("get_contents", lambda gh: gh.read_file("CLAUDE.md", "main") is None),
    ],
)
def test_a_transient_fault_on_a_read_is_retried_once_and_logged(github, clock, log, fault, route, read):
    TRANSIENT[fault](github, route)
    assert read(platform(github, clock, log))
    assert github.faults.hits and all(r == route for r, _ in github.faults.hits)
    (line,) = log
    match = RETRY_LINE.match(line)
    assert match, line
    assert match.group(4) == "2"


def test_a_hang_on_a_read_times_out_and_is_retried(github, clock, log):
    github.faults.hang("get_permission")
    assert platform(github, clock, log).permission("alice") == "write"
    (line,) = log
    assert line.startswith(f"GitHub API timeout on GET {REPO}/collaborators/alice/permission, retrying in")


def test_the_log_line_names_the_status_method_and_path(github, clock, log):
    github.faults.fail("get_permission", 502, times=2)
    platform(github, clock, log).permission("alice")
    assert [RETRY_LINE.match(line).groups()[:3] for line in log] == [  # type: ignore[union-attr]
        ("502", "GET", f"{REPO}/collaborators/alice/permission")
    ] * 2
    assert [line.rsplit("(", 1)[1] for line in log] == ["attempt 2 of 6)", "attempt 3 of 6)"]


def test_waits_grow_and_a_rate_limit_waits_what_github_asks(github, clock, log):
    gh = platform(github, clock, log)
    github.faults.fail("get_permission", 502, times=3)
    gh.permission("alice")
    first, second, third = clock.slept
    assert 0.5 <= first <= 1 and 1 <= second <= 2 and 2 <= third <= 4  # doubling, with jitter
    clock.slept.clear()
    github.faults.rate_limit("get_permission", retry_after=7)
    gh.permission("alice")
    assert clock.slept == [7.0]
    clock.slept.clear()
    github.faults.rate_limit("get_permission", reset_in=30)
    gh.permission("alice")
    (waited,) = clock.slept
    assert 30 <= waited <= 31  # until x-ratelimit-reset (whole seconds), and a second for the rounding


def test_a_403_that_is_not_a_rate_limit_is_a_refusal_not_retried(github, clock, log):
    github.faults.fail("get_permission", 403, message="Resource not accessible by integration")
    with pytest.raises(PlatformError) as caught:
        platform(github, clock, log).permission("alice")
    assert type(caught.value) is PlatformError and caught.value.exit_code == 9
    assert "Resource not accessible by integration" in caught.value.one_line()
    assert github.request_count("GET", "get_permission") == 1 and log == []


# --- persistent failures ------------------------------------------------------------------------------
def test_a_persistent_502_gives_up_after_six_attempts_in_one_line(github, clock, log):
    github.faults.fail("get_permission", 502, times=None)
    with pytest.raises(PlatformUnavailable) as caught:
        platform(github, clock, log).permission("alice")
    line = caught.value.one_line()
    assert caught.value.exit_code == 10 and "\n" not in line
    assert line.startswith(
        "GitHub API kept failing while trying to check alice's permission: 502 Bad Gateway"
    )
    assert "after 6 attempts" in line and "githubstatus.com" in line
    assert github.request_count("GET", "get_permission") == 6 and len(log) == 5


def test_a_rate_limit_longer_than_the_time_budget_is_not_waited_for(github, clock, log):
    github.faults.rate_limit("get_permission", retry_after=3600, times=None)
    with pytest.raises(PlatformUnavailable, match=r"GitHub API rate limit while trying to check alice's"):
        platform(github, clock, log).permission("alice")
    assert clock.slept == [] and github.request_count("GET", "get_permission") == 1


def test_the_time_budget_caps_the_retries(github, clock, log):
    github.faults.fail("get_permission", 503, times=None)
    policy = ApiRetryPolicy(attempts=50, base_s=1.0, cap_s=30.0, total_s=60.0)
    with pytest.raises(PlatformUnavailable, match="would pass the 60 s limit"):
        platform(github, clock, log, retry=policy).permission("alice")
    assert sum(clock.slept) <= 60 and len(clock.slept) < 49


def test_an_unreachable_host_is_one_line_not_a_traceback(clock, log):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gh = GitHubPlatform(
        "octo-org/hello-world",
        GitHubAuth(TOKEN),
        api_url=f"http://127.0.0.1:{port}",
        server_url="http://127.0.0.1",
        retry=POLICY,
        log=log,
        clock=clock,
    )
    with pytest.raises(PlatformUnavailable) as caught:
        gh.permission("alice")
    line = caught.value.one_line()
    assert line.startswith(
        "GitHub API unreachable while trying to check alice's permission: connection refused"
    )
    assert f"on GET {REPO}/collaborators/alice/permission after 6 attempts" in line
    assert caught.value.exit_code == 10 and len(log) == 5


# --- writes that create something: never twice ---------------------------------------------------------
def test_a_comment_made_but_answered_502_is_found_not_posted_again(github, clock, log):
    github.faults.apply_then_fail("create_comment")
    ref = platform(github, clock, log).create_comment(3, "<!-- marker --> working")
    (comment,) = github.comments(3)
    assert ref.id == comment.id and ref.url.endswith(f"#issuecomment-{comment.id}")
    assert github.request_count("POST", "create_comment") == 1
    assert log == [f"GitHub API 502 on POST {REPO}/issues/3/comments, but the comment was made: using it"]


@pytest.mark.parametrize("fault", ["reset", "hang"])
def test_a_comment_made_but_never_answered_is_found_not_posted_again(github, clock, log, fault):
    getattr(github.faults, fault)("create_comment", apply=True)
    ref = platform(github, clock, log).create_comment(3, "working")
    assert [c.id for c in github.comments(3)] == [ref.id]
    assert github.request_count("POST", "create_comment") == 1


@pytest.mark.parametrize("fault", ["502", "reset"])
def test_a_comment_not_made_is_posted_again_once(github, clock, log, fault):
    if fault == "reset":
        github.faults.reset("create_comment")
    else:
        github.faults.fail("create_comment", 502)
    ref = platform(github, clock, log).create_comment(3, "working")
    assert [c.id for c in github.comments(3)] == [ref.id]
    assert github.request_count("POST", "create_comment") == 2
    assert "and no comment was made, retrying in" in log[0]


def test_a_rate_limited_comment_is_posted_after_the_wait(github, clock, log):
    github.faults.rate_limit("create_comment", retry_after=2)
    platform(github, clock, log).create_comment(3, "working")
    assert len(github.comments(3)) == 1 and clock.slept == [2.0]


def test_someone_elses_comment_with_the_same_body_is_not_taken_for_ours(github, clock, log):
    github.add_comment(3, "working", user="alice")
    github.faults.fail("create_comment", 502)
    ref = platform(github, clock, log).create_comment(3, "working")
    assert [c.user for c in github.comments(3)] == ["alice", "github-actions[bot]"]
    assert ref.id == github.comments(3)[-1].id


def test_a_refused_comment_is_not_retried(github, clock, log):
    github.faults.fail("create_comment", 422, message="Validation Failed")
    with pytest.raises(PlatformError, match="could not post a comment: 422"):
        platform(github, clock, log).create_comment(3, "working")
    assert github.request_count("POST", "create_comment") == 1 and github.comments(3) == []


def test_a_pull_request_opened_but_answered_502_is_found_not_opened_again(github, clock, log):
    github.add_branch("claude/issue-3", "c" * 40)
    github.faults.apply_then_fail("create_pull")
    url = platform(github, clock, log).create_pull_request(
        head="claude/issue-3", base="main", title="Fix #3", body="Fixes #3", draft=True
    )
    (pr,) = github.pulls_created
    assert url.endswith(f"/pull/{pr.number}") and github.request_count("POST", "create_pull") == 1


def test_a_reply_made_but_answered_502_is_found_not_posted_again(github, clock, log):
    asked = github.add_review_comment(5, "@claude why?", "alice", "a.py", 2)
    github.faults.apply_then_fail("create_reply")
    ref = platform(github, clock, log).reply_to_review_comment(5, asked.id, "Because.")
    replies = [c for c in github.review_comments_of(5) if c.in_reply_to_id == asked.id]
    assert [c.id for c in replies] == [ref.id]


def test_a_review_made_but_answered_502_is_found_not_posted_again(github, clock, log):
    github.faults.apply_then_fail("create_review")
    head = github.pull(5).head_sha
    posted = platform(github, clock, log).post_inline_comments(
        5, [InlineComment("a.py", 2, "Nit")], commit_sha=head, body="<!-- review --> Review"
    )
    (review,) = github.reviews_created
    assert [p.ref.id for p in posted if p.ref] == [review.id] and posted[0].error is None


def test_the_graphql_query_is_a_read_and_is_retried_after_a_reset(github, clock, log):
    github.add_comment(3, "hello", "alice")
    github.faults.reset("graphql")
    thread = platform(github, clock, log).fetch_thread(3, False)
    assert [c.body for c in thread.comments] == ["hello"]
    assert log[0].startswith("GitHub API connection reset on POST /graphql, retrying in")


def test_a_comment_update_is_retried(github, clock, log):
    gh = platform(github, clock, log)
    ref = gh.create_comment(3, "working")
    github.faults.fail("edit_comment", 502)
    gh.update_comment(ref, "done")
    assert [c.body for c in github.comments(3)] == ["done"]


# --- tokens that expire ----------------------------------------------------------------------------------
def test_a_401_after_the_token_worked_says_it_expired_or_was_revoked(github, clock, log):
    gh = platform(github, clock, log)
    ref = gh.create_comment(3, "working")
    del github.tokens[TOKEN]  # revoked mid-run
    with pytest.raises(CredentialsError) as caught:
        gh.update_comment(ref, "done")
    assert caught.value.exit_code == 4
    assert caught.value.one_line().startswith(
        "the GitHub token expired or was revoked (401 while trying to update the comment)"
    )


def app_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_an_app_token_is_minted_again_before_it_expires_and_the_push_uses_it(github, clock, log):
    minted: list[str] = []
    auth = GitHubAuth(app_id=str(github.app_id), app_private_key=app_key())
    gh = platform(github, clock, log, auth=auth, on_token=minted.append)
    ref = gh.create_comment(3, "working")
    first = gh.push_target().token
    assert minted == [first]
    clock.advance(50 * 60)  # 50 minutes in: still the first token
    gh.update_comment(ref, "still working")
    assert gh.push_target().token == first and len(github.installation_tokens) == 1
    clock.advance(6 * 60)  # 56 minutes: within 5 minutes of the expiry, a new token
    second = gh.push_target().token
    assert second != first and minted == [first, second]
    clock.advance(10 * 60)  # 66 minutes: the first token has expired; the adapter uses the second
    gh.update_comment(ref, "done")
    assert github.comments(3)[0].body == "done"
    assert github.requests_to("PATCH", "edit_comment")[-1].headers["authorization"] == f"token {second}"
    assert any("GitHub App installation token refreshed" in line for line in log)


def test_an_expired_app_token_would_be_refused_without_the_refresh(github, clock, log):
    auth = GitHubAuth(app_id=str(github.app_id), app_private_key=app_key())
    gh = platform(github, clock, log, auth=auth)
    first = gh.token
    clock.advance(61 * 60)
    import requests

    answer = requests.get(f"{github.base_url}{REPO}", headers={"Authorization": f"token {first}"}, timeout=5)
    assert answer.status_code == 401  # the fake expires tokens as GitHub does
    assert gh.repository().full_name == "octo-org/hello-world"  # the adapter minted a new one first


def test_minting_an_app_token_is_retried_and_a_github_outage_is_not_a_key_problem(github, clock, log):
    auth = GitHubAuth(app_id=str(github.app_id), app_private_key=app_key())
    github.faults.fail("create_token", 502)
    gh = platform(github, clock, log, auth=auth)
    assert gh.token.startswith("ghs_") and len(github.installation_tokens) == 1
    assert log[0].startswith("GitHub API 502 on POST /app/installations/4242424/access_tokens, retrying in")
    github.faults.fail("create_token", 503, times=None)
    with pytest.raises(PlatformUnavailable, match="while trying to mint the App's installation token: 503"):
        platform(github, clock, log, auth=auth)


def test_closing_revokes_the_app_token_but_never_mints_one_to_revoke_it(github, clock, log):
    auth = GitHubAuth(app_id=str(github.app_id), app_private_key=app_key())
    gh = platform(github, clock, log, auth=auth)
    first = gh.token
    clock.advance(58 * 60)  # about to expire: revoking it would first mint another
    gh.close()
    assert len(github.installation_tokens) == 1 and first not in github.revoked_tokens
    fresh = platform(github, clock, log, auth=auth)
    token = fresh.token
    fresh.close()
    assert github.revoked_tokens == {token}


def test_a_tls_failure_is_not_retried(github, clock, log):
    gh = GitHubPlatform(
        "octo-org/hello-world",
        GitHubAuth(TOKEN),
        api_url=f"https://127.0.0.1:{github.port}",  # the fake speaks plain HTTP
        server_url=github.web_url,
        retry=POLICY,
        log=log,
        clock=clock,
    )
    with pytest.raises(
        PlatformUnavailable,
        match="GitHub API unreachable while trying to check alice's permission: TLS error",
    ):
        gh.permission("alice")
    assert log == []
