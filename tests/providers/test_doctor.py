"""`claude-runner doctor` and the flow's pre-flight: each broken step named, with its fix and code.

Also: the OIDC token a provider trades never reaches the tools' environment or the transcript.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

import pytest

from runner.providers.doctor import run_checks, run_doctor
from runner.settings.runtime import read_doctor_runtime, read_runtime
from runner.testing.fake_github import FakeGitHub
from runner.testing.fake_messages import FakeMessagesAPI, text, tool_use
from runner.testing.fake_oidc import FakeOidcIssuer, encode_jwt
from tests.ci.github_flow_helpers import OWNER, REPO, error_lines, make_job, now_iso
from tests.conftest import base_env

KEY = "sk-ant-test-key-0123456789"


def doctor(env, **options):
    out = io.StringIO()
    runtime = read_doctor_runtime(env, provider=options.pop("provider", None))
    code = run_doctor(runtime, out, **options)
    return code, out.getvalue()


# --- the Anthropic API against the fake Messages API -------------------------------------------


def test_all_steps_pass_against_the_fake(fake):
    code, out = doctor(base_env(fake))
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("✓ settings: Anthropic API via gateway http://127.0.0.1")
    assert "model claude-sonnet-5-5" in lines[0]
    assert lines[1] == "- oidc token: not needed (ANTHROPIC_API_KEY)"
    assert lines[2].startswith("✓ credentials: ANTHROPIC_API_KEY is set")
    assert lines[3].startswith("✓ model call: claude-sonnet-5-5 answered in")
    assert lines[4].startswith("✓ models: 9 listed, claude-sonnet-5-5 among them: claude-fable-5-2, ")
    assert lines[-1] == "all checks passed" and KEY not in out
    request, listing = fake.requests
    assert request.body["max_tokens"] == 1 and not request.body.get("stream")
    assert request.body["messages"] == [{"role": "user", "content": "ping"}]
    assert (listing.method, listing.path) == ("GET", "/v1/models?limit=1000")


def test_a_model_the_provider_does_not_list_is_a_warning_not_a_failure():
    with FakeMessagesAPI(models=["claude-opus-5-5", "claude-haiku-5-5"]) as fake:
        code, out = doctor(base_env(fake), model="claude-opus-4-8")
    assert code == 0, out
    listed = "claude-opus-5-5, claude-haiku-5-5"
    assert f"! models: claude-opus-4-8 is not among the 2 models listed: {listed}" in out


def test_a_dated_listing_matches_the_undated_id_and_json_has_every_id():
    with FakeMessagesAPI(models=["claude-haiku-4-5-20251001"]) as fake:
        code, out = doctor(base_env(fake), model="claude-haiku-4-5", as_json=True)
    step = json.loads(out)["steps"][-1]
    assert code == 0 and step["status"] == "ok" and step["models"] == ["claude-haiku-4-5-20251001"]


def test_an_unknown_model_shows_what_the_provider_lists_before_the_failure():
    with FakeMessagesAPI(unknown_models=["claude-opus-5-5"]) as fake:
        code, out = doctor(base_env(fake), model="opus")
    lines = out.splitlines()
    assert code == 5
    assert lines[-2].startswith("! models: claude-opus-5-5 is not among the 8 models listed")
    assert lines[-1].startswith("✗ model call: model claude-opus-5-5 was not found")


def test_the_cli_prints_steps_or_json(fake, repo, run_cli):
    out = run_cli("doctor", cwd=repo)
    assert out.code == 0 and "✓ model call" in out.stdout, out.stderr
    out = run_cli("doctor", "--json", "--no-call", cwd=repo)
    data = json.loads(out.stdout)
    assert data["ok"] and data["provider"] == "anthropic" and data["exit_code"] == 0
    assert [s["step"] for s in data["steps"]] == ["settings", "oidc token", "credentials"]
    assert [s["status"] for s in data["steps"]] == ["ok", "skipped", "ok"]
    assert len(fake.requests) == 2  # the call and the listing; --no-call made none


def test_no_credentials_fail_at_settings_with_exit_4(fake):
    env = base_env(fake)
    del env["ANTHROPIC_API_KEY"]
    code, out = doctor(env)
    assert code == 4
    assert out.splitlines() == [
        "✗ settings: no Anthropic credentials found — set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN with "
        "ANTHROPIC_BASE_URL for a gateway), CLAUDE_CODE_OAUTH_TOKEN, workload identity federation "
        "(ANTHROPIC_FEDERATION_RULE_ID and ANTHROPIC_ORGANIZATION_ID), or choose a cloud provider "
        "(CLAUDE_CODE_USE_BEDROCK=1, ...)"
    ]
    assert fake.requests == []


def test_two_providers_fail_at_settings_with_exit_2(fake):
    env = {**base_env(fake), "CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_USE_FOUNDRY": "true"}
    code, out = doctor(env, as_json=True)
    data = json.loads(out)
    assert code == 2 and data["exit_code"] == 2 and not data["ok"]
    (step,) = data["steps"]
    assert step["step"] == "settings" and step["status"] == "failed"
    assert "CLAUDE_CODE_USE_BEDROCK and CLAUDE_CODE_USE_FOUNDRY" in step["error"]["message"]
    assert step["error"]["kind"] == "usage" and step["error"]["fix"]


def test_the_doctor_reads_the_jobs_inputs_as_the_flow_does(fake):
    env = {**base_env(fake), "INPUT_USE_BEDROCK": "true", "USE_VERTEX": "true"}  # action input, job variable
    code, out = doctor(env)
    assert code == 2 and "CLAUDE_CODE_USE_BEDROCK and CLAUDE_CODE_USE_VERTEX" in out


def test_the_preflight_of_the_anthropic_api_needs_no_sdk_and_no_network(fake):
    script = (
        "import sys; from runner.providers.doctor import preflight; "
        "from runner.settings.runtime import read_runtime; "
        f"c = preflight(read_runtime({{'ANTHROPIC_API_KEY': {KEY!r}}})); "
        "assert c.client is None and 'anthropic' not in sys.modules, sorted(sys.modules); "
        "print([s.line() for s in c.steps])"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "✓ credentials: ANTHROPIC_API_KEY is set (checked by the first model call)" in proc.stdout


def test_a_refused_key_fails_at_the_model_call_with_exit_4():
    with FakeMessagesAPI(api_key="sk-ant-the-right-key-000") as fake:
        code, out = doctor(base_env(fake))
    assert code == 4
    assert out.splitlines()[-1].startswith("✗ model call: Anthropic API refused the request (HTTP 401)")
    assert KEY not in out


def test_an_unknown_model_fails_at_the_model_call_with_exit_5():
    with FakeMessagesAPI(unknown_models=["claude-opus-5-5"]) as fake:
        code, out = doctor(base_env(fake), model="opus")
    assert code == 5 and "✗ model call: model claude-opus-5-5 was not found" in out


def test_a_bad_model_id_fails_at_settings_before_any_call(fake):
    env = base_env(fake)
    del env["ANTHROPIC_BASE_URL"]  # the Anthropic API checks ids locally
    code, out = doctor(env, model="gpt-4o")
    assert code == 5 and out.startswith("✗ settings:") and fake.requests == []


# --- a provider that needs the job's OIDC token ------------------------------------------------


def bedrock_env(**extra):
    pytest.importorskip("runner.providers.bedrock")
    return {
        "CLAUDE_CODE_USE_BEDROCK": "1",
        "AWS_REGION": "us-east-1",
        "AWS_ROLE_TO_ASSUME": "arn:aws:iam::123456789012:role/claude",
        **extra,
    }


def test_github_oidc_without_id_token_write_is_named():
    code, out = doctor(bedrock_env(GITHUB_ACTIONS="true"))
    assert code == 4
    settings, oidc = out.splitlines()
    assert settings.startswith("✓ settings: Amazon Bedrock (CLAUDE_CODE_USE_BEDROCK)")
    assert oidc == (
        "✗ oidc token: ACTIONS_ID_TOKEN_REQUEST_URL is not set: the workflow lacks "
        "`permissions: id-token: write` — add `permissions: { id-token: write }` to the job"
    )


def test_no_token_source_outside_ci_is_named():
    code, out = doctor(bedrock_env(CLAUDE_OIDC_SOURCE="none"))
    assert code == 4 and "✗ oidc token: Amazon Bedrock needs an OIDC token" in out
    assert "CLAUDE_OIDC_TOKEN_FILE" in out


def test_the_token_step_shows_the_claims_a_trust_policy_matches():
    with FakeOidcIssuer() as issuer:
        env = bedrock_env(GITHUB_ACTIONS="true", **issuer.env())
        checkup = run_checks(read_runtime(env), call_model=False)
    oidc = checkup.steps[1]
    assert oidc.status == "ok" and oidc.detail.startswith(
        "GitHub Actions OIDC: a token for aud sts.amazonaws.com"
    )
    assert "sub repo:owner/name:ref:refs/heads/main" in oidc.detail
    assert issuer.issued and issuer.issued[0][0] == "sts.amazonaws.com"
    assert all(token not in step.detail for step in checkup.steps for _, token in issuer.issued)


def test_bedrock_end_to_end_against_the_fakes():
    pytest.importorskip("boto3")
    from runner.testing.fake_aws import FakeAWS

    with FakeOidcIssuer(repository="octo-org/octo-repo") as issuer, FakeAWS() as aws:
        env = bedrock_env(
            GITHUB_ACTIONS="true",
            AWS_ROLE_TO_ASSUME=aws.role_arn,
            AWS_ENDPOINT_URL_STS=aws.url,
            ANTHROPIC_BEDROCK_BASE_URL=aws.url,
            **issuer.env(),
        )
        code, out = doctor(env)
        assert code == 0, out
        assert [line[:1] for line in out.splitlines()[:4]] == ["✓"] * 4
        assert "- models: not listed by this provider (Amazon Bedrock)" in out
        assert "model us.anthropic.claude-sonnet-4-5-20250929-v1:0" in out
        assert issuer.issued[0][0] == "sts.amazonaws.com" and aws.sts_requests
        secrets = [token for _, token in issuer.issued] + [k.secret_access_key for k in aws.issued]
        assert all(secret not in out for secret in secrets)
        aws.unknown_models = {"us.anthropic.claude-sonnet-9"}
        code, out = doctor(env, model="us.anthropic.claude-sonnet-9")
        assert code == 5 and "✗ model call: Amazon Bedrock refused model us.anthropic.claude-sonnet-9" in out
        aws.trusted_subs = ["repo:someone-else/*"]
        code, out = doctor(env)
    assert code == 4
    assert out.splitlines()[-1].startswith("✗ credentials: STS AccessDenied")


# --- the flow fails fast, before it posts ------------------------------------------------------


@pytest.fixture
def job(tmp_path):
    with FakeMessagesAPI() as model, FakeGitHub(OWNER, REPO, default_branch="master") as github:
        yield make_job(tmp_path, github, model)


def comment_payload(job):
    payload = job.payload("issue_comment")
    payload["comment"]["body"] = "@claude fix the bug"
    payload["comment"]["created_at"] = payload["comment"]["updated_at"] = now_iso()
    return payload


@pytest.mark.parametrize(
    "inputs, env, code, needle",
    [
        (
            {"use_bedrock": "true", "use_vertex": "true"},
            {},
            2,
            "CLAUDE_CODE_USE_BEDROCK and CLAUDE_CODE_USE_VERTEX",
        ),
        ({}, {"ANTHROPIC_API_KEY": ""}, 4, "no Anthropic credentials found"),
        (
            {"provider": "anthropic", "use_foundry": "true"},
            {},
            2,
            "anthropic (provider setting) conflicts with CLAUDE_CODE_USE_FOUNDRY",
        ),
    ],
)
def test_a_misconfigured_job_fails_before_posting(job, inputs, env, code, needle):
    job.env_extra.update(env)
    proc, outputs, summary = job.run("issue_comment", comment_payload(job), **inputs)
    assert proc.returncode == code, proc.stderr
    errors = error_lines(proc.stderr)  # one ::error:: annotation, no other error line
    assert len(errors) == 1 and needle in errors[0], proc.stderr
    assert outputs["conclusion"] == "failure" and needle in summary
    assert [r for r in job.github.requests if r.method != "GET"] == []  # nothing posted
    assert job.model.requests == []


def test_a_github_job_for_bedrock_without_id_token_write_fails_before_posting(job):
    pytest.importorskip("runner.providers.bedrock")
    job.env_extra.update(GITHUB_ACTIONS="true")
    inputs = {"provider": "bedrock", "aws_region": "us-east-1"}
    inputs["aws_role_to_assume"] = "arn:aws:iam::123456789012:role/claude"
    proc, outputs, _ = job.run("issue_comment", comment_payload(job), **inputs)
    assert proc.returncode == 4, proc.stderr
    assert (
        "::error title=claude-runner::ACTIONS_ID_TOKEN_REQUEST_URL is not set" in proc.stderr
        and "id-token: write" in proc.stderr
    )
    assert "provider check ✓ settings: Amazon Bedrock (provider setting)" in proc.stderr
    assert outputs["conclusion"] == "failure"
    assert [r for r in job.github.requests if r.method != "GET"] == []


# --- the OIDC token stays with the runner ------------------------------------------------------

STUB = textwrap.dedent(
    '''
    """A provider that trades the job's OIDC token for access to the fake Messages API."""
    from dataclasses import dataclass

    import anthropic


    @dataclass(frozen=True)
    class Settings:
        base_url: str
        needs_oidc: bool = True
        oidc_audience: str = "api://stub"
        key_source: str = "stub OIDC"


    def read_stub_settings(env):
        return Settings(env["STUB_BASE_URL"])


    def secrets(settings):
        return []


    def build_client(settings, options):
        token = options.oidc.token(settings.oidc_audience)
        return anthropic.Anthropic(
            api_key="stub-key", base_url=settings.base_url, max_retries=0,
            default_headers={"x-stub-oidc": token}, timeout=options.timeout_s,
        )
    '''
)
STREAM = ("--output-format", "stream-json", "--transcript")
LAUNCH = (
    "import sys, stub_provider; sys.modules['runner.providers.foundry'] = stub_provider; "
    "from runner.settings.provider import CLOUD_SETTINGS_READERS; "
    "CLOUD_SETTINGS_READERS['foundry'] = stub_provider.read_stub_settings; "
    "from runner.cli import main; main()"
)


@pytest.mark.parametrize("source", ["github", "gitlab"])
def test_the_oidc_token_never_reaches_tools_or_the_transcript(fake, repo, tmp_path, source):
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "stub_provider.py").write_text(STUB)
    env = {**base_env(fake), "CLAUDE_CODE_USE_FOUNDRY": "1", "STUB_BASE_URL": fake.base_url}
    env["PYTHONPATH"] = str(stubs)
    with FakeOidcIssuer() as issuer:
        if source == "github":
            env.update(CLAUDE_OIDC_SOURCE="github", **issuer.env())
            secrets = [issuer.request_token]
        else:
            gitlab_token = encode_jwt({"aud": "api://stub", "sub": "project_path:g/p"})  # unsigned
            env.update(CLAUDE_OIDC_SOURCE="gitlab", CLAUDE_OIDC_TOKEN_VARIABLE="MY_ID", MY_ID=gitlab_token)
            secrets = [gitlab_token]

        def minted() -> str:
            return issuer.issued[-1][1] if source == "github" else secrets[0]

        fake.add_turns(
            [
                [tool_use("Bash", {"command": "env > env.txt", "description": "dump the environment"})],
                lambda request: [text(f"the token is {minted()}")],  # a model that saw it somehow
            ]
        )
        transcript = tmp_path / "transcript.jsonl"
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                LAUNCH,
                "run",
                "-p",
                "x",
                "--allowedTools",
                "Bash",
                *STREAM,
                str(transcript),
            ],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        token = minted()
    assert fake.message_requests[0].headers["x-stub-oidc"] == token  # the provider did use it
    tool_env = (repo / "env.txt").read_text()
    # The dump worked; the provider's settings and credentials are not on the tools' allowlist.
    assert "PATH=" in tool_env and "FOUNDRY" not in tool_env
    outputs = {"tools' environment": tool_env, "transcript": transcript.read_text(), "stdout": proc.stdout}
    for where, content in outputs.items():
        for secret in [token, *secrets]:
            assert secret not in content, where
    assert "the token is [REDACTED]" in outputs["transcript"]
