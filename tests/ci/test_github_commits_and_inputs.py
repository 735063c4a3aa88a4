"""Inputs of `claude-runner github` that shape commits and the summary: `ssh_signing_key` (commits
signed with an SSH key that `git verify-commit` accepts; the key file gone when the run ends),
`use_commit_signing` (commits made by GitHub through GraphQL) and `display_report`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.ci.github_flow_helpers import actions_job, git
from tests.ci.test_github_flow import fix_turns, pr_comment_payload

BOT_EMAIL = "41898282+claude[bot]@users.noreply.github.com"


@pytest.fixture
def job(tmp_path):
    with actions_job(tmp_path) as job:
        yield job


@pytest.fixture
def ssh_key(tmp_path: Path) -> tuple[str, str]:
    """A fresh ed25519 key pair: (private key text, public key line)."""
    path = tmp_path / "keys" / "id_ed25519"
    path.parent.mkdir()
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "claude", "-f", str(path)], check=True
    )
    return path.read_text(), path.with_suffix(".pub").read_text().strip()


def run_fix(job, **inputs):
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, title="Fix calc")
    job.model.add_turns(fix_turns(job))
    return job.run("issue_comment", pr_comment_payload(job, 5), **inputs)


def test_commits_signed_with_the_ssh_key_verify(job, ssh_key, tmp_path):
    private, public = ssh_key
    proc, outputs, _ = run_fix(job, ssh_signing_key=private)
    assert proc.returncode == 0, proc.stderr
    assert outputs["conclusion"] == "success"
    # The commit on the remote branch carries an SSH signature that verifies against the key.
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"{BOT_EMAIL} {public}\n")
    check = tmp_path / "check"
    git("clone", "-q", "-b", "fix-calc", str(job.origin), str(check), cwd=tmp_path)
    verified = subprocess.run(
        ["git", "-c", f"gpg.ssh.allowedSignersFile={signers}", "verify-commit", "HEAD"],
        cwd=check,
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stderr
    assert f'Good "git" signature for {BOT_EMAIL}' in verified.stderr
    assert "a + b" in (check / "calc.py").read_text()
    # Another key does not verify it: the signature is the key's, not a formality.
    other = tmp_path / "other_signers"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other.write_text(f"{BOT_EMAIL} {(tmp_path / 'other.pub').read_text().strip()}\n")
    refused = subprocess.run(
        ["git", "-c", f"gpg.ssh.allowedSignersFile={other}", "verify-commit", "HEAD"],
        cwd=check,
        capture_output=True,
    )
    assert refused.returncode != 0
    # The key was masked, never posted, and its file is gone.
    assert "::add-mask::-----BEGIN OPENSSH PRIVATE KEY-----" in proc.stdout
    (comment,) = job.github.comments(5)
    assert "PRIVATE KEY" not in comment.body
    assert not list((tmp_path / "runner_temp").glob("claude-signing-*"))


def test_without_a_key_commits_are_unsigned(job, tmp_path):
    proc, _, _ = run_fix(job)
    assert proc.returncode == 0, proc.stderr
    assert git("--git-dir", str(job.origin), "log", "-1", "--format=%G?", "fix-calc", cwd=tmp_path) == "N"


def test_a_value_that_is_not_a_key_fails_before_anything_is_posted(job):
    proc, outputs, _ = run_fix(job, ssh_signing_key="not a key")
    assert proc.returncode == 2
    assert "ssh_signing_key is not an SSH private key" in proc.stdout + proc.stderr
    assert job.github.comments(5) == [] and outputs["conclusion"] == "failure"


def test_use_commit_signing_commits_through_the_api(job, tmp_path):
    job.github.git_dir = job.origin
    before = job.remote_branches()["fix-calc"]
    proc, outputs, _ = run_fix(job, use_commit_signing="true")
    assert proc.returncode == 0, proc.stderr
    assert outputs["conclusion"] == "success" and outputs["branch_name"] == "fix-calc"
    # GitHub made the commit (its committer, the token's account as author), on top of the old head.
    (made,) = job.github.signed_commits
    assert job.remote_branches()["fix-calc"] == made
    log = git("--git-dir", str(job.origin), "log", "-1", "--format=%P|%cn <%ce>|%an|%s", made, cwd=tmp_path)
    parent, committer, author, subject = log.split("|")
    assert parent == before and committer == "GitHub <noreply@github.com>"
    assert author == "github-actions[bot]" and subject == "PR #5: changes from Claude"
    calc = git("--git-dir", str(job.origin), "show", f"{made}:calc.py", cwd=tmp_path)
    assert "return a + b" in calc
    assert [r.body["query"].split("(")[0].strip() for r in job.github.requests_to("POST", "graphql")][-1] == (
        "mutation CreateCommitOnBranch"
    )


def test_display_report_puts_the_whole_run_in_the_step_summary(job):
    proc, _, summary = run_fix(job, display_report="true")
    assert proc.returncode == 0, proc.stderr
    assert summary.startswith("### Claude ✅ finished")
    report = summary.split("### Every turn", 1)[1]
    assert "#### Turn 1" in report and "🔧 `Read`" in report and "🔧 `Edit`" in report
    assert '"new_string": "a + b"' in report
    assert "<details><summary>Read: result</summary>" in report and "return a - b" in report
    assert "**success** · 3 turns" in report
    assert "sk-ant-test-0123456789" not in summary


def test_without_display_report_the_summary_stays_short(job):
    proc, _, summary = run_fix(job)
    assert proc.returncode == 0, proc.stderr
    assert "### Every turn" not in summary and "🔧" not in summary
