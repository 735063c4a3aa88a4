"""The fakes' fault hooks (`runner.testing.faults`), through plain HTTP: a status for the next N
requests to a route, a reset without an answer, a hang past the client's timeout, "apply then fail",
faults until cleared; and the GitLab fake's pipelines list and Ghost User."""

from __future__ import annotations

import pytest
import requests

from runner.testing.fake_github import FakeGitHub
from runner.testing.fake_gitlab import FakeGitLab

GH_TOKEN = "ghp_fake_token"
GL_TOKEN = "glpat-test"
ISSUE = "/repos/octo-org/hello-world/issues/1"
NOTES = "/api/v4/projects/group%2Fproject/merge_requests/7/notes"


@pytest.fixture
def session():
    with requests.Session() as s:
        s.trust_env = False
        yield s


@pytest.fixture
def github():
    with FakeGitHub() as fake:
        fake.add_issue(1, "Bug")
        yield fake


@pytest.fixture
def gitlab_fake():
    with FakeGitLab("group/project", tokens={GL_TOKEN: "claude_bot"}) as fake:
        fake.add_branch("fix", "f" * 40)
        fake.add_merge_request("Fix", iid=7, source_branch="fix")
        yield fake


def gh_get(fake, session, path=ISSUE, timeout=5.0):
    return session.get(fake.base_url + path, headers={"Authorization": f"token {GH_TOKEN}"}, timeout=timeout)


def test_a_status_for_the_next_n_requests_then_the_real_answer(github, session):
    github.faults.fail("get_issue", 503, times=2)
    assert [gh_get(github, session).status_code for _ in range(3)] == [503, 503, 200]
    assert [r for r, _ in github.faults.hits] == ["get_issue", "get_issue"]
    assert [r.status for r in github.requests_to("GET", "get_issue")] == [503, 503, 200]


def test_a_fault_for_every_request_until_cleared(github, session):
    github.faults.fail("get_issue", 500, times=None)
    assert {gh_get(github, session).status_code for _ in range(4)} == {500}
    github.faults.clear()
    assert gh_get(github, session).status_code == 200


def test_faults_hit_only_their_route(github, session):
    github.faults.fail("get_repo", 502)
    assert gh_get(github, session).status_code == 200
    assert gh_get(github, session, "/repos/octo-org/hello-world").status_code == 502


def test_a_bad_token_is_refused_before_any_fault(github, session):
    github.faults.fail("get_issue", 502)
    answer = session.get(github.base_url + ISSUE, headers={"Authorization": "token nope"}, timeout=5)
    assert answer.status_code == 401 and github.faults.hits == []


def test_a_reset_closes_the_connection_without_an_answer(github, session):
    github.faults.reset("get_issue")
    with pytest.raises(requests.ConnectionError):
        gh_get(github, session)
    assert gh_get(github, session).status_code == 200


def test_a_hang_outlasts_the_clients_timeout(github, session):
    github.faults.hang("get_issue")
    with pytest.raises(requests.ReadTimeout):
        gh_get(github, session, timeout=0.3)
    assert gh_get(github, session).status_code == 200


def test_stopping_the_fake_releases_a_hanging_request(session):
    fake = FakeGitHub().start()
    fake.add_issue(1)
    fake.faults.hang("get_issue")
    with pytest.raises(requests.ReadTimeout):
        gh_get(fake, session, timeout=0.2)
    assert not fake.faults.released
    fake.stop()
    assert fake.faults.released  # the handler still holding the request lets go now
    fake.start()
    assert not fake.faults.released  # and a restarted fake hangs again
    fake.stop()


def test_apply_then_fail_makes_the_write_and_answers_502(github, session):
    github.faults.apply_then_fail("create_comment")
    answer = session.post(
        f"{github.base_url}{ISSUE}/comments",
        json={"body": "hello"},
        headers={"Authorization": f"token {GH_TOKEN}"},
        timeout=5,
    )
    assert answer.status_code == 502 and answer.json()["message"] == "Bad Gateway"
    assert [c.body for c in github.comments(1)] == ["hello"]


def test_apply_then_reset_makes_the_write_and_answers_nothing(github, session):
    github.faults.reset("create_comment", apply=True)
    with pytest.raises(requests.ConnectionError):
        session.post(
            f"{github.base_url}{ISSUE}/comments",
            json={"body": "hello"},
            headers={"Authorization": f"token {GH_TOKEN}"},
            timeout=5,
        )
    assert [c.body for c in github.comments(1)] == ["hello"]


def test_a_rate_limit_sets_the_documented_headers(github, session):
    github.faults.rate_limit("get_issue", reset_in=120)
    answer = gh_get(github, session)
    assert answer.status_code == 403 and answer.headers["x-ratelimit-remaining"] == "0"
    assert int(answer.headers["x-ratelimit-reset"]) >= int(github.clock()) + 119
    github.faults.rate_limit("get_issue", retry_after=30, status=429)
    answer = gh_get(github, session)
    assert answer.status_code == 429 and answer.headers["retry-after"] == "30"


def test_the_graphql_route_takes_faults_too(github, session):
    github.faults.fail("graphql", 502)
    answer = session.post(
        github.base_url + "/graphql",
        json={"query": "{ viewer { login } }"},
        headers={"Authorization": f"token {GH_TOKEN}"},
        timeout=5,
    )
    assert answer.status_code == 502


# --- GitLab ------------------------------------------------------------------------------------------
def gl(fake, session, method, path, **kwargs):
    kwargs.setdefault("timeout", 5)
    return session.request(method, fake.base_url + path, headers={"PRIVATE-TOKEN": GL_TOKEN}, **kwargs)


def test_gitlab_faults_answer_in_gitlabs_shape(gitlab_fake, session):
    gitlab_fake.faults.fail("create_note", 502)
    gitlab_fake.faults.fail("list_notes", 429, headers={"Retry-After": "3"})
    answer = gl(gitlab_fake, session, "POST", NOTES, json={"body": "hi"})
    assert answer.status_code == 502 and answer.json() == {"message": "502 Bad Gateway"}
    limited = gl(gitlab_fake, session, "GET", NOTES)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert gitlab_fake.note_list("merge_request", 7) == []


def test_gitlab_apply_then_fail_reset_and_hang(gitlab_fake, session):
    gitlab_fake.faults.apply_then_fail("create_note")
    assert gl(gitlab_fake, session, "POST", NOTES, json={"body": "one"}).status_code == 502
    gitlab_fake.faults.reset("create_note", apply=True)
    with pytest.raises(requests.ConnectionError):
        gl(gitlab_fake, session, "POST", NOTES, json={"body": "two"})
    gitlab_fake.faults.hang("list_notes")
    with pytest.raises(requests.ReadTimeout):
        gl(gitlab_fake, session, "GET", NOTES, timeout=0.3)
    assert [n.body for n in gitlab_fake.note_list("merge_request", 7)] == ["one", "two"]


def test_gitlab_lists_pipelines_and_their_variables(gitlab_fake, session):
    gitlab_fake.add_pipeline("fix", user="claude_bot", variables=[{"key": "A", "value": "1"}])
    gitlab_fake.add_pipeline("main", user="alice")
    project = "/api/v4/projects/group%2Fproject"
    listed = gl(
        gitlab_fake, session, "GET", f"{project}/pipelines", params={"ref": "fix", "username": "claude_bot"}
    )
    (pipeline,) = listed.json()
    assert pipeline["ref"] == "fix" and pipeline["source"] == "api" and pipeline["project_id"] == 278964
    variables = gl(gitlab_fake, session, "GET", f"{project}/pipelines/{pipeline['id']}/variables").json()
    assert [(v["key"], v["value"]) for v in variables] == [("A", "1")]


def test_gitlab_shows_a_deleted_users_notes_as_the_ghost_user(gitlab_fake, session):
    gitlab_fake.add_note("merge_request", 7, "old remark", author="alice")
    gitlab_fake.delete_user("alice")
    (note,) = gl(gitlab_fake, session, "GET", NOTES).json()
    assert note["author"]["username"] == "ghost"
