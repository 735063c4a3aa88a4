"""The first request of an automatic review, against the golden file."""

from __future__ import annotations

from tests.golden import check, first_request, normalise
from tests.review.test_review_flow import (  # noqa: F401 (job: a fixture)
    CALC_V1,
    MUL,
    MUL_FINDING,
    commit,
    job,
    open_pr,
    pr_event,
    review_turns,
)


def test_review_first_request(job, tmp_path):  # noqa: F811
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    open_pr(job)
    job.model.add_turns(review_turns(MUL_FINDING))
    proc, _, _ = job.run("pull_request", pr_event(job, "opened"), review="true")
    assert proc.returncode == 0, proc.stderr
    view = first_request(job.model.requests[0].body)
    check("review", normalise(view, {str(tmp_path): "<tmp>"}))
