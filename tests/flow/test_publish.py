from runner.flow.prompts import render
from runner.flow.tracker import FinalState, Tracker, format_duration, format_stats
from runner.platforms.base import CommentRef
from runner.sanitize import Redactor


def final(**kw):
    values = dict(
        marker="<!-- m -->",
        ok=True,
        requester="alice",
        duration="1m 5s",
        links=[("View job", "u")],
        error="",
        branch=None,
        summary="Did it.",
        stats="s",
    )
    values.update(kw)
    return render("comment_final.j2", **values)


def test_success_comment_reads_well_as_markdown():
    body = final()
    lines = body.splitlines()
    assert lines[1] == "**Claude finished @alice's task in 1m 5s** — [View job](u)"
    # A line right above "---" would turn into a heading: there must be a blank line.
    assert lines[lines.index("---") - 1] == ""
    assert "Did it." in body and body.rstrip().endswith("<sub>s</sub>")


def test_error_comment_shows_the_error_and_partial_work():
    body = final(ok=False, error="model API error: 500", branch="claude/issue-1", summary="")
    assert "**Claude hit an error after 1m 5s**" in body
    assert "```\nmodel API error: 500\n```" in body
    assert "pushed to `claude/issue-1`" in body


def test_durations_and_stats():
    assert format_duration(65.2) == "1m 5s" and format_duration(40) == "40s"
    state = FinalState(
        ok=True,
        requester="a",
        duration_s=1,
        num_turns=4,
        input_tokens=11_000,
        output_tokens=300,
        cost_usd=0.01234,
        model="claude-sonnet-5",
    )
    assert format_stats(state) == "4 turns · 11.3k tokens · $0.0123 · claude-sonnet-5"
    estimated = FinalState(ok=True, requester="a", duration_s=1, cost_usd=0.5, cost_is_estimate=True)
    assert format_stats(estimated) == "0 turns · 0 tokens · ~$0.5000 (estimate)"


def test_where_the_work_is_has_its_own_section():
    body = final(
        ok=False, error="the push to fix failed", summary="Did it.", work="⚠️ **The work is on `x`.**"
    )
    lines = body.splitlines()
    assert "Did it." in body and "⚠️ **The work is on `x`.**" in lines
    assert lines[lines.index("⚠️ **The work is on `x`.**") - 2] == "---"
    assert "\n\n\n" not in body  # clean lines


class _Comments:
    """Just enough of a platform for a tracking comment."""

    def __init__(self):
        self.bodies = []

    def create_comment(self, number, body):
        self.bodies.append(body)
        return CommentRef(1, "u")

    def update_comment(self, ref, body):
        self.bodies.append(body)


def test_a_repository_template_without_the_work_section_still_says_where_the_work_is():
    platform = _Comments()
    tracker = Tracker(platform, 5, None, Redactor([]), template="Done: {{ summary }}")  # type: ignore[arg-type]
    tracker.start()
    tracker.finish(FinalState(ok=True, requester="a", duration_s=1, summary="ok", work="The work is on `r`."))
    assert platform.bodies[-1].startswith("Done: ok") and "The work is on `r`." in platform.bodies[-1]


def test_the_final_comment_names_the_model_that_answered_and_an_estimated_cost():
    import time

    from runner.flow.progress import RunProgress
    from runner.flow.publish import final_state

    result = {
        "subtype": "success",
        "is_error": False,
        "result": "Done.",
        "num_turns": 3,
        "total_cost_usd": 0.25,
        "cost_is_estimate": True,
        "model": "claude-haiku-5-5",  # the fallback gave the last answer
        "modelUsage": {"claude-opus-5-5": {}, "claude-haiku-5-5": {}},
        "usage": {"input_tokens": 1000, "output_tokens": 200},
    }
    state = final_state(None, "alice", time.monotonic(), RunProgress(result=result))
    assert format_stats(state) == "3 turns · 1.2k tokens · ~$0.2500 (estimate) · claude-haiku-5-5"
