"""`claude-runner github` signed in without an API key: the `claude_code_oauth_token` input, and
the workload identity federation inputs (the job's OIDC token exchanged at the fake Claude API)."""

from __future__ import annotations

import pytest

from runner.testing.fake_oidc import FakeOidcIssuer
from runner.testing.fake_token_exchange import OAUTH_BETA, TokenExchange
from tests.ci.github_flow_helpers import OWNER, REPO, actions_job
from tests.ci.test_github_flow import fix_turns, pr_comment_payload

OAUTH = "sk-ant-oat01-subscription-token-0123456789abcdef"
RULE, ORG = "fdrl_01ci", "5b3c1f3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def job(tmp_path):
    with actions_job(tmp_path) as job:
        job.env_extra["ANTHROPIC_API_KEY"] = ""  # no key: the inputs below sign in
        yield job


def run_fix(job, **inputs):
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, title="Fix calc")
    job.model.add_turns(fix_turns(job))
    return job.run("issue_comment", pr_comment_payload(job, 5), **inputs)


def test_a_run_signed_in_with_the_subscription_token(job):
    job.model.token_exchange = exchange = TokenExchange(subscription_tokens=[OAUTH])
    proc, outputs, _ = run_fix(job, claude_code_oauth_token=OAUTH)
    assert proc.returncode == 0, proc.stderr
    assert outputs["conclusion"] == "success"
    requests = job.model.message_requests
    assert requests and all(r.headers["authorization"] == f"Bearer {OAUTH}" for r in requests)
    assert all(OAUTH_BETA in r.headers["anthropic-beta"].split(",") for r in requests)
    assert not any("x-api-key" in r.headers for r in requests)
    assert exchange.used_by_requests == [OAUTH] * len(requests)
    # Masked in the log, and never in the comment or the outputs.
    assert f"::add-mask::{OAUTH}" in proc.stdout
    (comment,) = job.github.comments(5)
    assert OAUTH not in comment.body and OAUTH not in str(outputs)
    assert (
        "a + b" in job.remote_log("fix-calc", "%s") or job.remote_log("fix-calc", "%an")[0] == "claude[bot]"
    )


def test_a_subscription_token_with_bedrock_fails_before_anything_is_posted(job):
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", title="Fix calc")
    proc, outputs, _ = job.run(
        "issue_comment", pr_comment_payload(job, 5), claude_code_oauth_token=OAUTH, use_bedrock="true"
    )
    assert proc.returncode == 2
    error_lines = [
        line for line in proc.stdout.splitlines() + proc.stderr.splitlines() if "Anthropic API only" in line
    ]
    assert error_lines, proc.stdout + proc.stderr
    assert job.model.requests == [] and outputs["conclusion"] == "failure"


def test_a_run_signed_in_with_workload_identity_federation(job):
    with FakeOidcIssuer(repository=f"{OWNER}/{REPO}") as issuer:
        job.model.token_exchange = exchange = TokenExchange(
            rule_id=RULE, organization_id=ORG, subject_prefix=f"repo:{OWNER}/{REPO}:"
        )
        job.env_extra.update(GITHUB_ACTIONS="true", **issuer.env())
        proc, outputs, _ = run_fix(job, anthropic_federation_rule_id=RULE, anthropic_organization_id=ORG)
        assert issuer.requests and all(r.audience == "https://api.anthropic.com" for r in issuer.requests)
    assert proc.returncode == 0, proc.stderr
    assert outputs["conclusion"] == "success"
    # The pre-flight exchanges once (a refused rule fails before anything is posted), the run again.
    assert [e.status for e in exchange.exchanges] == [200, 200]
    token = exchange.exchanges[-1].token
    requests = job.model.message_requests
    assert requests and all(r.headers["authorization"] == f"Bearer {token}" for r in requests)
    (comment,) = job.github.comments(5)
    assert token not in comment.body and token not in proc.stdout and token not in proc.stderr
