"""The GitLab adapter against the fake GitLab, in-process: permissions, threads with diff notes,
request budgets, comments on the right noteable, job-token limits, publishing."""

from __future__ import annotations

import pytest

from runner.errors import CredentialsError, PlatformError
from runner.platforms.base import CommentRef
from runner.platforms.gitlab import GitLabPlatform, suggestion, text_position
from runner.platforms.gitlab_data import access_permission, hunk_up_to, label_names, thread_comments
from runner.testing.fake_gitlab import FakeGitLab

TOKEN = "glpat-runner"
JOB = "ci-job-token"
DIFF = "@@ -1,4 +1,4 @@\n one\n-two\n+TWO\n three\n four\n"


@pytest.fixture
def fake():
    with FakeGitLab(
        "group/project", tokens={TOKEN: "project_278964_bot_abc"}, job_tokens={JOB: "alice"}
    ) as fake:
        fake.add_user("alice", "developer")
        fake.add_branch("fix", "f" * 40)
        yield fake


def platform(fake, **kwargs):
    kwargs.setdefault("token", TOKEN)
    return GitLabPlatform("group/project", url=fake.base_url, **kwargs)


@pytest.mark.parametrize(
    ("access", "expected"),
    [("guest", "read"), ("reporter", "triage"), ("developer", "write"), ("maintainer", "maintain"),
     ("owner", "admin"), (None, "none")],
)  # fmt: skip
def test_access_levels_map_to_permissions(fake, access, expected):
    fake.add_user("bob", access)
    assert platform(fake).permission("bob") == expected


def test_blocked_users_bots_and_unknown_accounts_have_no_permission(fake):
    fake.add_user("mallory", "maintainer", state="blocked")
    fake.add_user("project_278964_bot_ffff", "maintainer")
    gl = platform(fake)
    assert gl.permission("mallory") == "none"
    assert gl.permission("project_278964_bot_ffff") == "none"
    assert gl.account("project_278964_bot_ffff")["bot"] is True
    assert gl.permission("nobody") == "none" and gl.account("nobody") is None
    assert access_permission(45) == "maintain" and access_permission(5) == "none"


def test_fetch_thread_with_diff_notes_positions_replies_and_no_system_notes(fake):
    mr = fake.add_merge_request(
        "Fix two", iid=7, source_branch="fix", description="Body", labels=["bug"], draft=True,
        diffs=[{"new_path": "a.py", "diff": DIFF},
               {"old_path": "old.py", "new_path": "new.py", "renamed_file": True}],
    )  # fmt: skip
    fake.add_note("merge_request", 7, "added 1 commit", author="alice", system=True)
    top = fake.add_note("merge_request", 7, "@claude please look", author="alice")
    refs = {"base_sha": mr.base_sha, "start_sha": mr.start_sha, "head_sha": mr.head_sha}
    diff_note = fake.add_note(
        "merge_request", 7, "why TWO?", position=text_position(refs, "a.py", new_line=2)
    )
    reply = fake.add_note("merge_request", 7, "@claude fix it", discussion_id=diff_note.discussion_id)
    thread = platform(fake).fetch_thread(7, is_pull_request=True)
    assert (thread.title, thread.body, thread.labels, thread.draft) == ("Fix two", "Body", ("bug",), True)
    assert (thread.head_ref, thread.base_ref, thread.head_sha) == ("fix", "main", mr.head_sha)
    assert thread.base_sha == mr.base_sha and thread.head_repo == "group/project" and not thread.is_fork
    assert [c.id for c in thread.comments] == [top.id, diff_note.id, reply.id]
    note = thread.comments[1]
    assert note.kind == "review_comment" and (note.path, note.line) == ("a.py", 2)
    assert note.position and note.position["head_sha"] == mr.head_sha and note.resolved is False
    assert note.diff_hunk == "@@ -1,4 +1,4 @@\n one\n-two\n+TWO"
    assert (
        thread.comments[2].in_reply_to == diff_note.id
        and thread.comments[2].discussion_id == note.discussion_id
    )
    assert [(f.path, f.status, f.additions, f.deletions) for f in thread.files] == [
        ("a.py", "modified", 1, 1),
        ("new.py", "renamed", 0, 0),
    ]
    assert thread.files[1].previous_path == "old.py"


def test_a_fork_merge_request_names_its_source_project(fake):
    fake.add_merge_request("From a fork", iid=8, source_branch="patch", fork_path="someone/project")
    thread = platform(fake).fetch_thread(8, is_pull_request=True)
    assert thread.is_fork and thread.head_repo == "someone/project"


def test_a_big_merge_request_is_gathered_in_at_most_12_requests(fake):
    files = [{"new_path": f"src/f{i}.py", "diff": "@@ -1 +1 @@\n-a\n+b\n"} for i in range(300)]
    fake.add_merge_request("Big", iid=12, source_branch="fix", diffs=files)
    for i in range(250):
        fake.add_note("merge_request", 12, f"note {i}", author="alice")
    gl = platform(fake)
    thread = gl.fetch_thread(12, is_pull_request=True)
    assert len(thread.files) == 300 and len(thread.comments) == 250
    assert thread.api_requests <= 12 and thread.api_requests == len(fake.requests)


def test_issue_thread_and_comments_go_to_the_issue_not_the_mr_with_the_same_number(fake):
    fake.add_merge_request("MR one", iid=1, source_branch="fix")
    fake.add_issue("Issue one", iid=1, description="Broken", labels=["bug"])
    fake.add_note("issue", 1, "@claude fix", author="alice")
    gl = platform(fake)
    thread = gl.fetch_thread(1, is_pull_request=False)
    assert thread.title == "Issue one" and thread.state == "open" and not thread.files
    assert gl.noteable == "issue"
    ref = gl.create_comment(1, "working")
    assert ref.noteable == "issue" and ref.url.endswith(f"/group/project/-/issues/1#note_{ref.id}")
    assert fake.notes[ref.id].noteable == "issue"
    mr_ref = gl.create_comment(1, "on the MR", noteable="merge_request")
    assert fake.notes[mr_ref.id].noteable == "merge_request"


def test_comments_need_to_know_their_noteable(fake):
    with pytest.raises(PlatformError, match="merge request or an issue"):
        platform(fake).create_comment(1, "hi")


def test_tracking_note_lifecycle_and_sticky_lookup(fake):
    fake.add_merge_request("MR", iid=3, source_branch="fix")
    gl = platform(fake, noteable="merge_request")
    ref = gl.create_comment(3, "<!-- claude-tracking --> working")
    gl.update_comment(ref, "<!-- claude-tracking --> done")
    assert fake.notes[ref.id].body.endswith("done")
    assert gl.find_comment(3, "claude-tracking") == ref
    assert gl.find_comment(3, "absent") is None


def test_a_reply_goes_into_the_mentions_discussion_and_can_be_updated(fake):
    fake.add_merge_request("MR", iid=4, source_branch="fix")
    first = fake.add_note("merge_request", 4, "first")
    mention = fake.add_note("merge_request", 4, "@claude here", discussion_id=first.discussion_id)
    gl = platform(fake, noteable="merge_request")
    ref = gl.reply_to_review_comment(4, mention.id, "working")
    assert ref.kind == "review" and ref.discussion_id == first.discussion_id
    assert fake.discussions[first.discussion_id].note_ids[-1] == ref.id
    gl.update_comment(ref, "done")
    assert fake.notes[ref.id].body == "done"
    given = gl.reply_to_review_comment(4, mention.id, "again", discussion_id=first.discussion_id)
    assert given.discussion_id == first.discussion_id
    with pytest.raises(PlatformError, match="no note 999"):
        gl.reply_to_review_comment(4, 999, "x")


def test_job_token_reads_the_project_but_notes_need_the_access_token(fake):
    fake.add_merge_request("MR", iid=5, source_branch="fix")
    gl = platform(fake, token=None, job_token=JOB, noteable="merge_request")
    assert gl.repository().full_name == "group/project"
    with pytest.raises(CredentialsError) as err:
        gl.create_comment(5, "hello")
    assert "post a note" in str(err.value) and "GITLAB_ACCESS_TOKEN" in err.value.one_line()
    with pytest.raises(CredentialsError) as err:
        gl.fetch_thread(5, is_pull_request=True)
    assert "GITLAB_ACCESS_TOKEN" in err.value.one_line() and "404 Project Not Found" in str(err.value)
    with pytest.raises(CredentialsError):
        gl.read_file("CLAUDE.md", "main")
    target = gl.push_target()
    assert (target.username, target.token) == ("gitlab-ci-token", JOB)


def test_credentials(fake):
    with pytest.raises(CredentialsError, match="no GitLab credentials"):
        GitLabPlatform("group/project", url=fake.base_url, token=None, job_token=None)
    with pytest.raises(CredentialsError, match="rejected the access token"):
        platform(fake, token="glpat-wrong").repository()
    target = platform(fake).push_target()
    assert target.username == "oauth2" and target.token == TOKEN and target.url.endswith("/group/project.git")


def test_read_file_at_a_ref(fake):
    fake.add_file(".claude/settings.json", '{"permissions": {}}')
    gl = platform(fake)
    assert gl.read_file(".claude/settings.json", "main") == '{"permissions": {}}'
    assert gl.read_file("CLAUDE.md", "main") is None


def test_open_a_draft_merge_request_then_find_it_and_refuse_a_duplicate(fake):
    fake.add_branch("claude/issue-9", "9" * 40)
    gl = platform(fake)
    assert gl.find_pull_request("claude/issue-9") is None
    url = gl.create_pull_request(
        head="claude/issue-9", base="main", title="Fix #9", body="Closes #9", draft=True
    )
    created = fake.merge_requests_created[-1]
    assert (
        created.draft
        and created.description == "Closes #9"
        and url.endswith(f"/-/merge_requests/{created.iid}")
    )
    assert gl.find_pull_request("claude/issue-9") == url
    with pytest.raises(PlatformError, match="409 Another open merge request already exists"):
        gl.create_pull_request(head="claude/issue-9", base="main", title="Again", body="", draft=False)


def test_start_pipeline_with_variables(fake):
    pipeline_id, url = platform(fake).start_pipeline(
        "fix", {"AI_FLOW_INPUT": "@claude hi", "AI_FLOW_EVENT": "note"}
    )
    recorded = fake.pipelines[-1]
    assert recorded.id == pipeline_id and url.endswith(f"/pipelines/{pipeline_id}") and recorded.ref == "fix"
    assert {v["key"]: v["value"] for v in recorded.variables} == {
        "AI_FLOW_INPUT": "@claude hi",
        "AI_FLOW_EVENT": "note",
    }


def test_post_a_suggestion_as_a_diff_note(fake):
    fake.add_merge_request("MR", iid=6, source_branch="fix", diffs=[{"new_path": "a.py", "diff": DIFF}])
    gl = platform(fake)
    position = text_position(gl.diff_refs(6), "a.py", new_line=2)
    ref = gl.post_diff_note(6, position, "Use a constant:\n\n" + suggestion("TWO = 2"))
    note = fake.notes[ref.id]
    assert note.type == "DiffNote" and note.position and note.position["new_line"] == 2
    assert "```suggestion:-0+0\nTWO = 2\n```" in note.body and ref.discussion_id == note.discussion_id
    with pytest.raises(PlatformError, match="400"):
        gl.post_diff_note(6, {**position, "new_line": 99}, "nope")


def test_hunk_up_to_cuts_at_the_commented_line():
    assert hunk_up_to(DIFF, 2, None) == "@@ -1,4 +1,4 @@\n one\n-two\n+TWO"
    assert hunk_up_to(DIFF, None, 2) == "@@ -1,4 +1,4 @@\n one\n-two"
    assert hunk_up_to(DIFF, 3, 3) == "@@ -1,4 +1,4 @@\n one\n-two\n+TWO\n three"
    assert hunk_up_to(DIFF, 40, None) is None


def test_update_needs_the_notes_merge_request_or_issue(fake):
    with pytest.raises(PlatformError, match="cannot be updated"):
        platform(fake, noteable="issue").update_comment(CommentRef(1, "u"), "x")


def test_a_deleted_users_notes_read_as_ghost_and_labels_may_be_objects(fake):
    fake.add_merge_request("MR", iid=8, source_branch="fix", author="alice", labels=["bug"])
    fake.add_note("merge_request", 8, "old remark", author="alice")
    fake.delete_user("alice")
    thread = platform(fake).fetch_thread(8, is_pull_request=True)
    assert thread.author == "ghost" and [c.author for c in thread.comments] == ["ghost"]
    assert label_names(["bug", {"name": "ui", "color": "#fff"}, {"color": "#000"}, None]) == ("bug", "ui")


def test_a_note_without_an_author_reads_as_ghost():
    """GitLab's schema always has an author, but a null one must not break a thread either."""
    discussions = [{"id": "d1", "individual_note": True, "notes": [{"id": 1, "author": None, "body": "x"}]}]
    (comment,), _ = thread_comments(discussions, {})
    assert (comment.author, comment.author_is_bot) == ("ghost", False)


def test_list_files_under_a_folder_at_a_ref(fake):
    fake.add_file(".claude/agents/a.md", "a")
    fake.add_file(".claude/agents/team/b.md", "b")
    fake.add_file(".claude/settings.json", "{}")
    fake.add_file(".claude/agents/other.md", "x", ref="feature")
    gl = platform(fake)
    assert gl.list_files(".claude/agents", "main") == [".claude/agents/a.md", ".claude/agents/team/b.md"]
    assert gl.list_files(".claude/commands", "main") == []


def test_list_files_reads_every_page_of_the_tree(fake):
    # GitLab answers 100 entries a page at most: a folder of 130 agents needs two.
    for n in range(130):
        fake.add_file(f".claude/agents/agent-{n:03}.md", "a")
    listed = platform(fake).list_files(".claude/agents", "main")
    assert len(listed) == 130 and listed[-1] == ".claude/agents/agent-129.md"
