"""Every template renders with the line structure a reader (the model, or a person) expects.

Inline ``{% if %}...{% endif %}`` at the end of a line used to swallow the newline (jinja's
``trim_blocks``): the model read ``State: openBranch: fix-calc → masteradd() gives ...`` and a
comment's progress ran into its heading. Each case renders a rich and a sparse context and
checks whole lines, so a glued line fails.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from runner.flow.context import Context
from runner.flow.prompts import render
from runner.flow.tracker import working_body
from runner.platforms.base import ChangedFile, ThreadComment

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def rich_context() -> Context:
    return Context(
        repository="octo/calc",
        number=7,
        is_pull_request=True,
        title="Fix add()",
        body="add() gives the wrong answer.",
        author="alice",
        state="open",
        labels=("bug", "math"),
        draft=True,
        head_ref="fix-calc",
        base_ref="master",
        is_fork=True,
        request="please fix it",
        trigger_author="bob",
        comments=(
            ThreadComment(1, "comment", "carol", "Same here.", WHEN),
            ThreadComment(
                2,
                "review_comment",
                "dave",
                "This line is wrong.",
                WHEN,
                path="calc.py",
                line=2,
                diff_hunk="@@ -1,2 +1,2 @@\n-    return a + b\n+    return a - b",
            ),
            ThreadComment(3, "review", "erin", "Needs work.", WHEN, review_state="CHANGES_REQUESTED"),
        ),
        files=(ChangedFile("calc.py", "modified", 1, 1), ChangedFile("README.md", "added", 3, 0)),
        files_total=2,
        diff="diff --git a/calc.py b/calc.py\n-    return a + b\n+    return a - b",
        notes=("2 comment(s) created or edited after the request were left out.",),
    )


def sparse_context() -> Context:
    return Context(
        repository="octo/calc",
        number=3,
        is_pull_request=False,
        title="Bug",
        body="",
        author="a",
        state="open",
    )


def lines(text: str) -> list[str]:
    return text.splitlines()


def test_tag_prompt_rich() -> None:
    text = render(
        "prompt_tag.j2",
        ctx=rich_context(),
        branch="fix-calc",
        can_push=True,
        suggest=False,
        overflow_dir=Path("/tmp/ctx"),
        progress_tool="update_progress",
        custom_instructions="Be brief.",
        platform="github",
    )
    got = lines(text)
    for expected in (
        "You were asked for help on pull request #7 in octo/calc by @bob.",
        "please fix it",
        "Title: Fix add()",
        "Author: @alice · State: open (draft) · Labels: bug, math",
        "Branch: fix-calc → master (from a fork)",
        "add() gives the wrong answer.",
        "[comment by @carol at 2026-12-01 09:30]",
        "Same here.",
        "[review_comment by @dave at 2026-12-01 09:30 on calc.py:2]",
        "```diff",
        "This line is wrong.",
        "[review CHANGES_REQUESTED by @erin at 2026-12-01 09:30]",
        "Needs work.",
        '<changed_files total="2">',
        "modified calc.py (+1 -1)",
        "added README.md (+3 -0)",
        "</changed_files>",
        "- 2 comment(s) created or edited after the request were left out.",
        "Files with the full text are in /tmp/ctx (read them with Read).",
        "</notes>",
        "How to work:",
        "- If the request is a question or a review, answer it; do not change files unless asked.",
        "- Keep the requester informed: call update_progress with a short markdown checklist when you "
        "start and as steps finish.",
        "- Pushes that change `.github/workflows/` are refused unless the job's token has the `workflows` "
        "permission (the default token never has it): change workflow files only when asked, and say so "
        "in your answer.",
        "- Your last message is posted as your reply on the thread, in GitHub markdown: the requester "
        "reads nothing else.",
        "Be brief.",
    ):
        assert expected in got, f"{expected!r} is not a line of:\n{text}"
    assert any(line.startswith("- The repository is checked out") for line in got)
    # Nothing renders two sections on one line.
    assert not [line for line in got if line.count("Branch:") + line.count("State:") > 1]


def test_tag_prompt_sparse() -> None:
    text = render(
        "prompt_tag.j2",
        ctx=sparse_context(),
        branch=None,
        can_push=False,
        suggest=False,
        overflow_dir=None,
        progress_tool=None,
        custom_instructions=None,
        platform="gitlab",
    )
    got = lines(text)
    assert "You were asked for help on issue #3 in octo/calc." in got
    assert "Author: @a · State: open" in got
    assert "(no description)" in got
    assert "</issue>" in got
    assert not any("Branch:" in line for line in got)
    assert not any(tag in text for tag in ("<comments>", "<changed_files", "<diff", "<notes>"))
    assert (
        got[-1]
        == "- Your last message is posted as your reply on the thread, in GitLab markdown: the requester "
        "reads nothing else."
    )
    assert "workflows" not in text  # nothing to push, and not GitHub
    assert "" not in got[got.index("How to work:") : -1], "no blank line inside the list"


@pytest.mark.parametrize("ctx", [rich_context(), sparse_context(), None])
def test_agent_prompt(ctx: Context | None) -> None:
    got = lines(render("prompt_agent.j2", prompt="Label new issues.", ctx=ctx))
    assert got[0] == "Label new issues."
    if ctx is None:
        assert got == ["Label new issues."]
        return
    assert "<context>" in got and got[-1] == "</context>"
    assert (
        f"Repository: octo/calc · {'Pull request' if ctx.is_pull_request else 'Issue'} #{ctx.number}: "
        in (
            got[got.index("<context>") + 1][: len("Repository: octo/calc · Pull request #7: ")]
            if ctx.is_pull_request
            else got[got.index("<context>") + 1][: len("Repository: octo/calc · Issue #3: ")]
        )
    )


@pytest.mark.parametrize("rich", [True, False])
def test_review_prompt(rich: bool) -> None:
    text = render(
        "prompt_review.j2",
        noun="pull request",
        sigil="#",
        tag="pull_request",
        number=7,
        repository="octo/calc",
        request="look at security" if rich else None,
        range_text="aaa..bbb (full review)",
        incremental=rich,
        focus=("security", "tests") if rich else (),
        head="bbb",
        title="Add mul()",
        author="alice",
        is_fork=rich,
        body="Adds mul." if rich else "",
        included=["calc.py"],
        diff_tokens=12,
        diff="+def mul(a, b): ...",
        left_out=["big.lock (excluded: lock file)"] if rich else [],
    )
    got = lines(text)
    assert got[0] == "You are reviewing pull request #7 in octo/calc."
    assert "Commits reviewed: aaa..bbb (full review)." in got
    assert ("Author: @alice (from a fork)" if rich else "Author: @alice") in got
    assert ("Adds mul." if rich else "(no description)") in got
    if rich:
        assert "look at security" in got
        assert "- security" in got and "- tests" in got
        assert "- big.lock (excluded: lock file)" in got
        assert any(line.startswith("This is an incremental review") for line in got)
    else:
        assert "<request>" not in got and "Focus areas" not in text


@pytest.mark.parametrize("progress", ["- [x] read the code\n- [ ] fix it", None])
def test_working_comment(progress: str | None) -> None:
    got = lines(working_body("<!-- m -->", "https://ci/1", progress))
    assert got[:2] == ["<!-- m -->", "**Claude is working…** [View job](https://ci/1)"]
    # A blank line before the body: otherwise markdown joins it to the heading's paragraph.
    assert got[2] == ""
    assert got[3] == ("- [x] read the code" if progress else "I'll look into this and report back here.")


@pytest.mark.parametrize("ok", [True, False])
def test_final_comment(ok: bool) -> None:
    got = lines(
        render(
            "comment_final.j2",
            marker="<!-- m -->",
            ok=ok,
            requester="bob",
            duration="12s",
            links=[("View job", "https://ci/1"), ("Create PR ➔", "https://pr")],
            error="" if ok else "the model was overloaded",
            branch="claude/issue-3",
            summary="Fixed add()." if ok else "",
            stats="3 turns · $0.01",
            offered="",
        )
    )
    assert got[0] == "<!-- m -->"
    heading = "**Claude finished @bob's task in 12s**" if ok else "**Claude hit an error after 12s**"
    assert got[1] == f"{heading} — [View job](https://ci/1) • [Create PR ➔](https://pr)"
    assert got[2] == ""
    if ok:
        assert "Fixed add()." in got and "---" in got
    else:
        assert "the model was overloaded" in got
        assert "Work done before the error was committed and pushed to `claude/issue-3`." in got
    assert got[-1] == "<sub>3 turns · $0.01</sub>"
    assert "" in got[-3:-1], "a blank line before the stats"
