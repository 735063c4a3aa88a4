"""Secrets in a CI run: masked in the Actions log line by line, absent from everything the runner writes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from runner.ci.github import github_job
from runner.settings.github import github_run_env
from runner.testing.fake_github import FakeGitHub
from runner.testing.fake_messages import FakeMessagesAPI, text, tool_use
from tests.ci.github_flow_helpers import OWNER, REPO, git, make_job, now_iso

# A test key's shape (random base64 lines): never a real key.
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEAx3Kq9vBn2Lw8TzQ4mR7sYp1UeG6cVfH0jD5aN8oX2iWtZbKl\n"
    "Qm7Rz4Yx2Lp9Nc6Vb3Hs8Kd1Tf5Gj0Wa7Eq2Ur4Io6Pm9Sn1Xy3Bv5Cz8Df2Gh4Jk\n"
    "\n"
    "-----END RSA PRIVATE KEY-----\n"
)


def test_a_multi_line_key_gets_one_add_mask_per_line(tmp_path: Path, capsys) -> None:
    env = {
        "GITHUB_EVENT_NAME": "issue_comment",
        "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
        "GITHUB_REPOSITORY": "o/r",
        "RUNNER_TEMP": str(tmp_path),
    }
    github_job(github_run_env(env)).mask(PRIVATE_KEY)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"::add-mask::{line}" for line in PRIVATE_KEY.splitlines() if line.strip()]
    assert len(lines) == 4


SLACK = "https://hooks.slack.com/services/T024BE7LD/B01ABCDEF/kT9xQ2mZ7pL4vR8sW3nY6bHc"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2YXVsdC1yb2xlIn0.c2lnbmF0dXJlLXZhbHVlLTEyMzQ"
SECRETS = {"DB_PASS": "hunter2hunter2", "SLACK_WEBHOOK_URL": SLACK, "VAULT_ID": JWT}


@pytest.fixture
def job(tmp_path):
    origin = tmp_path / "remotes" / OWNER / f"{REPO}.git"

    def branch_lookup(name):
        out = subprocess.run(
            ["git", "ls-remote", "--heads", str(origin), name], capture_output=True, text=True
        )
        return out.stdout.split("\t")[0] or None

    with FakeMessagesAPI() as model:
        github = FakeGitHub(
            OWNER,
            REPO,
            default_branch="master",
            branch_lookup=branch_lookup,
            web_url=f"file://{tmp_path / 'remotes'}",
        )
        with github:
            yield make_job(tmp_path, github, model)


def test_a_flow_keeps_every_secret_from_tools_commits_comments_and_outputs(job, bwrap):
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, title="Fix calc")
    answer = "Done. By the way: " + " ".join(SECRETS.values())  # a model that saw them somehow
    job.model.add_turns(
        [
            [tool_use("Bash", {"command": "env > tool-env.txt; ls /proc | grep -c '^[0-9]' > procs.txt"})],
            [text(answer)],
        ]
    )
    job.env_extra.update(SECRETS)
    payload = job.payload("issue_comment")
    payload["issue"]["number"] = 5
    payload["issue"]["pull_request"] = {"url": f"{job.github.api_url}/repos/{OWNER}/{REPO}/pulls/5"}
    payload["comment"]["body"] = "@claude record the environment"
    payload["comment"]["created_at"] = payload["comment"]["updated_at"] = now_iso()
    proc, outputs, summary = job.run(
        "issue_comment", payload, claude_args="--allowedTools Bash", app_private_key=PRIVATE_KEY
    )
    assert proc.returncode == 0, proc.stderr
    # What the tool saw went into the commit, with the answer as its message.
    tool_env = git("--git-dir", str(job.origin), "show", "fix-calc:tool-env.txt", cwd=job.root)
    assert "GITHUB_REPOSITORY=" in tool_env  # the dump worked
    procs = int(git("--git-dir", str(job.origin), "show", "fix-calc:procs.txt", cwd=job.root))
    assert procs <= 6  # the tool ran in the sandbox (on by default in the CI flows): no runner in sight
    message = "\n".join(job.remote_log("fix-calc", "%B"))
    assert "[REDACTED]" in message
    (comment,) = job.github.comments(5)
    transcript = Path(outputs["execution_file"]).read_text()
    written = {
        "tool env": tool_env,
        "commit message": message,
        "comment": comment.body,
        "outputs": json.dumps(outputs),
        "summary": summary,
        "transcript": transcript,
        # Actions consumes ::add-mask:: lines (they carry the values on purpose); the rest is the log.
        "log": "\n".join(
            x for x in (proc.stdout + proc.stderr).splitlines() if not x.startswith("::add-mask::")
        ),
    }
    for where, content in written.items():
        for name, value in SECRETS.items():
            assert value not in content, f"{name} in the {where}"
        assert "Qm7Rz4Yx2Lp9Nc6Vb3Hs8Kd1Tf5Gj0Wa7Eq2Ur4Io6Pm9Sn1Xy3Bv5Cz8Df2Gh4Jk" not in content, where
    masks = [line for line in proc.stdout.splitlines() if line.startswith("::add-mask::")]
    for line in PRIVATE_KEY.splitlines():
        if line.strip():
            assert f"::add-mask::{line}" in masks
