"""The first request of ``run`` and of a GitHub mention, against the golden files."""

from __future__ import annotations

from runner.testing.fake_messages import text
from tests.ci.test_github_flow import job, pr_comment_payload  # noqa: F401 (job: a fixture)
from tests.golden import check, first_request, normalise


def test_run_first_request(fake, repo, run_cli, tmp_path):
    (repo / "CLAUDE.md").write_text("Run `python3 -m pytest` before you finish.\nStyle: @docs/style.md\n")
    (repo / "docs").mkdir()
    (repo / "docs" / "style.md").write_text("Four spaces; no tabs.\n")
    fake.add_turns([[text("Done.")]])
    out = run_cli(
        "run", "-p", "Fix the bug in add()", "--allowedTools", "Read,Edit,Bash(python3 -m pytest:*)", cwd=repo
    )
    assert out.code == 0, out.stderr
    view = first_request(fake.message_requests[0].body)
    check("run", normalise(view, {str(tmp_path): "<tmp>"}))


def test_mention_first_request(job, tmp_path):  # noqa: F811
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, title="Fix calc")
    job.github.add_comment(5, "add(2, 3) gives -1 for me.", user="carol", created_at=1_700_000_000)
    job.model.add_turns([[text("Fixed.")]])
    proc, _, _ = job.run("issue_comment", pr_comment_payload(job, 5, body="@claude fix add() please"))
    assert proc.returncode == 0, proc.stderr
    view = first_request(job.model.requests[0].body)
    check("mention", normalise(view, {str(tmp_path): "<tmp>"}))
