"""Signing in to the Anthropic API without an API key: a subscription OAuth token, and workload
identity federation (the job's OIDC token exchanged for short-lived tokens, renewed mid-run),
against the fake Messages API's token exchange; and what `doctor` shows for each, step by step."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from runner.agent import permissions
from runner.agent.env import scrub_env
from runner.agent.loop import AgentSpec, run_agent
from runner.agent.tools import build_tools
from runner.agent.tools.base import ToolContext
from runner.errors import CredentialsError, UsageError
from runner.providers import build_client, client_options
from runner.providers.doctor import run_doctor
from runner.providers.oidc import GitHubActionsOidc
from runner.settings.provider import read_provider_config
from runner.settings.runtime import read_doctor_runtime, read_runtime
from runner.testing.clock import FakeClock
from runner.testing.fake_messages import FakeMessagesAPI, text, tool_use
from runner.testing.fake_oidc import FakeOidcIssuer, encode_jwt
from runner.testing.fake_token_exchange import FEDERATION_BETA, OAUTH_BETA, TokenExchange
from tests.conftest import base_env

OAUTH = "sk-ant-oat01-subscription-token-0123456789abcdef"
RULE, ORG = "fdrl_01testrule", "5b3c1f3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
ACCOUNT, WORKSPACE = "svac_01ci", "wrkspc_01ci"


def oauth_env(fake: FakeMessagesAPI, **extra: str) -> dict[str, str]:
    env = base_env(fake)
    del env["ANTHROPIC_API_KEY"]
    return {**env, "CLAUDE_CODE_OAUTH_TOKEN": OAUTH, **extra}


def wif_env(fake: FakeMessagesAPI, issuer: FakeOidcIssuer, **extra: str) -> dict[str, str]:
    env = base_env(fake)
    del env["ANTHROPIC_API_KEY"]
    env = {k: v for k, v in env.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "CLAUDE_OIDC"))}
    return {
        **env,
        "GITHUB_ACTIONS": "true",
        **issuer.env(),
        "ANTHROPIC_FEDERATION_RULE_ID": RULE,
        "ANTHROPIC_ORGANIZATION_ID": ORG,
        "ANTHROPIC_SERVICE_ACCOUNT_ID": ACCOUNT,
        "ANTHROPIC_WORKSPACE_ID": WORKSPACE,
        **extra,
    }


def doctor(env: dict[str, str]) -> tuple[int, str]:
    out = io.StringIO()
    code = run_doctor(read_doctor_runtime(env), out)
    return code, out.getvalue()


# --- the subscription token ------------------------------------------------------------------------


def test_the_oauth_token_is_sent_as_a_bearer_token_with_the_oauth_beta_flag(fake):
    fake.token_exchange = TokenExchange(subscription_tokens=[OAUTH])
    config = read_provider_config(oauth_env(fake))
    assert config.key_source == "CLAUDE_CODE_OAUTH_TOKEN" and OAUTH in config.secrets()
    client = build_client(config)
    client.messages.create(
        model="claude-sonnet-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
    # A request that asks for betas of its own keeps them, with the OAuth flag added.
    client.beta.messages.create(
        model="claude-sonnet-5",
        max_tokens=5,
        messages=[{"role": "user", "content": "hi"}],
        betas=["context-management-2025-06-27"],
    )
    first, second = fake.message_requests
    assert first.status == second.status == 200
    for request in (first, second):
        assert request.headers["authorization"] == f"Bearer {OAUTH}"
        assert "x-api-key" not in request.headers
        assert OAUTH_BETA in request.headers["anthropic-beta"].split(",")
    assert "context-management-2025-06-27" in second.headers["anthropic-beta"].split(",")
    assert fake.token_exchange.used_by_requests == [OAUTH, OAUTH]


def test_an_api_key_wins_over_the_oauth_token_and_says_so(fake):
    config = read_provider_config(oauth_env(fake, ANTHROPIC_API_KEY="sk-ant-api-key-0123456789"))
    assert config.key_source == "ANTHROPIC_API_KEY" and config.oauth_token is None
    assert "CLAUDE_CODE_OAUTH_TOKEN is ignored: ANTHROPIC_API_KEY is set" in config.describe()


@pytest.mark.parametrize(
    "extra",
    [
        {"CLAUDE_CODE_OAUTH_TOKEN": OAUTH},
        {"ANTHROPIC_FEDERATION_RULE_ID": RULE, "ANTHROPIC_ORGANIZATION_ID": ORG},
    ],
)
def test_a_cloud_provider_with_anthropic_sign_in_is_one_line_error(extra):
    env = {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "us-east-1", **extra}
    with pytest.raises(UsageError) as caught:
        read_provider_config(env)
    line = caught.value.one_line()
    assert "\n" not in line
    assert "signs in to the Anthropic API only, but the provider is Amazon Bedrock" in line
    assert line.endswith("or use the Anthropic API")


def test_the_oauth_token_is_kept_from_the_tools_and_redacted(fake):
    runtime = read_runtime(oauth_env(fake, TOOL_ENV_PASSTHROUGH="CLAUDE_CODE_OAUTH_TOKEN"))
    assert "CLAUDE_CODE_OAUTH_TOKEN" not in runtime.tools.variables
    assert OAUTH in runtime.tools.secret_values
    assert OAUTH in runtime.provider().config.secrets()


def test_doctor_oauth_steps_and_the_fix_for_a_refused_token(fake):
    fake.token_exchange = TokenExchange(subscription_tokens=[OAUTH])
    code, out = doctor(oauth_env(fake))
    assert code == 0, out
    lines = out.splitlines()
    assert "(CLAUDE_CODE_OAUTH_TOKEN)" in lines[0]
    assert lines[1] == "- oidc token: not needed (CLAUDE_CODE_OAUTH_TOKEN)"
    assert lines[2] == "✓ credentials: CLAUDE_CODE_OAUTH_TOKEN is set (checked by the model call)"
    assert lines[3].startswith("✓ model call:") and OAUTH not in out

    fake.token_exchange = TokenExchange(subscription_tokens=[])  # revoked
    code, out = doctor(oauth_env(fake))
    assert code == CredentialsError.exit_code
    last = out.splitlines()[-1]
    assert last.startswith("✗ model call: Anthropic API refused the request (HTTP 401)")
    assert "Invalid bearer token" in last and last.endswith(
        " — the subscription token was refused: run `claude setup-token` again and store the new token "
        "as the secret behind claude_code_oauth_token (CLAUDE_CODE_OAUTH_TOKEN)"
    )


# --- workload identity federation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"ANTHROPIC_ORGANIZATION_ID": ""}, "workload identity federation needs ANTHROPIC_ORGANIZATION_ID"),
        ({"ANTHROPIC_FEDERATION_RULE_ID": "rule-1"}, "must be an id like fdrl_..."),
        ({"ANTHROPIC_ORGANIZATION_ID": "acme"}, "must be the organization's UUID"),
        ({"ANTHROPIC_WORKSPACE_ID": "ws1"}, "must be an id like wrkspc_... or default"),
    ],
)
def test_bad_federation_settings_fail_before_any_request(fake, extra, message):
    with FakeOidcIssuer() as issuer:
        code, out = doctor(wif_env(fake, issuer, **extra))
        assert issuer.requests == []
    assert code in (UsageError.exit_code, CredentialsError.exit_code)
    assert out.startswith("✗ settings: ") and message in out and len(out.splitlines()) == 1
    assert fake.requests == []


def test_doctor_shows_each_federation_step(fake):
    with FakeOidcIssuer(repository="acme/app") as issuer:
        fake.token_exchange = TokenExchange(rule_id=RULE, organization_id=ORG, workspace_id=WORKSPACE)
        code, out = doctor(wif_env(fake, issuer))
    assert code == 0, out
    settings, oidc, credentials, call, *listing, done = out.splitlines()
    assert [line.split(":")[0][2:] for line in listing] == ["models"]  # the provider's models, listed
    assert settings.startswith("✓ settings: Anthropic API via gateway")
    assert f"workload identity federation ({RULE})" in settings and f"workspace {WORKSPACE}" in settings
    assert oidc.startswith("✓ oidc token: GitHub Actions OIDC: a token for aud https://api.anthropic.com")
    assert "sub repo:acme/app:ref:refs/heads/main" in oidc
    assert credentials == (
        f"✓ credentials: token exchange (POST /v1/oauth/token, {RULE}) gave an access token valid "
        "for 600 s, renewed before it expires"
    )
    assert call.startswith("✓ model call:") and done == "all checks passed"
    (exchange,) = fake.token_exchange.exchanges
    assert exchange.status == 200 and exchange.claims["aud"] == "https://api.anthropic.com"
    token = exchange.token
    assert token is not None and token not in out
    (request,) = fake.message_requests
    assert request.headers["authorization"] == f"Bearer {token}"
    exchange_request = next(r for r in fake.requests if r.path == "/v1/oauth/token")
    assert {OAUTH_BETA, FEDERATION_BETA} <= set(exchange_request.headers["anthropic-beta"].split(","))
    assert exchange_request.body["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert exchange_request.body["service_account_id"] == ACCOUNT


@pytest.mark.parametrize(
    ("rule", "fix"),
    [
        (
            TokenExchange(rule_id=RULE, organization_id=ORG, audience="https://other"),
            "make the rule's issuer, audience (https://api.anthropic.com) and subject conditions match",
        ),
        (
            TokenExchange(rule_id=RULE, organization_id=ORG, workspace_id="wrkspc_other"),
            "set ANTHROPIC_WORKSPACE_ID (input anthropic_workspace_id) to one of the rule's workspaces",
        ),
    ],
)
def test_doctor_names_the_fix_for_a_refused_exchange(fake, rule, fix):
    fake.token_exchange = rule
    with FakeOidcIssuer() as issuer:
        code, out = doctor(wif_env(fake, issuer))
    assert code == CredentialsError.exit_code
    lines = out.splitlines()
    assert lines[1].startswith("✓ oidc token:")
    assert lines[2].startswith("✗ credentials: the Claude API ") and fix in lines[2]
    assert fake.message_requests == []


def test_doctor_without_id_token_permission_fails_at_the_oidc_step(fake):
    with FakeOidcIssuer() as issuer:
        env = wif_env(fake, issuer)
    del env["ACTIONS_ID_TOKEN_REQUEST_URL"]
    code, out = doctor(env)
    assert code == CredentialsError.exit_code
    assert out.splitlines()[1] == (
        "✗ oidc token: ACTIONS_ID_TOKEN_REQUEST_URL is not set: the workflow lacks `permissions: id-token: "
        "write` — add `permissions: { id-token: write }` to the job"
    )


def test_an_identity_token_file_replaces_the_jobs_token(fake, tmp_path: Path):
    clock = FakeClock()
    token_file = tmp_path / "token"
    claims = {"iss": "https://k8s.example", "aud": "https://api.anthropic.com", "sub": "system:sa:ci"}
    token_file.write_text(encode_jwt({**claims, "exp": int(clock.now) + 3600, "jti": "a"}))
    fake.token_exchange = TokenExchange(rule_id=RULE, organization_id=ORG, issuer="https://k8s.example")
    env = base_env(fake)
    del env["ANTHROPIC_API_KEY"]
    env.update(
        ANTHROPIC_FEDERATION_RULE_ID=RULE,
        ANTHROPIC_ORGANIZATION_ID=ORG,
        ANTHROPIC_IDENTITY_TOKEN_FILE=str(token_file),
        CLAUDE_OIDC_SOURCE="none",
    )
    code, out = doctor(env)
    assert code == 0, out
    oidc = out.splitlines()[1]
    assert (
        oidc.startswith("✓ oidc token: token file ") and "iss https://k8s.example, sub system:sa:ci" in oidc
    )


def agent_spec(tmp_path: Path) -> AgentSpec:
    (tmp_path / "notes.txt").write_text("the answer is 42\n")
    return AgentSpec(
        prompt="What does notes.txt say?",
        model="claude-sonnet-5",
        system_prompt="You are a test agent.",
        tools=build_tools(["Read"]),
        policy=permissions.PermissionPolicy(cwd=tmp_path, home=tmp_path),
        workspace=ToolContext(cwd=tmp_path, subprocess_env=scrub_env(os.environ)),
        api_timeout_s=30,
    )


def test_a_long_run_renews_its_access_token_before_it_expires(fake, tmp_path: Path):
    clock = FakeClock()
    fake.token_exchange = TokenExchange(rule_id=RULE, organization_id=ORG, lifetime_s=600, clock=clock.time)

    def slow_read(request):  # the model takes 9 minutes over its second answer
        clock.advance(540)
        return [tool_use("Read", {"file_path": "notes.txt"})]

    fake.add_turns([[text("Let me look."), tool_use("Read", {"file_path": "notes.txt"})], slow_read])
    fake.add_turn([text("notes.txt says 42.")])
    with FakeOidcIssuer(clock=clock.time) as issuer:
        config = read_runtime(wif_env(fake, issuer)).provider().config
        minted: list[str] = []
        source = GitHubActionsOidc(issuer.request_url, issuer.request_token, on_token=minted.append)
        options = client_options(config, oidc=source, clock=clock.time, on_secret=minted.append)
        outcome = run_agent(agent_spec(tmp_path), build_client(config, options), lambda event: None)
    assert outcome.result["subtype"] == "success", outcome.result
    assert outcome.result["result"] == "notes.txt says 42."
    first, second = fake.token_exchange.exchanges
    assert first.status == second.status == 200
    assert first.claims["jti"] != second.claims["jti"]  # a fresh OIDC token: GitHub's are single-use
    # The third call came 540 s into a 600 s token: still valid, but within the renewal margin, so
    # it carried a new one. No request was refused.
    assert [r.status for r in fake.message_requests] == [200, 200, 200]
    assert fake.token_exchange.used_by_requests == [first.token, first.token, second.token]
    assert first.token in minted and second.token in minted  # the redactor learnt both


def test_the_fake_refuses_an_expired_access_token_and_a_reused_identity_token(fake):
    clock = FakeClock()
    fake.token_exchange = exchange = TokenExchange(rule_id=RULE, organization_id=ORG, clock=clock.time)
    with FakeOidcIssuer(clock=clock.time) as issuer:
        assertion = issuer.mint("https://api.anthropic.com")
    body = {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion": assertion,
        "federation_rule_id": RULE,
        "organization_id": ORG,
    }
    betas = {"anthropic-beta": f"{OAUTH_BETA},{FEDERATION_BETA}"}
    status, answer = exchange.exchange(betas, body)
    assert status == 200 and answer["expires_in"] == 600
    assert exchange.exchange(betas, body) == (
        401,
        {"error": "invalid_grant", "error_description": "jti_reused"},
    )
    headers = {"authorization": f"Bearer {answer['access_token']}", "anthropic-beta": OAUTH_BETA}
    assert exchange.refuse(headers) is None
    clock.advance(600)
    assert exchange.refuse(headers) == "OAuth token has expired."


@pytest.mark.parametrize("allow_reuse", [False, True])
def test_a_gitlab_id_token_is_exchanged_again_only_where_the_rule_allows_reuse(fake, allow_reuse):
    from runner.providers.anthropic_federation import federated_token
    from runner.providers.base import ClientOptions
    from runner.providers.oidc import GitLabIdToken
    from runner.settings.anthropic_auth import read_federation_settings

    clock = FakeClock()
    fake.token_exchange = TokenExchange(
        rule_id=RULE,
        organization_id=ORG,
        issuer="https://gitlab.com",
        allow_reuse=allow_reuse,
        clock=clock.time,
    )
    job_token = encode_jwt(
        {
            "iss": "https://gitlab.com",
            "aud": "https://api.anthropic.com",
            "sub": "project_path:acme/app",
            "jti": "j1",
            "exp": int(clock.now) + 3600,
        }
    )
    settings = read_federation_settings(
        {"ANTHROPIC_FEDERATION_RULE_ID": RULE, "ANTHROPIC_ORGANIZATION_ID": ORG}
    )
    assert settings is not None
    options = ClientOptions(
        oidc=GitLabIdToken("CLAUDE_OIDC_TOKEN", job_token, clock=clock.time), clock=clock.time
    )
    provider = federated_token(settings, options, base_url=fake.base_url)
    clock.advance(500)  # within the renewal margin of the 600 s token
    if allow_reuse:
        assert provider().token != fake.token_exchange.exchanges[0].token
        return
    with pytest.raises(CredentialsError) as refused:
        provider()
    line = refused.value.one_line()
    assert "it was already exchanged" in line and "allow token reuse on rule" in line
