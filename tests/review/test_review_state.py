"""Pure tests of runner/review/state.py: hidden markers and the commit range a review covers."""

from __future__ import annotations

import pytest

from runner.review.state import (
    SUMMARY_MARKER,
    ReviewRange,
    finding_marker,
    head_marker,
    last_reviewed_head,
    posted_fingerprints,
    review_range,
)

HEAD = "a" * 40
OLD = "b" * 40
BASE = "c" * 40


def test_head_marker_round_trips_through_a_summary():
    body = f"{SUMMARY_MARKER}\n{head_marker(HEAD)}\n\n**Claude reviewed** ...\n"
    assert head_marker(HEAD) == f"<!-- claude-runner:reviewed-head:{HEAD} -->"
    assert last_reviewed_head(body) == HEAD
    assert last_reviewed_head(body.replace("\n", "\r\n")) == HEAD


def test_last_reviewed_head_needs_the_summary_marker_and_reads_only_the_leading_lines():
    assert last_reviewed_head(None) is None and last_reviewed_head("") is None
    assert last_reviewed_head(head_marker(HEAD)) is None  # not a summary
    quoted = f"{SUMMARY_MARKER}\n\nA finding quoting {head_marker(OLD)}\n"
    assert last_reviewed_head(quoted) is None


def test_markers_refuse_values_that_could_break_out_of_the_comment():
    with pytest.raises(ValueError):
        head_marker("abc --> <b>")
    with pytest.raises(ValueError):
        finding_marker("")


def test_posted_fingerprints_counts_only_unresolved_comments():
    open_one = f"🔴 Important · **Bug**\n\nWhy.\n\n{finding_marker('1111aaaa')}"
    resolved = f"🟡 Nit · **Name**\n\n{finding_marker('2222bbbb')}\n"
    quoted = f"Reply quoting {finding_marker('3333cccc')} mid-text\n\nthanks"
    found = posted_fingerprints([(open_one, False), (resolved, True), (quoted, False), ("plain", False)])
    assert found == {"1111aaaa"}  # a resolved finding that recurs is posted again


def test_first_review_covers_the_whole_change():
    rng = review_range(merge_base=BASE, head=HEAD, last_head=None, last_head_is_ancestor=False)
    assert rng == ReviewRange(BASE, HEAD, False, "first review") and not rng.nothing_new


def test_incremental_review_covers_the_commits_since_the_last_head():
    rng = review_range(merge_base=BASE, head=HEAD, last_head=OLD, last_head_is_ancestor=True)
    assert (rng.base, rng.head, rng.incremental) == (OLD, HEAD, True)
    assert "since the last review" in rng.reason


def test_same_head_means_nothing_new():
    rng = review_range(merge_base=BASE, head=HEAD, last_head=HEAD, last_head_is_ancestor=True)
    assert (rng.base, rng.head, rng.incremental, rng.nothing_new) == (HEAD, HEAD, True, True)
    assert "no new commits" in rng.reason


def test_force_push_falls_back_to_a_full_review():
    rng = review_range(merge_base=BASE, head=HEAD, last_head=OLD, last_head_is_ancestor=False)
    assert rng == ReviewRange(BASE, HEAD, False, "force-push or rebase since the last review")
