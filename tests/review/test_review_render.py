"""Pure tests of runner/review/render.py: inline comment bodies and the summary comment."""

from __future__ import annotations

from runner.platforms.base import ChangedFile
from runner.review.findings import Finding
from runner.review.render import MAX_LISTED, inline_body, summary_body
from runner.review.selection import Selection
from runner.review.state import (
    SUMMARY_MARKER,
    ReviewRange,
    finding_marker,
    last_reviewed_head,
    posted_fingerprints,
)

HEAD = "0123456789abcdef0123456789abcdef01234567"
BASE = "fedcba9876543210fedcba9876543210fedcba98"
BUG = Finding(
    "src/a.py", 10, "Off by one", "Fails when n is 0.", "important", end_line=12, suggestion="x\ny\nz\n"
)
NIT = Finding("src/a.py", 3, "Naming", "Say what it is.", "nit")


def summary(**kw: object) -> str:
    args: dict[str, object] = {
        "head": HEAD,
        "review_range": ReviewRange(BASE, HEAD, False, "first review"),
        "posted": [BUG, NIT],
        "duplicates": 0,
        "rejected": [],
        "selection": None,
        "cost_usd": 0.1234,
        "num_turns": 7,
        "model": "claude-sonnet-4-5",
        "job_url": "https://ci.example/job/1",
        "platform": "github",
    }
    args.update(kw)
    return summary_body(**args)  # type: ignore[arg-type]


def test_github_inline_body_has_label_title_body_suggestion_and_marker():
    body = inline_body(BUG, platform="github")
    assert body.startswith(
        "🔴 Important · **Off by one**\n\nFails when n is 0.\n\n```suggestion\nx\ny\nz\n```"
    )
    assert body.endswith(finding_marker(BUG.fingerprint()))
    assert posted_fingerprints([(body, False)]) == {BUG.fingerprint()}


def test_gitlab_suggestion_reaches_up_from_the_last_line():
    assert "```suggestion:-2+0\nx\ny\nz\n```" in inline_body(BUG, platform="gitlab")
    one = Finding("a.py", 5, "T", "B", "nit", suggestion="fixed")
    assert "```suggestion:-0+0\nfixed\n```" in inline_body(one, platform="gitlab")


def test_suggestion_fence_outgrows_backticks_and_no_suggestion_means_no_block():
    ticks = Finding("a.md", 5, "T", "B", suggestion="use ```code``` here")
    assert "````suggestion\nuse ```code``` here\n````" in inline_body(ticks, platform="github")
    assert "suggestion" not in inline_body(NIT, platform="github")
    assert inline_body(NIT, platform="github").startswith("🟡 Nit · **Naming**")


def test_summary_markers_header_counts_and_small_print():
    text = summary(duplicates=2)
    assert text.startswith(SUMMARY_MARKER) and last_reviewed_head(text) == HEAD
    assert "**Claude reviewed `fedcba9..0123456`** (full review: first review)" in text
    assert "| 🔴 Important | 🟡 Nit | 🟣 Pre-existing |" in text and "| 1 | 1 | 0 |" in text
    assert "2 new findings: 2 posted inline." in text
    assert "2 already posted and unresolved were not repeated." in text
    assert "claude-runner only comments: it never approves or blocks." in text
    assert "<sub>7 turns · $0.12 · `claude-sonnet-4-5` · [job](https://ci.example/job/1)</sub>" in text


def test_summary_lists_rejected_findings_with_reasons_and_counts_them():
    far = Finding("src/b.py", 40, "Leak", "The handle stays open.", "pre_existing", end_line=42)
    text = summary(posted=[], rejected=[(far, "lines 40-42 are not inside a hunk on the RIGHT side")])
    assert "**Not posted inline** (1):" in text
    assert "🟣 Pre-existing · **Leak** at `src/b.py:40-42`: _lines 40-42 are not inside a hunk" in text
    assert "  > The handle stays open." in text
    assert "| 0 | 0 | 1 |" in text and "1 new finding: none posted inline." in text


def test_summary_lists_left_out_files_capped():
    many = tuple((f"vendor/{n}.go", "vendored") for n in range(MAX_LISTED + 5))
    big = ChangedFile("src/huge.py", "modified", 900, 100, None)
    text = summary(selection=Selection((), many, (big,), 0), platform="gitlab")
    assert f"{MAX_LISTED + 5} files left out by pattern" in text and "- `vendor/0.go` (vendored)" in text
    assert "- … and 5 more" in text
    assert "1 file not in the diff given to Claude" in text and "`src/huge.py` (+900 −100)" in text


def test_summary_incremental_nothing_new_refusal_and_no_findings():
    rng = ReviewRange(BASE, HEAD, True, "commits since the last review (fedcba9)")
    assert "(incremental: commits since the last review (fedcba9))" in summary(review_range=rng)
    same = summary(review_range=ReviewRange(HEAD, HEAD, True, "no new commits"), posted=[])
    assert "**Claude reviewed `0123456`**: no new commits since the last review." in same
    assert "| 🔴" not in same
    refused = summary(posted=[], approved_request_refused=True, cost_usd=0.004, job_url=None, num_turns=1)
    assert "Approval was requested by the model and refused: claude-runner only comments." in refused
    assert "No new findings in this pull request." in refused
    assert "<sub>1 turn · $0.0040 · `claude-sonnet-4-5`</sub>" in refused


def test_an_estimated_cost_says_so_in_the_summary():
    text = summary(cost_is_estimate=True, model="team-gateway-model")
    assert (
        "<sub>7 turns · ~$0.12 (estimate) · `team-gateway-model` · [job](https://ci.example/job/1)</sub>"
        in text
    )
