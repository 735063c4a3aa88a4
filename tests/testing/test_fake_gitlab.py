"""The fake GitLab through a real client (python-gitlab): state, pagination, auth, GitLab's errors."""

from __future__ import annotations

import gitlab
import pytest

from runner.testing.fake_gitlab import FakeGitLab

TOKEN = "glpat-test"
JOB = "job-token-1"
DIFF = "@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n"


@pytest.fixture
def fake():
    with FakeGitLab(
        "group/project", tokens={TOKEN: "claude_bot"}, job_tokens={JOB: "alice"}, web_url="https://gl.example"
    ) as fake:
        fake.add_user("alice", "developer")
        fake.add_branch("fix", "f" * 40)
        fake.add_merge_request(
            "Fix it", iid=7, source_branch="fix", diffs=[{"new_path": "a.py", "diff": DIFF}]
        )
        yield fake


def client(fake, **auth):
    return gitlab.Gitlab(fake.base_url, **(auth or {"private_token": TOKEN}), per_page=100)


def test_project_by_path_and_by_id_with_the_web_url_override(fake):
    gl = client(fake)
    by_path = gl.projects.get("group/project")
    by_id = gl.projects.get(fake.project_id)
    assert by_path.id == by_id.id == fake.project_id
    assert by_path.http_url_to_repo == "https://gl.example/group/project.git"
    assert by_path.default_branch == "main" and by_path.visibility == "private"
    with pytest.raises(gitlab.GitlabGetError) as err:
        gl.projects.get("group/other")
    assert err.value.response_code == 404 and "Project Not Found" in str(err.value.error_message)


def test_members_carry_access_levels_and_non_members_are_404(fake):
    fake.add_user("rita", "reporter")
    fake.add_user("outsider", None)
    gl = client(fake)
    project = gl.projects.get("group/project", lazy=True)
    alice = gl.users.list(username="alice")[0]
    rita = gl.users.list(username="rita")[0]
    assert project.members_all.get(alice.id).access_level == 30
    assert project.members_all.get(rita.id).access_level == 20
    with pytest.raises(gitlab.GitlabGetError) as err:
        project.members_all.get(gl.users.list(username="outsider")[0].id)
    assert err.value.response_code == 404
    assert gl.users.list(username="nobody") == []


def test_blocked_users_are_reported_blocked(fake):
    fake.add_user("mallory", "developer", state="blocked")
    user = client(fake).users.list(username="mallory")[0]
    assert user.state == "blocked"


def test_notes_create_list_update_and_paginate(fake):
    for i in range(249):
        fake.add_note("merge_request", 7, f"note {i}", author="alice")
    gl = client(fake)
    mr = gl.projects.get("group/project", lazy=True).mergerequests.get(7, lazy=True)
    mine = mr.notes.create({"body": "working..."})
    mine.body = "done"
    mine.save()
    before = len(fake.requests_to("GET", "list_notes"))
    notes = mr.notes.list(get_all=True, sort="asc", order_by="created_at")
    assert len(notes) == 250 and len(fake.requests_to("GET", "list_notes")) - before == 3
    assert notes[-1].body == "done" and notes[-1].author["username"] == "claude_bot"
    page = fake.requests_to("GET", "list_notes")[-1]
    assert page.query["page"] == "3"
    first = gl.http_get("/projects/group%2Fproject/merge_requests/7/notes", per_page=100, raw=True)
    assert first.headers["X-Total"] == "250" and first.headers["X-Total-Pages"] == "3"
    assert first.headers["X-Next-Page"] == "2" and 'rel="next"' in first.headers["Link"]


def test_only_the_author_may_edit_a_note(fake):
    note = fake.add_note("merge_request", 7, "mine", author="alice")
    mr = client(fake).projects.get("group/project", lazy=True).mergerequests.get(7, lazy=True)
    with pytest.raises(gitlab.GitlabUpdateError) as err:
        mr.notes.update(note.id, {"body": "theirs"})
    assert err.value.response_code == 403


def test_discussions_and_replies(fake):
    plain = fake.add_note("merge_request", 7, "a plain comment", author="alice")
    mr = client(fake).projects.get("group/project", lazy=True).mergerequests.get(7, lazy=True)
    thread = mr.discussions.create({"body": "start a thread"})
    assert thread.individual_note is False and thread.attributes["notes"][0]["type"] == "DiscussionNote"
    thread.notes.create({"body": "a reply"})
    listed = {d.id: d for d in mr.discussions.list(get_all=True)}
    assert [n["body"] for n in listed[thread.id].attributes["notes"]] == ["start a thread", "a reply"]
    assert listed[plain.discussion_id].individual_note is True
    listed[plain.discussion_id].notes.create({"body": "replying makes it a thread"})
    refreshed = mr.discussions.get(plain.discussion_id)
    assert refreshed.individual_note is False and refreshed.attributes["notes"][0]["type"] == "DiscussionNote"


def test_diff_discussion_with_a_position_and_a_bad_line(fake):
    gl = client(fake)
    mr = gl.projects.get("group/project", lazy=True).mergerequests.get(7)
    position = {
        "position_type": "text",
        **mr.diff_refs,
        "old_path": "a.py",
        "new_path": "a.py",
        "new_line": 2,
    }
    body = "```suggestion:-0+0\nTWO = 2\n```"
    created = mr.discussions.create({"body": body, "position": position})
    note = created.attributes["notes"][0]
    assert note["type"] == "DiffNote" and note["position"]["new_line"] == 2 and note["resolvable"] is True
    assert note["position"]["old_line"] is None and note["position"]["head_sha"] == mr.diff_refs["head_sha"]
    with pytest.raises(gitlab.GitlabCreateError) as err:
        mr.discussions.create({"body": "x", "position": {**position, "new_line": 40}})
    assert err.value.response_code == 400 and "line_code" in str(err.value.error_message)
    with pytest.raises(gitlab.GitlabCreateError):
        mr.discussions.create({"body": "x", "position": {**position, "head_sha": "0" * 40}})


def test_merge_request_create_draft_and_409_for_a_duplicate(fake):
    fake.add_branch("claude/issue-3", "c" * 40)
    project = client(fake).projects.get("group/project", lazy=True)
    mr = project.mergerequests.create(
        {
            "source_branch": "claude/issue-3",
            "target_branch": "main",
            "title": "Draft: Fix #3",
            "description": "Closes #3",
        }
    )
    assert (
        mr.draft is True and mr.title == "Draft: Fix #3" and mr.web_url.endswith(f"/merge_requests/{mr.iid}")
    )
    assert fake.merge_requests_created[-1].author == "claude_bot"
    with pytest.raises(gitlab.GitlabCreateError) as err:
        project.mergerequests.create(
            {"source_branch": "claude/issue-3", "target_branch": "main", "title": "again"}
        )
    assert err.value.response_code == 409 and "already exists" in str(err.value.error_message)
    found = project.mergerequests.list(source_branch="claude/issue-3", state="opened")
    assert [m.iid for m in found] == [mr.iid]


def test_raw_file_at_a_ref(fake):
    fake.add_file("CLAUDE.md", "trusted")
    fake.add_file("CLAUDE.md", "from the branch", ref="fix")
    project = client(fake).projects.get("group/project", lazy=True)
    assert project.files.raw(file_path="CLAUDE.md", ref="main") == b"trusted"
    assert project.files.raw(file_path="CLAUDE.md", ref="fix") == b"from the branch"
    with pytest.raises(gitlab.GitlabGetError) as err:
        project.files.raw(file_path=".claude/settings.json", ref="main")
    assert err.value.response_code == 404


def test_pipeline_create_records_ref_and_variables(fake):
    project = client(fake).projects.get("group/project", lazy=True)
    pipeline = project.pipelines.create(
        {"ref": "fix", "variables": [{"key": "AI_FLOW_INPUT", "value": "hi"}]}
    )
    assert (
        pipeline.ref == "fix" and pipeline.status == "created" and pipeline.web_url.endswith(str(pipeline.id))
    )
    recorded = fake.pipelines[-1]
    assert recorded.variables == [{"key": "AI_FLOW_INPUT", "value": "hi", "variable_type": "env_var"}]
    with pytest.raises(gitlab.GitlabCreateError) as err:
        project.pipelines.create({"ref": "nope"})
    assert err.value.response_code == 400


def test_a_bad_token_is_401(fake):
    with pytest.raises(gitlab.GitlabAuthenticationError) as err:
        client(fake, private_token="wrong").projects.get("group/project")
    assert err.value.response_code == 401 and err.value.error_message == "401 Unauthorized"


def test_the_job_token_reads_the_project_only(fake):
    gl = client(fake, job_token=JOB)
    assert gl.projects.get("group/project").path_with_namespace == "group/project"
    mr = gl.projects.get("group/project", lazy=True).mergerequests.get(7, lazy=True)
    with pytest.raises(gitlab.GitlabCreateError) as err:
        mr.notes.create({"body": "hello"})
    assert err.value.response_code == 403
    with pytest.raises(gitlab.GitlabListError) as listing:
        mr.notes.list(get_all=True)
    assert listing.value.response_code == 404
    assert fake.requests[-1].headers["job-token"] == JOB and fake.requests[-1].caller == "alice"


def test_confidential_issues_are_hidden_from_guests(fake):
    fake.add_user("guest", "guest")
    fake.tokens["glpat-guest"] = "guest"
    issue = fake.add_issue("Leaked key", confidential=True, author="alice")
    as_guest = client(fake, private_token="glpat-guest").projects.get("group/project", lazy=True)
    with pytest.raises(gitlab.GitlabGetError):
        as_guest.issues.get(issue.iid)
    assert client(fake).projects.get("group/project", lazy=True).issues.get(issue.iid).confidential is True


def test_the_request_log_has_timestamps_and_routes(fake):
    client(fake).projects.get("group/project")
    record = fake.requests[-1]
    assert record.route == "get_project" and record.status == 200 and record.at > 0
    assert record.headers["private-token"] == TOKEN


def test_pipelines_list_filters_and_orders_as_documented(fake):
    gl = client(fake)
    fake.add_pipeline("main", user="alice", source="push")
    fake.add_pipeline("fix", user="claude_bot", variables=[{"key": "RUN", "value": "1"}])
    fake.add_pipeline("fix", user="claude_bot", source="trigger")
    path = "/projects/group%2Fproject/pipelines"
    assert [p["ref"] for p in gl.http_list(path, get_all=True)] == ["fix", "fix", "main"]  # newest first
    api_fix = gl.http_list(path, query_data={"ref": "fix", "source": "api"}, get_all=True)
    assert [p["id"] for p in api_fix] == [fake.pipelines[1].id]
    ascending = gl.http_list(path, query_data={"sort": "asc", "username": "claude_bot"}, get_all=True)
    assert [p["id"] for p in ascending] == [fake.pipelines[1].id, fake.pipelines[2].id]
    assert gl.http_list(path, query_data={"updated_after": "2999-01-01T00:00:00Z"}, get_all=True) == []
    with pytest.raises(gitlab.GitlabHttpError) as err:
        gl.http_list(path, query_data={"order_by": "nonsense"}, get_all=True)
    assert err.value.response_code == 400


def test_pipeline_variables_for_its_user_or_a_maintainer(fake):
    pipeline = fake.add_pipeline("fix", user="claude_bot", variables=[{"key": "RUN", "value": "1"}])
    other = fake.add_pipeline("fix", user="claude_bot")
    path = f"/projects/{fake.project_id}/pipelines/{pipeline.id}"
    assert client(fake).http_get(path)["id"] == pipeline.id
    variables = client(fake).http_list(path + "/variables", get_all=True)
    assert variables == [{"variable_type": "env_var", "key": "RUN", "value": "1", "raw": False}]
    assert client(fake).http_list(f"/projects/{fake.project_id}/pipelines/{other.id}/variables") == []
    fake.tokens["glpat-alice"] = "alice"  # a developer who did not start it
    with pytest.raises(gitlab.GitlabHttpError) as err:
        client(fake, private_token="glpat-alice").http_list(path + "/variables")
    assert err.value.response_code == 403
    with pytest.raises(gitlab.GitlabHttpError) as err:
        client(fake).http_get(f"/projects/{fake.project_id}/pipelines/1")
    assert err.value.response_code == 404


def test_fault_apply_then_fail_creates_the_pipeline_and_answers_502(fake):
    import requests

    fault = fake.fail("create_pipeline", 502, apply=True, times=1)
    url = f"{fake.api_url}/projects/{fake.project_id}/pipeline"
    headers = {"PRIVATE-TOKEN": TOKEN}
    first = requests.post(url, json={"ref": "fix"}, headers=headers, timeout=5)
    assert first.status_code == 502 and first.json() == {"message": "502 Bad Gateway"}
    assert len(fake.pipelines) == 1 and fault.hits == 1  # applied, then failed
    assert requests.post(url, json={"ref": "fix"}, headers=headers, timeout=5).status_code == 201
    fake.fail("create_pipeline", 503)  # not applied
    assert requests.post(url, json={"ref": "fix"}, headers=headers, timeout=5).status_code == 503
    assert len(fake.pipelines) == 2
    assert [r.status for r in fake.requests_to("POST", "create_pipeline")] == [502, 201, 503]


def test_fault_reset_and_hold(fake):
    import threading

    import requests

    fake.fail("create_pipeline", 0, apply=True)
    url = f"{fake.api_url}/projects/{fake.project_id}/pipeline"
    with pytest.raises(requests.ConnectionError):
        requests.post(url, json={"ref": "fix"}, headers={"PRIVATE-TOKEN": TOKEN}, timeout=5)
    assert len(fake.pipelines) == 1  # applied before the connection was cut
    release = threading.Event()
    fake.fail("get_project", None, hold=release)
    answers: list[int] = []
    project = f"{fake.api_url}/projects/{fake.project_id}"
    waiter = threading.Thread(
        target=lambda: answers.append(requests.get(project, headers={"PRIVATE-TOKEN": TOKEN}).status_code)
    )
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive() and answers == []  # held
    release.set()
    waiter.join(5)
    assert answers == [200]
    with pytest.raises(ValueError, match="no route"):
        fake.fail("nonsense")
