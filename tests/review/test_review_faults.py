"""Automatic code review end to end when GitHub answers oddly or fails: a review made but answered
502 is posted once, and earlier reviews and comments by deleted accounts (`user: null`) and labels
given as strings do not stop the review."""

from __future__ import annotations

from tests.review.test_review_flow import (  # noqa: F401  (the job fixture)
    CALC_V1,
    MUL,
    MUL_FINDING,
    commit,
    job,
    open_pr,
    pr_event,
    review_turns,
    summary,
)

API_ENV = {"CLAUDE_RUNNER_API_RETRY_BASE_MS": "10", "CLAUDE_RUNNER_API_TIMEOUT_S": "1"}


def test_a_review_made_but_answered_502_is_posted_once(job):  # noqa: F811
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    open_pr(job)
    job.env_extra.update(API_ENV)
    job.model.add_turns(review_turns(MUL_FINDING))
    job.github.faults.apply_then_fail("create_review")
    job.github.faults.fail("create_comment", 502)  # the summary comment, not made: posted again
    proc, outputs, _ = job.run("pull_request", pr_event(job, "opened"), review="true")
    assert proc.returncode == 0, proc.stderr
    assert len(job.github.reviews_created) == 1 and len(job.github.review_comments_of(5)) == 1
    assert outputs["review_comments"] == "1"
    assert "mul() needs a fix" in summary(job)  # exactly one summary comment
    assert "but the review was made: using it" in proc.stderr


def test_deleted_accounts_and_string_labels_do_not_stop_a_review(job):  # noqa: F811
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    open_pr(job)
    job.github.issue(5).labels = ["bug"]
    earlier = job.github.add_review(5, "gone", "COMMENTED", "Looks odd.")
    job.github.add_review_comment(5, "Why a loop?", "gone", "calc.py", 6, review_id=earlier.id)
    job.github.delete_user("gone")
    job.github.string_labels = True
    job.model.add_turns(review_turns(MUL_FINDING))
    proc, outputs, _ = job.run("pull_request", pr_event(job, "opened"), review="true")
    assert proc.returncode == 0, proc.stderr
    assert len(job.github.reviews_created) == 1 and outputs["review_comments"] == "1"
    assert any(r.reply and r.reply[0]["user"] is None for r in job.github.requests_to("GET", "list_reviews"))


def test_a_review_whose_model_key_is_rejected_exits_4_as_run_does(job):  # noqa: F811
    from tests.ci.github_flow_helpers import error_lines

    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    open_pr(job)
    job.model.queue_fault("authentication")
    proc, outputs, _ = job.run("pull_request", pr_event(job, "opened"), review="true")
    assert proc.returncode == 4 and "Traceback" not in proc.stderr
    (error,) = error_lines(proc.stderr)
    assert "model API error" in error and "check ANTHROPIC_API_KEY" in error
    assert outputs["conclusion"] == "failure" and job.github.reviews_created == []
