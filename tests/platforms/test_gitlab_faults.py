"""The GitLab adapter when GitLab fails: transient faults are retried (one log line each) by our
retry policy, not python-gitlab's; notes, replies, diff notes, merge requests and pipelines are
never created twice; persistent failures are one line with exit code 10; a revoked token says so."""

from __future__ import annotations

import re

import pytest

from runner.errors import CredentialsError, PlatformError, PlatformUnavailable
from runner.platforms.gitlab import GitLabPlatform, text_position
from runner.platforms.retry import ApiRetryPolicy
from runner.testing.clock import FakeClock
from runner.testing.fake_gitlab import FakeGitLab

TOKEN = "glpat-runner"
BOT = "project_278964_bot_abc"
DIFF = "@@ -1,4 +1,4 @@\n one\n-two\n+TWO\n three\n four\n"
PROJECT = "/api/v4/projects/group%2Fproject"
POLICY = ApiRetryPolicy(attempts=6, base_s=1.0, total_s=120.0, timeout_s=0.5)
RETRY_LINE = re.compile(
    r"^GitLab API (.+) on (GET|POST|PUT) (\S+), retrying in [\d.]+ s \(attempt (\d) of 6\)$"
)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fake(clock):
    with FakeGitLab("group/project", tokens={TOKEN: BOT}, clock=clock.time) as fake:
        fake.add_user("alice", "developer")
        fake.add_branch("fix", "f" * 40)
        fake.add_merge_request("Fix", iid=7, source_branch="fix", diffs=[{"new_path": "a.py", "diff": DIFF}])
        fake.add_issue("Bug", iid=3)
        yield fake


@pytest.fixture
def log():
    return []


def platform(fake, clock, log, **kwargs):
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("retry", POLICY)
    return GitLabPlatform("group/project", url=fake.base_url, noteable="merge_request", log=log.append,
                          clock=clock, **kwargs)  # fmt: skip


@pytest.mark.parametrize(
    "inject",
    [
        lambda f, route: f.faults.fail(route, 500),
        lambda f, route: f.faults.fail(route, 502),
        lambda f, route: f.faults.fail(route, 503),
        lambda f, route: f.faults.fail(route, 429, headers={"Retry-After": "2"}),
        lambda f, route: f.faults.reset(route),
        lambda f, route: f.faults.hang(route),
    ],
    ids=["500", "502", "503", "429-retry-after", "reset", "hang"],
)
@pytest.mark.parametrize(
    ("route", "read"),
    [
        ("get_member", lambda gl: gl.permission("alice") == "write"),
        ("list_users", lambda gl: gl.permission("alice") == "write"),
        ("get_merge_request", lambda gl: gl.fetch_thread(7, True).title == "Fix"),
        ("list_discussions", lambda gl: gl.fetch_thread(7, True).title == "Fix"),
        ("list_diffs", lambda gl: [f.path for f in gl.fetch_thread(7, True).files] == ["a.py"]),
    ],
)
def test_a_transient_fault_on_a_read_is_retried_once_and_logged(fake, clock, log, inject, route, read):
    inject(fake, route)
    assert read(platform(fake, clock, log))
    (line,) = log
    assert RETRY_LINE.match(line), line


def test_a_retry_after_is_honoured_and_python_gitlab_does_not_retry_on_its_own(fake, clock, log):
    fake.faults.fail("get_member", 429, headers={"Retry-After": "4"})
    platform(fake, clock, log).permission("alice")
    assert clock.slept == [4.0] and len(fake.requests_to("GET", "get_member")) == 2


def test_a_persistent_503_gives_up_in_one_line_with_exit_code_10(fake, clock, log):
    fake.faults.fail("get_merge_request", 503, times=None)
    with pytest.raises(PlatformUnavailable) as caught:
        platform(fake, clock, log).fetch_thread(7, True)
    line = caught.value.one_line()
    assert line.startswith(
        "GitLab API kept failing while trying to read merge request 7: 503 Service Unavailable"
    )
    assert "after 6 attempts" in line and caught.value.exit_code == 10
    assert len(fake.requests_to("GET", "get_merge_request")) == 6


def test_an_unreachable_gitlab_is_one_line(clock, log):
    gl = GitLabPlatform("group/project", url="http://127.0.0.1:9", token=TOKEN, retry=POLICY, log=log.append,
                        clock=clock)  # fmt: skip
    with pytest.raises(
        PlatformUnavailable, match=r"^GitLab API unreachable while trying to read the project: "
    ):
        gl.repository()


# --- writes that create something: never twice ---------------------------------------------------------
@pytest.mark.parametrize("fault", ["apply_then_fail", "reset", "hang"])
def test_a_note_made_but_not_answered_is_found_not_posted_again(fake, clock, log, fault):
    if fault == "apply_then_fail":
        fake.faults.apply_then_fail("create_note")
    else:
        getattr(fake.faults, fault)("create_note", apply=True)
    ref = platform(fake, clock, log).create_comment(7, "<!-- marker --> working")
    notes = fake.note_list("merge_request", 7)
    assert [n.id for n in notes] == [ref.id] and len(fake.requests_to("POST", "create_note")) == 1
    assert log[-1].endswith("but the note was made: using it")


def test_a_note_not_made_is_posted_again_once(fake, clock, log):
    fake.faults.fail("create_note", 502)
    ref = platform(fake, clock, log).create_comment(7, "working")
    assert [n.id for n in fake.note_list("merge_request", 7)] == [ref.id]
    assert len(fake.requests_to("POST", "create_note")) == 2
    assert re.match(
        rf"GitLab API 502 on POST {PROJECT}/merge_requests/7/notes and no note was made, retrying", log[0]
    )


def test_someone_elses_note_with_the_same_body_is_not_taken_for_ours(fake, clock, log):
    fake.add_note("merge_request", 7, "working", author="alice")
    fake.faults.fail("create_note", 502)
    platform(fake, clock, log).create_comment(7, "working")
    assert [n.author for n in fake.note_list("merge_request", 7)] == ["alice", BOT]


def test_a_reply_made_but_answered_502_is_found_not_posted_again(fake, clock, log):
    asked = fake.add_note("merge_request", 7, "@claude why?", author="alice", discussion_id="d" * 40)
    fake.faults.apply_then_fail("reply_discussion")
    ref = platform(fake, clock, log).reply_to_review_comment(7, asked.id, "Because.")
    assert [n.id for n in fake.note_list("merge_request", 7)] == [asked.id, ref.id]


def test_a_diff_note_made_but_answered_502_is_found_not_posted_again(fake, clock, log):
    gl = platform(fake, clock, log)
    fake.faults.apply_then_fail("create_discussion")
    ref = gl.post_diff_note(7, text_position(gl.diff_refs(7), "a.py", new_line=2), "Nit")
    (note,) = fake.note_list("merge_request", 7)
    assert note.id == ref.id and note.type == "DiffNote"


def test_a_merge_request_opened_but_answered_502_is_found_not_opened_again(fake, clock, log):
    fake.add_branch("claude/issue-3", "9" * 40)
    fake.faults.apply_then_fail("create_merge_request")
    url = platform(fake, clock, log).create_pull_request(
        head="claude/issue-3", base="main", title="Fix #3", body="Closes #3", draft=True
    )
    (mr,) = fake.merge_requests_created
    assert url.endswith(f"/-/merge_requests/{mr.iid}")


def test_a_pipeline_started_but_answered_502_is_found_not_started_again(fake, clock, log):
    fake.faults.apply_then_fail("create_pipeline")
    variables = {"AI_FLOW_INPUT": "@claude hi", "AI_FLOW_EVENT": "note"}
    pipeline_id, _ = platform(fake, clock, log).start_pipeline("fix", variables)
    (pipeline,) = fake.pipelines
    assert pipeline.id == pipeline_id


def test_a_refused_note_is_not_retried(fake, clock, log):
    fake.faults.fail("create_note", 400, message="400 Bad request - body is too long")
    with pytest.raises(PlatformError, match="could not post a note: 400 Bad request"):
        platform(fake, clock, log).create_comment(7, "working")
    assert len(fake.requests_to("POST", "create_note")) == 1


# --- tokens -------------------------------------------------------------------------------------------
def test_a_401_after_the_token_worked_says_it_expired_or_was_revoked(fake, clock, log):
    gl = platform(fake, clock, log)
    ref = gl.create_comment(7, "working")
    del fake.tokens[TOKEN]
    with pytest.raises(CredentialsError) as caught:
        gl.update_comment(ref, "done")
    assert caught.value.exit_code == 4
    assert caught.value.one_line().startswith(
        "the GitLab token expired or was revoked (401 while trying to update the note)"
    )
