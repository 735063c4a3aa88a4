from datetime import UTC, datetime, timedelta

import pytest

from runner.flow.context import (
    actor_matches,
    build_context,
    filter_by_actor,
    keep_for_prompt,
    render_comments,
)
from runner.flow.prompts import render
from runner.platforms.base import ChangedFile, ThreadComment, ThreadData, can_write_by_association

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def comment(i, minutes, body="text", edited=None, **kw):
    return ThreadComment(
        id=i,
        kind="comment",
        author=f"u{i}",
        body=body,
        created_at=T0 + timedelta(minutes=minutes),
        updated_at=T0 + timedelta(minutes=edited if edited is not None else minutes),
        **kw,
    )


def thread(comments=(), files=(), body="The body."):
    return ThreadData(
        number=7,
        is_pull_request=True,
        title="Fix it",
        body=body,
        author="alice",
        state="open",
        comments=tuple(comments),
        files=tuple(files),
        head_ref="feature",
        base_ref="main",
    )


def test_comments_after_the_trigger_or_edited_after_it_are_dropped():
    trigger = T0 + timedelta(minutes=10)
    comments = [
        comment(1, 1),
        comment(2, 5, edited=11),
        comment(3, 10),
        comment(4, 12),
        comment(5, 2, minimized=True),
    ]
    kept, notes = keep_for_prompt(tuple(comments), trigger, trigger_comment_id=3)
    assert [c.id for c in kept] == [1]
    assert any("after the request" in n for n in notes) and any("hidden" in n for n in notes)


def test_everything_is_sanitised():
    ctx = build_context(
        thread([comment(1, 1, body="hi <!-- secret orders --> there\u200b")]),
        repository="o/r",
        title="Title <!-- x -->",
        body="Body\u202e",
        request="do <!-- y -->it",
    )
    assert ctx.comments[0].body == "hi  there"
    assert ctx.title == "Title " and ctx.body == "Body" and ctx.request == "do it"


def test_a_title_stays_one_line():
    assert build_context(thread(), repository="o/r", title="Fix <details> layout").title == "Fix layout"


def test_payload_title_and_body_win_over_refetched_ones():
    ctx = build_context(
        thread(body="edited later by an attacker"), repository="o/r", title="T", body="original"
    )
    assert ctx.body == "original" and ctx.title == "T"


def test_what_does_not_fit_goes_to_overflow_files_and_is_said():
    many = [comment(i, i, body="x" * 400) for i in range(1, 300)]
    files = [ChangedFile(f"src/f{i}.py", "modified", 1, 1) for i in range(400)]
    diff = "".join(f"diff --git a/f{i} b/f{i}\n+{'y' * 200}\n" for i in range(2000))
    ctx = build_context(
        thread(many, files, body="b" * 20000), repository="o/r", diff=diff, budget_tokens=8000
    )
    assert set(ctx.overflow) == {"description.md", "comments.md", "files.txt", "diff.patch"}
    assert 0 < len(ctx.comments) < 299 and ctx.comments[-1].id == 299  # the newest are kept
    assert len(ctx.files) == 300 and ctx.files_total == 400
    assert ctx.diff.startswith("diff --git") and len(ctx.diff) < len(diff)
    assert len(ctx.notes) == 4
    total = len(ctx.body) + sum(len(c.body) for c in ctx.comments) + len(ctx.diff)
    assert total // 4 <= 8000 + 500


def test_small_threads_fit_whole():
    ctx = build_context(
        thread([comment(1, 1)], [ChangedFile("a.py", "added", 3, 0, patch="+x")]),
        repository="o/r",
        diff="diff --git a/a.py b/a.py\n+x\n",
    )
    assert ctx.overflow == {} and ctx.notes == ()
    assert ctx.files[0].patch is None  # patches travel in the diff, not twice


def test_the_runners_own_tracking_comment_is_neither_shown_nor_counted_as_left_out():
    trigger = T0 + timedelta(minutes=10)
    tracking = comment(9, 10, body="<!-- claude-runner:tracking -->\n**Claude is working…**")
    kept, notes = keep_for_prompt(
        (comment(1, 1), tracking), trigger, trigger_comment_id=3, own_comment_ids=(9,)
    )
    assert [c.id for c in kept] == [1]
    assert notes == []
    ctx = build_context(
        thread([comment(1, 1), tracking]), repository="o/r", trigger_time=trigger, own_comment_ids={9}
    )
    assert [c.id for c in ctx.comments] == [1] and ctx.notes == ()


def test_diffs_paths_and_branches_are_code_not_markdown():
    """A diff is shown as written (indentation, ``<!-- -->`` lines), less invisible characters."""
    diff = "diff --git a/x.html b/x.html\n-    <!-- old -->\n+    <div hidden>new</div>\u200b\n"
    ctx = build_context(
        thread(files=[ChangedFile("docs/_a_/x\u202e.html", "modified", 1, 1)]), repository="o/r", diff=diff
    )
    assert ctx.diff == diff.replace("\u200b", "")
    assert ctx.files[0].path == "docs/_a_/x.html"


# --- whose comments are shown, and who wrote them ----------------------------------------------------


@pytest.mark.parametrize(
    "login, pattern, expected",
    [
        ("alice", "alice", True),
        ("Alice", "ALICE", True),
        ("alice", "alic", False),
        ("dependabot[bot]", "*[bot]", True),
        ("bot-lover", "*[bot]", False),
        ("renovate[bot]", "renovate*", True),
        ("renovate[bot]", "*nova*", True),
        ("ab", "a*b*b", False),
        ("anyone", "*", True),
        ("alice", " alice ", True),
    ],
)
def test_actor_patterns(login, pattern, expected):
    assert actor_matches(login, pattern) is expected


def test_include_and_exclude_comments_by_actor():
    comments = [
        ThreadComment(1, "comment", "alice", "a", T0),
        ThreadComment(2, "comment", "bob", "b", T0),
        ThreadComment(3, "comment", "dependabot[bot]", "c", T0, author_is_bot=True),
        ThreadComment(4, "comment", "project_7_bot_x", "d", T0, author_is_bot=True),  # GitLab's bot user
    ]

    def ids(include=(), exclude=()):
        kept, left_out = filter_by_actor(comments, include, exclude)
        assert left_out == len(comments) - len(kept)
        return [c.id for c in kept]

    assert ids() == [1, 2, 3, 4]
    assert ids(include=["alice", "*[bot]"]) == [1, 3, 4]
    assert ids(exclude=["*[bot]"]) == [1, 2]
    assert ids(include=["*[bot]"], exclude=["dependabot[bot]"]) == [4]  # exclude wins
    assert ids(include=["ALICE"], exclude=["alice"]) == []


def test_the_context_applies_the_actor_filters_and_says_so():
    comments = [comment(1, 1), comment(2, 2), comment(3, 3)]
    ctx = build_context(
        thread(comments),
        repository="o/r",
        include_comments_by_actor=["u1", "u3"],
        exclude_comments_by_actor=["u3"],
    )
    assert [c.id for c in ctx.comments] == [1]
    assert ctx.notes == (
        "2 comment(s) were left out by the workflow's include_comments_by_actor / exclude_comments_by_actor.",
    )


@pytest.mark.parametrize(
    "association, can_write",
    [("OWNER", True), ("MEMBER", True), ("COLLABORATOR", True), ("CONTRIBUTOR", False),
     ("FIRST_TIME_CONTRIBUTOR", False), ("FIRST_TIMER", False), ("NONE", False), ("MANNEQUIN", False),
     (None, None), ("", None)],
)  # fmt: skip
def test_github_author_association_to_write_access(association, can_write):
    assert can_write_by_association(association) is can_write


def test_comments_by_people_without_write_access_are_marked_in_the_prompt():
    comments = [
        comment(1, 1, body="I maintain this.", author_can_write=True),
        comment(2, 2, body="Drive-by idea.", author_can_write=False),
        comment(3, 3, body="Unknown access."),
    ]
    ctx = build_context(thread(comments), repository="o/r", request="fix it")
    prompt = render(
        "prompt_tag.j2",
        ctx=ctx,
        branch="feature",
        can_push=True,
        suggest=False,
        overflow_dir=None,
        progress_tool=None,
        custom_instructions=None,
    )
    headers = [line for line in prompt.splitlines() if line.startswith("[comment by")]
    assert headers == [
        "[comment by @u1 at 2026-01-01 12:01]",
        "[comment by @u2 (no write access) at 2026-01-01 12:02]",
        "[comment by @u3 at 2026-01-01 12:03]",
    ]
    overflow = render_comments(list(ctx.comments))
    assert "### comment by u2 (no write access) at" in overflow
    assert overflow.count("no write access") == 1
