"""Microsoft Foundry: settings, Entra ID federation from the CI's OIDC token, refresh, errors.

The agent turns use the real ``AnthropicFoundry`` client (through ``foundry.build_client``) against
``runner.testing.fake_azure`` (Entra ID's token endpoint and the resource's ``/anthropic`` endpoint),
fed by ``runner.testing.fake_oidc`` (GitHub's token endpoint) or a GitLab ``id_tokens`` variable.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.agent import permissions
from runner.agent.env import scrub_env
from runner.agent.loop import AgentOutcome, AgentSpec, run_agent
from runner.agent.tools import build_tools
from runner.agent.tools.base import ToolContext
from runner.agent.transcript import EventSink
from runner.errors import CredentialsError
from runner.providers import foundry, oidc
from runner.providers.base import ClientOptions
from runner.sanitize import Redactor
from runner.settings.foundry import read_foundry_settings
from runner.settings.oidc import read_oidc_settings
from runner.testing.fake_azure import DEFAULT_CLIENT, DEFAULT_TENANT, FakeAzure, FederatedCredential
from runner.testing.fake_google import jwt_claims
from runner.testing.fake_oidc import FakeOidcIssuer
from runner.testing.scripting import text, tool_use

MODEL = "claude-opus-4-8"
GITHUB_SUBJECT = "repo:octo-org/octo-repo:ref:refs/heads/main"
GITLAB_ISSUER = "https://gitlab.com"
GITLAB_SUBJECT = "project_path:group/project:ref_type:branch:ref:main"
API_KEY = "foundry-key-0123456789abcdef"


class Clock:
    """A clock the test moves: the token cache and the fakes' expiries all read it."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def azure(clock: Clock) -> Iterator[FakeAzure]:
    with FakeAzure(clock=clock, deployments=[MODEL]) as fake:
        yield fake


@pytest.fixture
def github(clock: Clock) -> Iterator[FakeOidcIssuer]:
    with FakeOidcIssuer(repository="octo-org/octo-repo", clock=clock) as issuer:
        yield issuer


def github_source(issuer: FakeOidcIssuer) -> oidc.GitHubActionsOidc:
    return oidc.GitHubActionsOidc(issuer.request_url, issuer.request_token)


def entra_env(azure: FakeAzure, **extra: str) -> dict[str, str]:
    return {
        "ANTHROPIC_FOUNDRY_BASE_URL": azure.foundry_base_url,
        "AZURE_TENANT_ID": azure.tenant_id,
        "AZURE_CLIENT_ID": azure.client_id,
        "AZURE_AUTHORITY_HOST": azure.authority_host,
        **extra,
    }


def spec_for(tmp_path: Path, *, model: str = MODEL, stream: bool = True) -> AgentSpec:
    (tmp_path / "notes.txt").write_text("the answer is 42\n")
    return AgentSpec(
        prompt="What does notes.txt say?",
        model=model,
        system_prompt="You are a test agent.",
        tools=build_tools(["Read"]),
        policy=permissions.PermissionPolicy(cwd=tmp_path, home=tmp_path),
        workspace=ToolContext(cwd=tmp_path, subprocess_env=scrub_env(os.environ)),
        stream=stream,
        api_timeout_s=30,
    )


READ_THEN_ANSWER: list[Any] = [
    [text("Let me look."), tool_use("Read", {"file_path": "notes.txt"})],
    [text("notes.txt says the answer is 42.")],
]


def run(spec: AgentSpec, client: Any) -> tuple[AgentOutcome, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    return run_agent(spec, client, events.append), events


def bearer(record: Any) -> str:
    return str(record.headers.get("authorization", "")).removeprefix("Bearer ")


# --- settings --------------------------------------------------------------------------------------


def test_settings_from_a_resource_name() -> None:
    settings = read_foundry_settings(
        {
            "ANTHROPIC_FOUNDRY_RESOURCE": "my-resource",
            "AZURE_TENANT_ID": DEFAULT_TENANT,
            "AZURE_CLIENT_ID": DEFAULT_CLIENT,
        }
    )
    assert settings.base_url == "https://my-resource.services.ai.azure.com/anthropic/"
    assert settings.auth_method == "entra-federation" and settings.needs_oidc
    assert settings.oidc_audience == "api://AzureADTokenExchange"
    assert settings.token_url == f"https://login.microsoftonline.com/{DEFAULT_TENANT}/oauth2/v2.0/token"
    assert settings.scope == "https://cognitiveservices.azure.com/.default"
    assert not settings.is_gateway and foundry.secrets(settings) == []
    assert "my-resource" in settings.describe()


def test_api_key_and_base_url() -> None:
    settings = read_foundry_settings(
        {
            "ANTHROPIC_FOUNDRY_BASE_URL": "https://gw.example.com/foundry/anthropic/",
            "ANTHROPIC_FOUNDRY_RESOURCE": "ignored",
            "ANTHROPIC_FOUNDRY_API_KEY": API_KEY,
            "AZURE_TENANT_ID": DEFAULT_TENANT,
            "AZURE_CLIENT_ID": DEFAULT_CLIENT,
        }
    )
    assert settings.base_url == "https://gw.example.com/foundry/anthropic/" and settings.resource is None
    assert settings.auth_method == "api-key" and not settings.needs_oidc and settings.oidc_audience is None
    assert foundry.secrets(settings) == [API_KEY] and settings.is_gateway
    assert API_KEY not in settings.describe()


@pytest.mark.parametrize(
    ("env", "start"),
    [
        ({"ANTHROPIC_FOUNDRY_API_KEY": API_KEY}, "no Microsoft Foundry endpoint"),
        (
            {
                "ANTHROPIC_FOUNDRY_RESOURCE": "https://my-resource.services.ai.azure.com",
                "ANTHROPIC_FOUNDRY_API_KEY": "k",
            },
            "ANTHROPIC_FOUNDRY_RESOURCE='https://my-resource.services.ai.azure.com' is not a resource name",
        ),
        ({"ANTHROPIC_FOUNDRY_RESOURCE": "r"}, "no Microsoft Foundry credentials"),
        (
            {"ANTHROPIC_FOUNDRY_RESOURCE": "r", "AZURE_TENANT_ID": DEFAULT_TENANT},
            "AZURE_CLIENT_ID is not set",
        ),
        (
            {"ANTHROPIC_FOUNDRY_RESOURCE": "r", "AZURE_CLIENT_ID": DEFAULT_CLIENT},
            "AZURE_TENANT_ID is not set",
        ),
        (
            {
                "ANTHROPIC_FOUNDRY_RESOURCE": "r",
                "AZURE_CLIENT_ID": "my-app",
                "AZURE_TENANT_ID": DEFAULT_TENANT,
            },
            "AZURE_CLIENT_ID='my-app' is not an application (client) id",
        ),
        (
            {"ANTHROPIC_FOUNDRY_RESOURCE": "r", "CLAUDE_CODE_SKIP_FOUNDRY_AUTH": "1"},
            "CLAUDE_CODE_SKIP_FOUNDRY_AUTH is set but ANTHROPIC_FOUNDRY_API_KEY is not",
        ),
        (
            {"ANTHROPIC_FOUNDRY_BASE_URL": "my-resource.services.ai.azure.com"},
            "ANTHROPIC_FOUNDRY_BASE_URL must",
        ),
    ],
)
def test_misconfigured_settings_are_one_line(env: dict[str, str], start: str) -> None:
    with pytest.raises(CredentialsError) as err:
        read_foundry_settings(env)
    line = err.value.one_line()
    assert line.startswith(start) and "\n" not in line


# --- full agent turns ------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_github_oidc_agent_turn(
    tmp_path: Path, azure: FakeAzure, github: FakeOidcIssuer, clock: Clock, stream: bool
) -> None:
    azure.add_turns(READ_THEN_ANSWER)
    settings = read_foundry_settings(entra_env(azure))
    client = foundry.build_client(settings, ClientOptions(oidc=github_source(github), clock=clock))
    outcome, _ = run(spec_for(tmp_path, stream=stream), client)

    assert outcome.result["subtype"] == "success", outcome.result
    assert outcome.result["result"] == "notes.txt says the answer is 42."
    assert [r.audience for r in github.requests] == ["api://AzureADTokenExchange"]
    [token_request] = azure.token_requests
    assert token_request.path == f"/{DEFAULT_TENANT}/oauth2/v2.0/token"
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = token_request.body
    assert form["grant_type"] == "client_credentials" and form["client_id"] == DEFAULT_CLIENT
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert form["scope"] == "https://cognitiveservices.azure.com/.default"
    assertion = jwt_claims(form["client_assertion"])
    assert assertion["aud"] == "api://AzureADTokenExchange" and assertion["sub"] == GITHUB_SUBJECT
    calls = azure.message_requests
    assert len(calls) == 2
    for call in calls:
        assert bearer(call) == azure.tokens[0].token and "x-api-key" not in call.headers
        assert call.body["model"] == MODEL and bool(call.body.get("stream")) == stream


def test_gitlab_id_tokens_agent_turn(tmp_path: Path, clock: Clock) -> None:
    trusted = FederatedCredential(issuer=GITLAB_ISSUER, subject=GITLAB_SUBJECT)
    with (
        FakeAzure(READ_THEN_ANSWER, clock=clock, federated_credentials=[trusted]) as azure,
        FakeOidcIssuer(issuer=GITLAB_ISSUER, clock=clock, claims={"sub": GITLAB_SUBJECT}) as gitlab,
    ):
        env = {"GITLAB_CI": "true", "CLAUDE_OIDC_TOKEN": gitlab.mint("api://AzureADTokenExchange")}
        source = oidc.token_source(read_oidc_settings(env), clock=clock)
        client = foundry.build_client(
            read_foundry_settings(entra_env(azure)), ClientOptions(oidc=source, clock=clock)
        )
        outcome, _ = run(spec_for(tmp_path), client)
    assert outcome.result["subtype"] == "success", outcome.result
    assert jwt_claims(azure.token_requests[0].body["client_assertion"])["iss"] == GITLAB_ISSUER


@pytest.mark.parametrize("stream", [True, False])
def test_api_key_agent_turn(tmp_path: Path, clock: Clock, stream: bool) -> None:
    with FakeAzure(READ_THEN_ANSWER, clock=clock, api_key=API_KEY) as azure:
        settings = read_foundry_settings(
            {"ANTHROPIC_FOUNDRY_BASE_URL": azure.foundry_base_url, "ANTHROPIC_FOUNDRY_API_KEY": API_KEY}
        )
        outcome, _ = run(spec_for(tmp_path, stream=stream), foundry.build_client(settings, ClientOptions()))
    assert outcome.result["subtype"] == "success", outcome.result
    assert not azure.token_requests
    assert all(c.headers["x-api-key"] == API_KEY for c in azure.message_requests)


def test_entra_token_expiring_mid_run_is_refreshed(
    tmp_path: Path, github: FakeOidcIssuer, clock: Clock
) -> None:
    def first_turn(request: dict[str, Any]) -> list[Any]:
        clock.advance(1000)  # the 900 s Entra token expires while the tool runs
        return READ_THEN_ANSWER[0]

    with FakeAzure([first_turn, READ_THEN_ANSWER[1]], clock=clock, token_lifetime_s=900) as azure:
        client = foundry.build_client(
            read_foundry_settings(entra_env(azure)),
            ClientOptions(oidc=github_source(github), clock=clock),
        )
        outcome, _ = run(spec_for(tmp_path), client)
    assert outcome.result["subtype"] == "success", outcome.result
    assert len(github.requests) == 2 and len(azure.token_requests) == 2
    first, second = azure.tokens
    assert [bearer(c) for c in azure.message_requests] == [first.token, second.token]


def test_entra_token_is_cached_until_the_margin(
    azure: FakeAzure, github: FakeOidcIssuer, clock: Clock
) -> None:
    settings = read_foundry_settings(entra_env(azure))
    provider = foundry.EntraTokenProvider(settings, github_source(github), clock)
    first = provider()
    clock.advance(3000)
    assert provider() == first and provider.fetches == 1
    clock.advance(400)  # under five minutes left
    assert provider() != first and provider.fetches == 2


# --- misconfigurations, one line each ----------------------------------------------------------------


def test_no_matching_federated_credential(clock: Clock, github: FakeOidcIssuer) -> None:
    other = FederatedCredential(subject="repo:octo-org/octo-repo:environment:production")
    with (
        FakeAzure(clock=clock, federated_credentials=[other]) as azure,
        pytest.raises(CredentialsError) as err,
    ):
        foundry.build_client(
            read_foundry_settings(entra_env(azure)),
            ClientOptions(oidc=github_source(github), clock=clock),
        )
    line = err.value.one_line()
    assert line.startswith(f"Entra ID has no federated credential on app {DEFAULT_CLIENT}")
    assert "(AADSTS70021)" in line and f"subject {GITHUB_SUBJECT}" in line
    assert f"az ad app federated-credential create --id {DEFAULT_CLIENT}" in line
    assert f'"subject":"{GITHUB_SUBJECT}"' in line and '"audiences":["api://AzureADTokenExchange"]' in line
    assert "\n" not in line and azure.token_requests[0].status == 400


@pytest.mark.parametrize(
    ("override", "start"),
    [
        ({"AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555"}, "Entra ID has no application"),
        ({"AZURE_TENANT_ID": "00000000-0000-0000-0000-000000000000"}, "Entra ID does not know tenant"),
    ],
)
def test_unknown_app_or_tenant(
    azure: FakeAzure, github: FakeOidcIssuer, clock: Clock, override: dict[str, str], start: str
) -> None:
    with pytest.raises(CredentialsError) as err:
        foundry.build_client(
            read_foundry_settings(entra_env(azure, **override)),
            ClientOptions(oidc=github_source(github), clock=clock),
        )
    assert err.value.one_line().startswith(start)


def test_no_oidc_token_source(azure: FakeAzure) -> None:
    with pytest.raises(CredentialsError) as err:
        foundry.build_client(read_foundry_settings(entra_env(azure)), ClientOptions())
    assert "id-token: write" in err.value.one_line()


def test_model_not_deployed(tmp_path: Path, azure: FakeAzure, github: FakeOidcIssuer, clock: Clock) -> None:
    client = foundry.build_client(
        read_foundry_settings(entra_env(azure)), ClientOptions(oidc=github_source(github), clock=clock)
    )
    outcome, _ = run(spec_for(tmp_path, model="claude-haiku-4-5"), client)
    assert outcome.error is not None and outcome.error.status == 404
    [error] = outcome.result["errors"]
    assert "model deployment claude-haiku-4-5 does not exist in Microsoft Foundry resource" in error
    assert "ANTHROPIC_DEFAULT_*_MODEL" in error


def test_missing_role_assignment(tmp_path: Path, github: FakeOidcIssuer, clock: Clock) -> None:
    with FakeAzure(clock=clock, role_assigned=False) as azure:
        client = foundry.build_client(
            read_foundry_settings(entra_env(azure)),
            ClientOptions(oidc=github_source(github), clock=clock),
        )
        outcome, _ = run(spec_for(tmp_path), client)
    assert outcome.error is not None and outcome.error.status == 401
    assert "--role 'Cognitive Services User'" in outcome.result["errors"][0]


def test_wrong_api_key(tmp_path: Path, clock: Clock) -> None:
    with FakeAzure(clock=clock, api_key=API_KEY) as azure:
        settings = read_foundry_settings(
            {
                "ANTHROPIC_FOUNDRY_BASE_URL": azure.foundry_base_url,
                "ANTHROPIC_FOUNDRY_API_KEY": "wrong-key-123",
            }
        )
        outcome, _ = run(spec_for(tmp_path), foundry.build_client(settings, ClientOptions()))
    assert "Microsoft Foundry rejected ANTHROPIC_FOUNDRY_API_KEY (401" in outcome.result["errors"][0]


# --- secrets -----------------------------------------------------------------------------------------


def test_tokens_never_reach_the_transcript(
    tmp_path: Path, azure: FakeAzure, github: FakeOidcIssuer, clock: Clock
) -> None:
    def leaky(request: dict[str, Any]) -> list[Any]:
        return [text(f"Entra: {azure.tokens[0].token} OIDC: {github.issued[0][1]}")]

    azure.add_turn(leaky)
    redactor = Redactor()
    seen: list[str] = []

    def remember(value: str) -> None:
        seen.append(value)
        redactor.add(value)

    client = foundry.build_client(
        read_foundry_settings(entra_env(azure)),
        ClientOptions(oidc=github_source(github), clock=clock, on_secret=remember),
    )
    assert seen == [github.issued[0][1], azure.tokens[0].token]
    transcript = tmp_path / "transcript.jsonl"
    work = tmp_path / "work"
    work.mkdir()
    sink = EventSink("stream-json", io.StringIO(), io.StringIO(), redactor, transcript)
    run_agent(spec_for(work), client, sink)
    sink.close()
    written = transcript.read_text()
    assert "Entra: [REDACTED] OIDC: [REDACTED]" in written
    assert azure.tokens[0].token not in written and github.issued[0][1] not in written
