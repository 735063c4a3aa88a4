"""Google Vertex AI: settings, workload identity federation, refresh, errors, against loopback fakes.

The agent turns use the real ``AnthropicVertex`` client (through ``vertex.build_client``) and
google-auth's real ``identity_pool`` credentials, pointed at ``runner.testing.fake_google`` (STS,
IAM Credentials, Vertex AI) and fed by ``runner.testing.fake_oidc`` (GitHub's token endpoint) or a
GitLab ``id_tokens`` variable.
"""

from __future__ import annotations

import io
import json
import os
import time
import urllib.parse
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
from runner.providers import oidc, vertex
from runner.providers.base import ClientOptions
from runner.sanitize import Redactor
from runner.settings.oidc import read_oidc_settings
from runner.settings.vertex import read_vertex_settings, region_variable
from runner.testing.fake_google import (
    DEFAULT_PROVIDER,
    DEFAULT_SERVICE_ACCOUNT,
    FakeGoogleCloud,
    jwt_claims,
)
from runner.testing.fake_oidc import FakeOidcIssuer
from runner.testing.scripting import text, tool_use

MODEL = "claude-sonnet-4-5@20250929"
AUDIENCE = f"https://iam.googleapis.com/{DEFAULT_PROVIDER}"
GITLAB_ISSUER = "https://gitlab.com"


class Clock:
    """A clock the test moves: the client's refresh decisions and the fakes' expiries all read it."""

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
def gcp(clock: Clock) -> Iterator[FakeGoogleCloud]:
    with FakeGoogleCloud(clock=clock, issuer=oidc.GITHUB_ISSUER) as fake:
        yield fake


@pytest.fixture
def github(clock: Clock) -> Iterator[FakeOidcIssuer]:
    with FakeOidcIssuer(repository="octo-org/octo-repo", clock=clock) as issuer:
        yield issuer


def github_source(issuer: FakeOidcIssuer) -> oidc.GitHubActionsOidc:
    return oidc.GitHubActionsOidc(issuer.request_url, issuer.request_token)


def wif_env(gcp: FakeGoogleCloud, **extra: str) -> dict[str, str]:
    return {
        "CLOUD_ML_REGION": "us-east5",
        "ANTHROPIC_VERTEX_PROJECT_ID": "my-project",
        "GCP_WORKLOAD_IDENTITY_PROVIDER": DEFAULT_PROVIDER,
        "GCP_SERVICE_ACCOUNT": DEFAULT_SERVICE_ACCOUNT,
        "CLAUDE_RUNNER_GOOGLE_STS_URL": gcp.sts_url,
        "CLAUDE_RUNNER_GOOGLE_IAM_URL": gcp.iam_url,
        "ANTHROPIC_VERTEX_BASE_URL": gcp.vertex_base_url,
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


def test_settings_for_workload_identity() -> None:
    settings = read_vertex_settings(
        {
            "CLOUD_ML_REGION": "global",
            "ANTHROPIC_VERTEX_PROJECT_ID": "my-project",
            "GCP_WORKLOAD_IDENTITY_PROVIDER": DEFAULT_PROVIDER,
            "GCP_SERVICE_ACCOUNT": DEFAULT_SERVICE_ACCOUNT,
        }
    )
    assert settings.auth_method == "workload-identity" and settings.needs_oidc
    assert settings.oidc_audience == AUDIENCE
    assert settings.sts_audience == f"//iam.googleapis.com/{DEFAULT_PROVIDER}"
    assert settings.impersonation_url == (
        "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
        f"{DEFAULT_SERVICE_ACCOUNT}:generateAccessToken"
    )
    assert settings.sts_url == "https://sts.googleapis.com/v1/token"
    assert vertex.secrets(settings) == [] and not settings.is_gateway
    assert "us-east5" not in settings.describe() and "global" in settings.describe()
    adc = read_vertex_settings({"CLOUD_ML_REGION": "eu"})
    assert adc.auth_method == "application-default" and not adc.needs_oidc and adc.oidc_audience is None


def test_project_precedence_follows_claude_code() -> None:
    env = {"CLOUD_ML_REGION": "us-east5", "ANTHROPIC_VERTEX_PROJECT_ID": "vertex-proj"}
    assert read_vertex_settings(env).project_id == "vertex-proj"
    with_gcloud = read_vertex_settings({**env, "GCLOUD_PROJECT": "gcloud-proj"})
    assert (with_gcloud.project_id, with_gcloud.project_source) == ("gcloud-proj", "GCLOUD_PROJECT")
    both = read_vertex_settings({**env, "GCLOUD_PROJECT": "gcloud-proj", "GOOGLE_CLOUD_PROJECT": "gc-proj"})
    assert both.project_id == "gc-proj"


def test_missing_region_is_one_line() -> None:
    with pytest.raises(CredentialsError) as err:
        read_vertex_settings({"ANTHROPIC_VERTEX_PROJECT_ID": "my-project"})
    line = err.value.one_line()
    assert line.startswith("CLOUD_ML_REGION is not set") and "global" in line and "\n" not in line


def test_missing_project_is_one_line() -> None:
    with pytest.raises(CredentialsError) as err:
        read_vertex_settings(
            {
                "CLOUD_ML_REGION": "us-east5",
                "GCP_WORKLOAD_IDENTITY_PROVIDER": DEFAULT_PROVIDER,
                "GCP_SERVICE_ACCOUNT": DEFAULT_SERVICE_ACCOUNT,
            }
        )
    line = err.value.one_line()
    assert line.startswith("no Google Cloud project") and "ANTHROPIC_VERTEX_PROJECT_ID" in line


@pytest.mark.parametrize(
    "provider",
    [
        "projects/my-project/locations/global/workloadIdentityPools/ci-pool/providers/github",
        "ci-pool/github",
        "projects/123456789012/locations/us-east1/workloadIdentityPools/ci-pool/providers/github",
        "projects/123456789012/locations/global/workloadIdentityPools/ci-pool",
    ],
)
def test_malformed_workload_identity_provider(provider: str) -> None:
    with pytest.raises(CredentialsError) as err:
        read_vertex_settings(
            {
                "CLOUD_ML_REGION": "us-east5",
                "ANTHROPIC_VERTEX_PROJECT_ID": "p-1234",
                "GCP_WORKLOAD_IDENTITY_PROVIDER": provider,
                "GCP_SERVICE_ACCOUNT": DEFAULT_SERVICE_ACCOUNT,
            }
        )
    line = err.value.one_line()
    assert line.startswith("GCP_WORKLOAD_IDENTITY_PROVIDER=") and "project NUMBER" in line
    assert (
        "projects/<project NUMBER>/locations/global/workloadIdentityPools/<pool>/providers/<provider>" in line
    )


def test_full_resource_name_with_prefix_is_accepted() -> None:
    settings = read_vertex_settings(
        {
            "CLOUD_ML_REGION": "us-east5",
            "ANTHROPIC_VERTEX_PROJECT_ID": "my-project",
            "GCP_WORKLOAD_IDENTITY_PROVIDER": f"//iam.googleapis.com/{DEFAULT_PROVIDER}",
            "GCP_SERVICE_ACCOUNT": DEFAULT_SERVICE_ACCOUNT,
        }
    )
    assert settings.workload_identity_provider == DEFAULT_PROVIDER


@pytest.mark.parametrize(
    ("env", "start"),
    [
        (
            {"GCP_SERVICE_ACCOUNT": "claude-runner"},
            "GCP_SERVICE_ACCOUNT='claude-runner' is not a service account",
        ),
        ({"GCP_SERVICE_ACCOUNT": ""}, "GCP_SERVICE_ACCOUNT is not set"),
        ({"CLOUD_ML_REGION": "us east5"}, "CLOUD_ML_REGION='us east5' is not a Vertex AI region"),
        ({"VERTEX_REGION_CLAUDE_4_5_SONNET": "Europe West"}, "VERTEX_REGION_CLAUDE_4_5_SONNET="),
        ({"ANTHROPIC_VERTEX_BASE_URL": "aiplatform.googleapis.com"}, "ANTHROPIC_VERTEX_BASE_URL must"),
    ],
)
def test_other_misconfigurations(env: dict[str, str], start: str) -> None:
    base = {
        "CLOUD_ML_REGION": "us-east5",
        "ANTHROPIC_VERTEX_PROJECT_ID": "my-project",
        "GCP_WORKLOAD_IDENTITY_PROVIDER": DEFAULT_PROVIDER,
        "GCP_SERVICE_ACCOUNT": DEFAULT_SERVICE_ACCOUNT,
    }
    with pytest.raises(CredentialsError) as err:
        read_vertex_settings({**base, **env})
    assert err.value.one_line().startswith(start)


@pytest.mark.parametrize(
    ("model", "variable"),
    [
        ("claude-sonnet-4-5@20250929", "VERTEX_REGION_CLAUDE_4_5_SONNET"),
        ("claude-opus-4-8", "VERTEX_REGION_CLAUDE_4_8_OPUS"),
        ("claude-opus-4-8[1m]", "VERTEX_REGION_CLAUDE_4_8_OPUS"),
        ("claude-opus-4-1@20250805", "VERTEX_REGION_CLAUDE_4_1_OPUS"),
        ("claude-opus-4@20250514", "VERTEX_REGION_CLAUDE_4_0_OPUS"),
        ("claude-sonnet-4@20250514", "VERTEX_REGION_CLAUDE_4_0_SONNET"),
        ("claude-sonnet-4-6", "VERTEX_REGION_CLAUDE_4_6_SONNET"),
        ("claude-sonnet-5", "VERTEX_REGION_CLAUDE_5_SONNET"),
        ("claude-haiku-4-5@20251001", "VERTEX_REGION_CLAUDE_HAIKU_4_5"),
        ("claude-fable-5", "VERTEX_REGION_CLAUDE_FABLE_5"),
        ("claude-3-5-sonnet-v2@20241022", "VERTEX_REGION_CLAUDE_3_5_SONNET"),
        ("claude-3-7-sonnet@20250219", "VERTEX_REGION_CLAUDE_3_7_SONNET"),
        ("claude-3-5-haiku@20241022", "VERTEX_REGION_CLAUDE_3_5_HAIKU"),
        ("my-fine-tune", None),
    ],
)
def test_region_variable_names(model: str, variable: str | None) -> None:
    assert region_variable(model) == variable


def test_region_overrides_and_hosts() -> None:
    from anthropic._models import FinalRequestOptions

    settings = read_vertex_settings(
        {
            "CLOUD_ML_REGION": "global",
            "ANTHROPIC_VERTEX_PROJECT_ID": "my-project",
            "CLAUDE_CODE_SKIP_VERTEX_AUTH": "1",
            "VERTEX_REGION_CLAUDE_HAIKU_4_5": "europe-west1",
            "VERTEX_REGION_CLAUDE_4_8_OPUS": "us",
        }
    )
    assert settings.region_for("claude-haiku-4-5@20251001") == "europe-west1"
    assert settings.region_for(MODEL) == "global"
    client = vertex.build_client(settings, ClientOptions())

    def url(model: str, stream: bool = False) -> str:
        options = FinalRequestOptions.construct(  # type: ignore[no-untyped-call]
            method="post", url="/v1/messages", json_data={"model": model, "max_tokens": 1, "stream": stream}
        )
        return str(client._build_request(client._prepare_options(options)).url)

    base = "/v1/projects/my-project/locations"
    assert (
        url(MODEL)
        == f"https://aiplatform.googleapis.com{base}/global/publishers/anthropic/models/{MODEL}:rawPredict"
    )
    assert url("claude-haiku-4-5@20251001", True) == (
        f"https://europe-west1-aiplatform.googleapis.com{base}/europe-west1/publishers/anthropic/models/"
        "claude-haiku-4-5@20251001:streamRawPredict"
    )
    assert url("claude-opus-4-8").startswith(f"https://aiplatform.us.rep.googleapis.com{base}/us/")


# --- full agent turns ------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("region", ["us-east5", "global"])
def test_github_oidc_agent_turn(
    tmp_path: Path, gcp: FakeGoogleCloud, github: FakeOidcIssuer, clock: Clock, stream: bool, region: str
) -> None:
    gcp.add_turns(READ_THEN_ANSWER)
    settings = read_vertex_settings(wif_env(gcp, CLOUD_ML_REGION=region))
    client = vertex.build_client(settings, ClientOptions(oidc=github_source(github), clock=clock))
    outcome, events = run(spec_for(tmp_path, stream=stream), client)

    assert outcome.result["subtype"] == "success", outcome.result
    assert outcome.result["result"] == "notes.txt says the answer is 42."
    tool_results = [b for e in events if e["type"] == "user" for b in e["message"]["content"]]
    assert "the answer is 42" in json.dumps(tool_results)
    # GitHub's token endpoint was asked for the audience Google STS expects
    assert [r.audience for r in github.requests] == [AUDIENCE]
    # Google STS: an RFC 8693 token exchange, form-encoded as google-auth sends it
    [sts] = gcp.sts_requests
    assert sts.headers["content-type"] == "application/x-www-form-urlencoded"
    form = sts.body
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
    assert form["audience"] == f"//iam.googleapis.com/{DEFAULT_PROVIDER}"
    assert form["requested_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert form["subject_token_type"] == "urn:ietf:params:oauth:token-type:jwt"
    assert form["scope"] == "https://www.googleapis.com/auth/iam"
    assert jwt_claims(form["subject_token"])["aud"] == AUDIENCE
    # IAM Credentials: impersonation with the federated token
    [iam] = gcp.iam_requests
    assert iam.path == f"/v1/projects/-/serviceAccounts/{DEFAULT_SERVICE_ACCOUNT}:generateAccessToken"
    assert bearer(iam) == gcp.federated_tokens[0].token
    assert iam.body["scope"] == ["https://www.googleapis.com/auth/cloud-platform"]
    assert iam.body["lifetime"] == "3600s"
    # Vertex AI: both model calls with the service account's access token
    method = "streamRawPredict" if stream else "rawPredict"
    calls = gcp.message_requests
    assert len(calls) == 2
    for call in calls:
        assert call.path == (
            f"/v1/projects/my-project/locations/{region}/publishers/anthropic/models/{MODEL}:{method}"
        )
        assert bearer(call) == gcp.access_tokens[0].token
        assert "model" not in call.body and call.body["anthropic_version"]
        assert call.status == 200


def test_gitlab_id_tokens_agent_turn(tmp_path: Path, clock: Clock) -> None:
    project_only = FakeGoogleCloud(
        READ_THEN_ANSWER,
        clock=clock,
        issuer=GITLAB_ISSUER,
        attribute_condition=lambda claims: claims.get("project_path") == "group/project",
    )
    with (
        project_only as gcp,
        FakeOidcIssuer(issuer=GITLAB_ISSUER, clock=clock, claims={"project_path": "group/project"}) as gitlab,
    ):
        env = {"GITLAB_CI": "true", "CLAUDE_OIDC_TOKEN": gitlab.mint(AUDIENCE)}
        source = oidc.token_source(read_oidc_settings(env), clock=clock)
        assert isinstance(source, oidc.GitLabIdToken)
        client = vertex.build_client(
            read_vertex_settings(wif_env(gcp)), ClientOptions(oidc=source, clock=clock)
        )
        outcome, _ = run(spec_for(tmp_path), client)
    assert outcome.result["subtype"] == "success", outcome.result
    assert jwt_claims(gcp.sts_requests[0].body["subject_token"])["iss"] == GITLAB_ISSUER


def test_gitlab_id_token_for_another_audience_says_what_to_write(gcp: FakeGoogleCloud, clock: Clock) -> None:
    with FakeOidcIssuer(issuer=GITLAB_ISSUER, clock=clock) as gitlab:
        source = oidc.GitLabIdToken("CLAUDE_OIDC_TOKEN", gitlab.mint("https://gitlab.com"), clock=clock)
        with pytest.raises(CredentialsError) as err:
            vertex.build_client(read_vertex_settings(wif_env(gcp)), ClientOptions(oidc=source, clock=clock))
    assert AUDIENCE in err.value.one_line() and not gcp.sts_requests


def test_credentials_expiring_mid_run_are_refreshed(
    tmp_path: Path, github: FakeOidcIssuer, clock: Clock
) -> None:
    def first_turn(request: dict[str, Any]) -> list[Any]:
        clock.advance(1000)  # the 900 s access token expires while the tool runs
        return READ_THEN_ANSWER[0]

    with FakeGoogleCloud([first_turn, READ_THEN_ANSWER[1]], clock=clock, access_token_lifetime_s=900) as gcp:
        client = vertex.build_client(
            read_vertex_settings(wif_env(gcp)), ClientOptions(oidc=github_source(github), clock=clock)
        )
        outcome, _ = run(spec_for(tmp_path), client)

    assert outcome.result["subtype"] == "success", outcome.result
    assert len(github.requests) == 2  # a fresh OIDC token for the second exchange
    assert len(gcp.sts_requests) == 2 and len(gcp.iam_requests) == 2
    first, second = gcp.access_tokens
    calls = gcp.message_requests
    assert [bearer(c) for c in calls] == [first.token, second.token]
    assert second.expires_at == pytest.approx(clock() + 900)


def test_no_refresh_before_expiry(
    tmp_path: Path, gcp: FakeGoogleCloud, github: FakeOidcIssuer, clock: Clock
) -> None:
    gcp.add_turns(READ_THEN_ANSWER)
    client = vertex.build_client(
        read_vertex_settings(wif_env(gcp)), ClientOptions(oidc=github_source(github), clock=clock)
    )
    clock.advance(3000)  # 10 minutes left: still more than the refresh margin
    run(spec_for(tmp_path), client)
    assert len(gcp.iam_requests) == 1
    clock.advance(400)  # inside the margin: the next request mints a new token first
    gcp.add_turn("again")
    run(spec_for(tmp_path), client)
    assert len(gcp.iam_requests) == 2 and bearer(gcp.message_requests[-1]) == gcp.access_tokens[1].token


# --- misconfigurations, one line each ----------------------------------------------------------------


def test_wif_audience_mismatch(clock: Clock, github: FakeOidcIssuer) -> None:
    custom = FakeGoogleCloud(clock=clock, allowed_audiences=["https://gitlab.example.com"])
    with custom as gcp, pytest.raises(CredentialsError) as err:
        vertex.build_client(
            read_vertex_settings(wif_env(gcp)), ClientOptions(oidc=github_source(github), clock=clock)
        )
    line = err.value.one_line()
    assert line.startswith(
        f"Google STS rejected the OIDC token from GitHub Actions OIDC: its audience {AUDIENCE}"
    )
    assert f"--allowed-audiences={AUDIENCE}" in line and "\n" not in line
    assert gcp.sts_requests[0].status == 400 and not gcp.iam_requests


def test_attribute_condition_rejection(clock: Clock, github: FakeOidcIssuer) -> None:
    other_repo = FakeGoogleCloud(clock=clock, attribute_condition=lambda c: c["repository"] == "someone/else")
    with other_repo as gcp, pytest.raises(CredentialsError) as err:
        vertex.build_client(
            read_vertex_settings(wif_env(gcp)), ClientOptions(oidc=github_source(github), clock=clock)
        )
    line = err.value.one_line()
    assert "rejected by the attribute condition" in line and "assertion.repository=='OWNER/REPO'" in line


def test_unknown_pool_or_provider(clock: Clock, github: FakeOidcIssuer) -> None:
    other = DEFAULT_PROVIDER.replace("ci-pool", "other-pool")
    with FakeGoogleCloud(clock=clock, provider=other) as gcp, pytest.raises(CredentialsError) as err:
        vertex.build_client(
            read_vertex_settings(wif_env(gcp)), ClientOptions(oidc=github_source(github), clock=clock)
        )
    assert err.value.one_line().startswith(
        f"Google STS does not know workload identity provider {DEFAULT_PROVIDER}"
    )


def test_missing_workload_identity_user_binding(clock: Clock, github: FakeOidcIssuer) -> None:
    unbound = FakeGoogleCloud(clock=clock, service_accounts=["other@my-project.iam.gserviceaccount.com"])
    with unbound as gcp, pytest.raises(CredentialsError) as err:
        vertex.build_client(
            read_vertex_settings(wif_env(gcp)), ClientOptions(oidc=github_source(github), clock=clock)
        )
    line = err.value.one_line()
    assert line.startswith(f"the workload identity pool may not impersonate {DEFAULT_SERVICE_ACCOUNT}")
    assert "roles/iam.workloadIdentityUser" in line
    assert (
        "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/ci-pool/"
        in line
    )
    assert gcp.iam_requests[0].status == 403


def test_no_oidc_token_source(gcp: FakeGoogleCloud) -> None:
    with pytest.raises(CredentialsError) as err:
        vertex.build_client(read_vertex_settings(wif_env(gcp)), ClientOptions())
    assert "id-token: write" in err.value.one_line() and f"aud: {AUDIENCE}" in err.value.one_line()


def test_model_not_enabled(tmp_path: Path, clock: Clock, github: FakeOidcIssuer) -> None:
    with FakeGoogleCloud(clock=clock, enabled_models=[MODEL]) as gcp:
        client = vertex.build_client(
            read_vertex_settings(wif_env(gcp)), ClientOptions(oidc=github_source(github), clock=clock)
        )
        outcome, _ = run(spec_for(tmp_path, model="claude-opus-4-8"), client)
    assert outcome.error is not None and outcome.error.status == 404
    [error] = outcome.result["errors"]
    assert "model claude-opus-4-8 is not enabled for project my-project in region us-east5" in error
    assert "Model Garden" in error and "VERTEX_REGION_CLAUDE_4_8_OPUS" in error and "\n" not in error


def test_region_override_reaches_the_enabled_region(
    tmp_path: Path, clock: Clock, github: FakeOidcIssuer
) -> None:
    haiku = "claude-haiku-4-5@20251001"
    with FakeGoogleCloud(["Hi."], clock=clock, enabled_models={haiku: ["europe-west1"]}) as gcp:
        env = wif_env(gcp, VERTEX_REGION_CLAUDE_HAIKU_4_5="europe-west1")
        client = vertex.build_client(
            read_vertex_settings(env), ClientOptions(oidc=github_source(github), clock=clock)
        )
        outcome, _ = run(spec_for(tmp_path, model=haiku), client)
    assert outcome.result["subtype"] == "success", outcome.result
    assert "/locations/europe-west1/" in gcp.message_requests[0].path


def test_missing_vertex_permission(tmp_path: Path, clock: Clock, github: FakeOidcIssuer) -> None:
    with FakeGoogleCloud(clock=clock, aiplatform_users=[]) as gcp:
        client = vertex.build_client(
            read_vertex_settings(wif_env(gcp)), ClientOptions(oidc=github_source(github), clock=clock)
        )
        outcome, _ = run(spec_for(tmp_path), client)
    assert outcome.error is not None and outcome.error.status == 403
    assert "--role=roles/aiplatform.user" in outcome.result["errors"][0]


def test_skip_auth_sends_no_credentials(tmp_path: Path, gcp: FakeGoogleCloud) -> None:
    env = {
        "CLOUD_ML_REGION": "us-east5",
        "ANTHROPIC_VERTEX_PROJECT_ID": "my-project",
        "CLAUDE_CODE_SKIP_VERTEX_AUTH": "1",
        "ANTHROPIC_VERTEX_BASE_URL": gcp.vertex_base_url,
    }
    settings = read_vertex_settings(env)
    assert settings.auth_method == "gateway" and settings.is_gateway and not settings.needs_oidc
    outcome, _ = run(spec_for(tmp_path), vertex.build_client(settings, ClientOptions()))
    assert "authorization" not in gcp.message_requests[0].headers
    assert "Vertex AI rejected the access token (401 UNAUTHENTICATED)" in outcome.result["errors"][0]


# --- secrets -----------------------------------------------------------------------------------------


def test_tokens_never_reach_the_transcript(
    tmp_path: Path, gcp: FakeGoogleCloud, github: FakeOidcIssuer, clock: Clock
) -> None:
    def leaky(request: dict[str, Any]) -> list[Any]:
        minted = [t.token for t in gcp.access_tokens + gcp.federated_tokens] + [t for _, t in github.issued]
        return [text("My credentials: " + " ".join(minted))]

    gcp.add_turn(leaky)
    redactor = Redactor()
    client = vertex.build_client(
        read_vertex_settings(wif_env(gcp)),
        ClientOptions(oidc=github_source(github), clock=clock, on_secret=redactor.add),
    )
    work = tmp_path / "work"
    work.mkdir()
    transcript = tmp_path / "transcript.jsonl"
    sink = EventSink("stream-json", io.StringIO(), io.StringIO(), redactor, transcript)
    run_agent(spec_for(work), client, sink)
    sink.close()
    written = transcript.read_text()
    assert "My credentials: [REDACTED] [REDACTED] [REDACTED]" in written
    for token in [gcp.access_tokens[0].token, gcp.federated_tokens[0].token, github.issued[0][1]]:
        assert token not in written


# --- application default credentials ----------------------------------------------------------------


def test_application_default_credentials_from_a_credential_file(
    tmp_path: Path, gcp: FakeGoogleCloud, github: FakeOidcIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file google-github-actions/auth writes: an external_account config reading a token file."""
    token_file = tmp_path / "oidc-token"
    token_file.write_text(github.mint(AUDIENCE))
    config = {
        "type": "external_account",
        "audience": f"//iam.googleapis.com/{DEFAULT_PROVIDER}",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": gcp.sts_url,
        "service_account_impersonation_url": (
            f"{gcp.iam_url}/v1/projects/-/serviceAccounts/{urllib.parse.quote(DEFAULT_SERVICE_ACCOUNT)}"
            ":generateAccessToken"
        ),
        "credential_source": {"file": str(token_file)},
    }
    path = tmp_path / "gha-creds.json"
    path.write_text(json.dumps(config))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    for name in ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "CLOUDSDK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    gcp.add_turn("Hello from ADC.")
    env = {
        "CLOUD_ML_REGION": "us-east5",
        "ANTHROPIC_VERTEX_PROJECT_ID": "my-project",
        "ANTHROPIC_VERTEX_BASE_URL": gcp.vertex_base_url,
        "GOOGLE_APPLICATION_CREDENTIALS": str(path),
    }
    settings = read_vertex_settings(env)
    assert (
        settings.auth_method == "application-default"
        and settings.key_source == "GOOGLE_APPLICATION_CREDENTIALS"
    )
    work = tmp_path / "work"
    work.mkdir()
    outcome, _ = run(spec_for(work), vertex.build_client(settings, ClientOptions()))
    assert outcome.result["result"] == "Hello from ADC."
    assert bearer(gcp.message_requests[0]) == gcp.access_tokens[0].token


def test_application_default_credentials_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    settings = read_vertex_settings({"CLOUD_ML_REGION": "us-east5", "ANTHROPIC_VERTEX_PROJECT_ID": "p-1234"})
    with pytest.raises(CredentialsError) as err:
        vertex.build_client(settings, ClientOptions())
    line = err.value.one_line()
    assert line.startswith("no Google credentials for Vertex AI") and "GCP_WORKLOAD_IDENTITY_PROVIDER" in line
