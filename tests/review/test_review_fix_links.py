"""`include_fix_links`: each review finding on GitHub carries a "Fix this" link to Claude Code on
the web with the finding as its prompt (URL-encoded); `include_fix_links: false` leaves it out."""

from __future__ import annotations

import urllib.parse

from runner.review.findings import Finding
from runner.review.render import inline_body
from tests.review.test_review_flow import (
    CALC_V1,
    MUL,
    MUL_FINDING,
    commit,
    job,  # noqa: F401  (the fixture)
    open_pr,
    pr_event,
    review_turns,
)


def test_the_link_carries_the_finding_url_encoded():
    finding = Finding(
        path="a b.py",
        line=3,
        end_line=4,
        title="Off <by> one",
        body="Use `<=` & stop.",
        severity="important",
    )
    body = inline_body(finding, platform="github", fix_link_repo="octo-org/hello-world")
    link = next(line for line in body.splitlines() if line.startswith("[Fix this →]("))
    url = link.removeprefix("[Fix this →](").removesuffix(")")
    assert url.startswith("https://claude.ai/code?")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["repo"] == ["octo-org/hello-world"]
    assert query["q"][0].startswith("Fix this review finding in a b.py (lines 3-4): Off <by> one")
    assert " " not in url and "<" not in url and "`" not in url
    assert "Fix this" not in inline_body(finding, platform="github")


def test_a_github_review_has_fix_links_unless_turned_off(job):  # noqa: F811
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    open_pr(job)
    job.model.add_turns(review_turns(MUL_FINDING))
    proc, _, _ = job.run("pull_request", pr_event(job, "opened"), review="true")
    assert proc.returncode == 0, proc.stderr
    (comment,) = job.github.review_comments_of(5)
    assert "[Fix this →](https://claude.ai/code?q=" in comment.body


def test_include_fix_links_false_leaves_them_out(job):  # noqa: F811
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    open_pr(job)
    job.model.add_turns(review_turns(MUL_FINDING))
    proc, _, _ = job.run("pull_request", pr_event(job, "opened"), review="true", include_fix_links="false")
    assert proc.returncode == 0, proc.stderr
    (comment,) = job.github.review_comments_of(5)
    assert "Fix this" not in comment.body
