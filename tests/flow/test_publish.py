from runner.flow.prompts import render
from runner.flow.publish import FinalState, format_duration, format_stats


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
