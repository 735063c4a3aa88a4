"""Amazon Bedrock: settings, STS web identity, SigV4, refresh, errors, all against loopback fakes.

The agent turns use the real ``AnthropicBedrock`` client (through ``bedrock.build_client``) and boto3's
real STS client, both pointed at ``runner.testing.fake_aws``, which checks the web identity token
and recomputes every SigV4 signature from the secret it issued.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from runner.agent import permissions
from runner.agent.env import scrub_env
from runner.agent.loop import AgentSpec, run_agent
from runner.agent.tools import build_tools
from runner.agent.tools.base import Tool, ToolContext, ToolResult
from runner.agent.transcript import EventSink
from runner.errors import CredentialsError, UsageError
from runner.providers import bedrock
from runner.providers.base import ClientOptions
from runner.providers.oidc import GitHubActionsOidc, GitLabIdToken
from runner.sanitize import Redactor
from runner.settings.bedrock import check_role_arn, read_bedrock_settings
from runner.testing.fake_aws import (
    FakeAWS,
    decode_event_stream,
    encode_event_message,
    make_jwt,
)
from runner.testing.fake_oidc import FakeOidcIssuer
from runner.testing.scripting import Turn, text, tool_use

ROLE = "arn:aws:iam::123456789012:role/claude-runner"
GITHUB_ISS = "https://token.actions.githubusercontent.com"
GITLAB_ISS = "https://gitlab.com"
GITHUB_SUB = "repo:octo-org/octo-repo:ref:refs/heads/main"
GITLAB_SUB = "project_path:mygroup/myproject:ref_type:branch:ref:main"
MODEL = "us.anthropic.claude-sonnet-4-6"
PROFILE_ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"
AMBIENT_KEY, AMBIENT_SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


class Clock:
    """A clock the test moves: the client's refresh decisions and the fake's expiries both read it."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class GitHubTokens:
    """GitHub Actions' OIDC source (the runner's own) against the loopback token endpoint."""

    def __init__(
        self, clock: Clock, repository: str = "octo-org/octo-repo", ref: str = "refs/heads/main"
    ) -> None:
        self.issuer = FakeOidcIssuer(repository=repository, ref=ref, clock=clock).start()
        self.source = GitHubActionsOidc(self.issuer.request_url, self.issuer.request_token)
        self.name = self.source.name
        _ISSUERS.append(self.issuer)

    def token(self, audience: str) -> str:
        return self.source.token(audience)

    @property
    def issued(self) -> list[str]:
        return [token for _, token in self.issuer.issued]

    @property
    def audiences(self) -> list[str]:
        return [aud for aud, _ in self.issuer.issued]


_ISSUERS: list[FakeOidcIssuer] = []


@pytest.fixture(autouse=True)
def _stop_issuers() -> Iterator[None]:
    yield
    while _ISSUERS:
        _ISSUERS.pop().stop()


class StandInTokens:
    """A token source that hands out whatever token it is given (to reach STS's own checks)."""

    name = "test token source"

    def __init__(self, value: str) -> None:
        self.value = value

    def token(self, audience: str) -> str:
        return self.value


def gitlab_token(clock: Clock, aud: str = "sts.amazonaws.com", sub: str = GITLAB_SUB) -> str:
    now = int(clock())
    claims = {
        "iss": GITLAB_ISS,
        "aud": aud,
        "sub": sub,
        "project_path": "mygroup/myproject",
        "ref_type": "branch",
        "ref": "main",
        "iat": now,
        "exp": now + 3600,
    }
    return make_jwt(claims)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def aws(clock: Clock) -> Iterator[FakeAWS]:
    fake = FakeAWS(
        role_arn=ROLE,
        trusted_subs=["repo:octo-org/octo-repo:*", "project_path:mygroup/myproject:ref_type:branch:ref:main"],
        issuers=[GITHUB_ISS, GITLAB_ISS],
        static_keys={AMBIENT_KEY: AMBIENT_SECRET},
        api_keys=["bedrock-api-key-ABSKQmVkcm9ja0FQSUtleS0"],
        disabled_models=["anthropic.claude-opus-4-8"],
        unknown_models=["us.anthropic.claude-sonnet-9"],
        profile_only_models=["anthropic.claude-sonnet-4-6"],
        clock=clock,
    )
    with fake:
        yield fake


def role_env(aws: FakeAWS, **extra: str) -> dict[str, str]:
    """A job's environment for the role path, with ambient keys present too (they must not be used)."""
    return {
        "AWS_REGION": "us-east-1",
        "AWS_ROLE_TO_ASSUME": ROLE,
        "AWS_ENDPOINT_URL_STS": aws.url,
        "ANTHROPIC_BEDROCK_BASE_URL": aws.url,
        "AWS_ACCESS_KEY_ID": AMBIENT_KEY,
        "AWS_SECRET_ACCESS_KEY": AMBIENT_SECRET,
        "GITHUB_RUN_ID": "4242",
        **extra,
    }


def spec_for(
    tmp_path: Path, *, model: str = MODEL, stream: bool = True, tools: list[Tool] | None = None
) -> AgentSpec:
    (tmp_path / "notes.txt").write_text("the answer is 42\n")
    policy = permissions.PermissionPolicy(cwd=tmp_path, home=tmp_path)
    return AgentSpec(
        prompt="What does notes.txt say?",
        model=model,
        system_prompt="You are a test agent.",
        tools=tools if tools is not None else build_tools(["Read"]),
        policy=policy,
        workspace=ToolContext(cwd=tmp_path, subprocess_env=scrub_env(os.environ)),
        stream=stream,
        api_timeout_s=30,
    )


READ_THEN_ANSWER = [
    [text("Let me look."), tool_use("Read", {"file_path": "notes.txt"})],
    [text("notes.txt says the answer is 42.")],
]


def run(spec: AgentSpec, client: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    outcome = run_agent(spec, client, events.append)
    return outcome.result, events


# --- settings --------------------------------------------------------------------------------------


def test_settings_for_the_role_path() -> None:
    settings = read_bedrock_settings(
        {"AWS_REGION": "eu-central-1", "AWS_ROLE_TO_ASSUME": ROLE, "CI_JOB_ID": "77"}
    )
    assert settings.auth_method == "web-identity"
    assert settings.needs_oidc and settings.oidc_audience == "sts.amazonaws.com"
    assert settings.session_name == "claude-runner-77"
    assert settings.duration_s == 3600
    assert settings.endpoint == "https://bedrock-runtime.eu-central-1.amazonaws.com"


def test_settings_other_paths() -> None:
    ambient = read_bedrock_settings({"AWS_DEFAULT_REGION": "us-west-2"})
    assert ambient.auth_method == "default-chain" and not ambient.needs_oidc
    assert ambient.region == "us-west-2"
    bearer = read_bedrock_settings(
        {"AWS_REGION": "us-east-1", "AWS_BEARER_TOKEN_BEDROCK": "bedrock-key-1234"}
    )
    assert bearer.auth_method == "api-key" and not bearer.needs_oidc
    assert bedrock.secrets(bearer) == ["bedrock-key-1234"]
    assert "bedrock-key-1234" not in repr(bearer)
    gateway = read_bedrock_settings(
        {
            "AWS_REGION": "us-east-1",
            "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1",
            "ANTHROPIC_BEDROCK_BASE_URL": "https://gw.example.com/bedrock/",
        }
    )
    assert gateway.auth_method == "gateway" and gateway.endpoint == "https://gw.example.com/bedrock"
    china = read_bedrock_settings(
        {"AWS_REGION": "cn-north-1", "AWS_ROLE_TO_ASSUME": ROLE.replace("aws", "aws-cn", 1)}
    )
    assert china.endpoint == "https://bedrock-runtime.cn-north-1.amazonaws.com.cn"


def test_missing_region_is_one_line() -> None:
    with pytest.raises(CredentialsError) as err:
        read_bedrock_settings({"AWS_ROLE_TO_ASSUME": ROLE})
    line = err.value.one_line()
    assert line.startswith("AWS_REGION is not set") and "aws_region" in line and "\n" not in line


@pytest.mark.parametrize(
    ("arn", "hint"),
    [
        ("claude-runner", "a role name alone"),
        ("arn:aws:iam::12345678901:role/claude-runner", "12 digits"),
        ("arn:aws:sts::123456789012:assumed-role/claude-runner/session", "session ARN"),
        ("arn:aws:iam::123456789012:user/alice", "arn:aws:iam::<12-digit account id>:role/<role name>"),
        ("arn:aws:iam::123456789012:role/", "arn:aws:iam::<12-digit account id>:role/<role name>"),
    ],
)
def test_malformed_role_arn_shows_the_expected_shape(arn: str, hint: str) -> None:
    with pytest.raises(CredentialsError) as err:
        read_bedrock_settings({"AWS_REGION": "us-east-1", "AWS_ROLE_TO_ASSUME": arn})
    line = err.value.one_line()
    assert line.startswith("AWS_ROLE_TO_ASSUME is not a valid IAM role ARN") and hint in line
    assert "arn:aws:iam::<12-digit account id>:role/<role name>" in line


@pytest.mark.parametrize(
    "arn",
    [
        ROLE,
        "arn:aws:iam::123456789012:role/ci/bedrock/claude-runner",
        "arn:aws-us-gov:iam::123456789012:role/x_y",
    ],
)
def test_valid_role_arns(arn: str) -> None:
    check_role_arn(arn)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"AWS_REGION": "us-east-1a"}, "not an AWS region name"),
        (
            {"AWS_REGION": "us-east-1", "AWS_ROLE_TO_ASSUME": ROLE, "AWS_BEARER_TOKEN_BEDROCK": "k" * 20},
            "both",
        ),
        ({"AWS_REGION": "us-east-1", "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "true"}, "ANTHROPIC_BEDROCK_BASE_URL"),
        ({"AWS_REGION": "us-east-1", "ANTHROPIC_BEDROCK_BASE_URL": "bedrock.local"}, "http://"),
        ({"AWS_REGION": "us-east-1", "AWS_ROLE_DURATION_SECONDS": "60"}, "900"),
        ({"AWS_REGION": "us-east-1", "AWS_ROLE_SESSION_NAME": "has space"}, "session name"),
        ({"AWS_REGION": "us-east-1", "ANTHROPIC_BEDROCK_SERVICE_TIER": "gold"}, "flex"),
    ],
)
def test_other_misconfigurations(env: dict[str, str], needle: str) -> None:
    with pytest.raises(UsageError) as err:
        read_bedrock_settings(env)
    assert needle in err.value.one_line()


def test_half_an_access_key_pair() -> None:
    with pytest.raises(CredentialsError, match="AWS_SECRET_ACCESS_KEY is not set"):
        read_bedrock_settings({"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": AMBIENT_KEY})


# --- the fake's wire formats -----------------------------------------------------------------------


def test_event_stream_frames_decode_with_botocore() -> None:
    from botocore.eventstream import EventStreamBuffer

    frames = encode_event_message({":event-type": "chunk", ":message-type": "event"}, b'{"bytes":"e30="}')
    frames += encode_event_message({":event-type": "chunk"}, b"")
    buffer = EventStreamBuffer()
    buffer.add_data(frames[:7])  # split anywhere: the decoder waits for whole messages
    buffer.add_data(frames[7:])
    decoded = list(buffer)
    assert [m.headers for m in decoded] == [
        {":event-type": "chunk", ":message-type": "event"},
        {":event-type": "chunk"},
    ]
    assert decoded[0].payload == b'{"bytes":"e30="}'
    assert [h for h, _ in decode_event_stream(frames)] == [m.headers for m in decoded]
    with pytest.raises(ValueError, match="CRC"):
        decode_event_stream(frames[:-1] + bytes([frames[-1] ^ 1]))


def test_boto3_sends_sts_the_query_protocol_unsigned(aws: FakeAWS, clock: Clock) -> None:
    settings = read_bedrock_settings(role_env(aws, AWS_ROLE_DURATION_SECONDS="1800"))
    tokens = GitHubTokens(clock)
    bedrock.build_client(settings, ClientOptions(oidc=tokens, clock=clock))
    (call,) = aws.sts_requests
    assert call.action == "AssumeRoleWithWebIdentity" and call.status == 200
    assert call.params == {
        "Action": "AssumeRoleWithWebIdentity",
        "Version": "2011-06-15",
        "RoleArn": ROLE,
        "RoleSessionName": "claude-runner-4242",
        "WebIdentityToken": tokens.issued[0],
        "DurationSeconds": "1800",
    }
    assert call.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert "authorization" not in call.headers  # the web identity token is the credential
    assert tokens.audiences == ["sts.amazonaws.com"]


# --- full agent turns ------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "invoke"])
def test_full_turn_with_github_oidc_signs_with_the_assumed_role(
    aws: FakeAWS, clock: Clock, tmp_path: Path, stream: bool
) -> None:
    aws.add_turns(READ_THEN_ANSWER)
    settings = read_bedrock_settings(role_env(aws))
    client = bedrock.build_client(settings, ClientOptions(oidc=GitHubTokens(clock), clock=clock))
    result, events = run(spec_for(tmp_path, stream=stream), client)

    assert result["subtype"] == "success", result
    assert result["result"] == "notes.txt says the answer is 42." and result["num_turns"] == 2
    (issued,) = aws.issued
    assert issued.role_arn == ROLE and issued.subject == GITHUB_SUB
    calls = aws.runtime_requests
    operation = "invoke-with-response-stream" if stream else "invoke"
    assert [r.path for r in calls] == [f"/model/{MODEL}/{operation}"] * 2
    assert all(r.status == 200 and r.auth == "sigv4" and r.signature_valid for r in calls)
    assert {r.access_key_id for r in calls} == {issued.access_key_id}  # not the ambient AKIA key
    assert issued.access_key_id.startswith("ASIA")
    assert all(r.headers["x-amz-security-token"] == issued.session_token for r in calls)
    # Bedrock's body: the Messages request less model and stream, with Bedrock's version.
    body = calls[1].body
    assert body["anthropic_version"] == "bedrock-2023-05-31"
    assert "model" not in body and "stream" not in body
    tool_results = [b for b in body["messages"][-1]["content"] if b["type"] == "tool_result"]
    assert "the answer is 42" in json.dumps(tool_results)
    assistant = [e for e in events if e["type"] == "assistant"]
    assert assistant[0]["message"]["content"][1]["name"] == "Read"


def test_full_turn_with_a_gitlab_id_token(aws: FakeAWS, clock: Clock, tmp_path: Path) -> None:
    aws.add_turns(READ_THEN_ANSWER)
    env = role_env(aws, CI_JOB_ID="991", CLAUDE_OIDC_TOKEN=gitlab_token(clock))
    del env["GITHUB_RUN_ID"]
    settings = read_bedrock_settings(env)
    source = GitLabIdToken("CLAUDE_OIDC_TOKEN", env["CLAUDE_OIDC_TOKEN"], clock=clock)
    client = bedrock.build_client(settings, ClientOptions(oidc=source, clock=clock))
    result, _ = run(spec_for(tmp_path), client)

    assert result["subtype"] == "success", result
    (sts,) = aws.sts_requests
    assert sts.claims is not None and sts.claims["iss"] == GITLAB_ISS and sts.claims["sub"] == GITLAB_SUB
    assert sts.params["RoleSessionName"] == "claude-runner-991"
    assert {r.access_key_id for r in aws.runtime_requests} == {aws.issued[0].access_key_id}


def test_credentials_are_refreshed_mid_run(aws: FakeAWS, clock: Clock, tmp_path: Path) -> None:
    """Short-lived keys; the model's first turn "takes" past their expiry; the second call re-assumes."""

    def slow_first_turn(request: dict[str, Any]) -> Turn:
        clock.advance(1000)  # the 900-second keys have now expired
        return Turn([text("Reading."), tool_use("Read", {"file_path": "notes.txt"})])

    aws.add_turns([slow_first_turn, [text("It says 42.")]])
    settings = read_bedrock_settings(role_env(aws, AWS_ROLE_DURATION_SECONDS="900"))
    tokens = GitHubTokens(clock)
    client = bedrock.build_client(settings, ClientOptions(oidc=tokens, clock=clock))
    result, _ = run(spec_for(tmp_path), client)

    assert result["subtype"] == "success", result
    assert len(aws.sts_requests) == 2 and len(tokens.issued) == 2  # a fresh OIDC token each time
    first, second = aws.issued
    assert [r.access_key_id for r in aws.runtime_requests] == [first.access_key_id, second.access_key_id]
    assert all(r.status == 200 for r in aws.runtime_requests)


def test_keys_in_their_last_minutes_are_refreshed_before_use(
    aws: FakeAWS, clock: Clock, tmp_path: Path
) -> None:
    aws.add_turns([[text("one")], [text("two")], [text("three")]])
    settings = read_bedrock_settings(role_env(aws, AWS_ROLE_DURATION_SECONDS="900"))
    client = bedrock.build_client(settings, ClientOptions(oidc=GitHubTokens(clock), clock=clock))
    ask = {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    client.messages.create(**ask)
    clock.advance(500)  # 400 s left: still fine
    client.messages.create(**ask)
    assert len(aws.sts_requests) == 1
    clock.advance(250)  # 150 s left: inside the advisory window, refreshed before signing
    client.messages.create(**ask)
    assert len(aws.sts_requests) == 2
    keys = [r.access_key_id for r in aws.runtime_requests]
    assert keys[0] == keys[1] != keys[2]


def test_a_failed_advisory_refresh_keeps_the_current_keys(aws: FakeAWS, clock: Clock) -> None:
    aws.add_turns([[text("one")], [text("two")]])
    settings = read_bedrock_settings(role_env(aws, AWS_ROLE_DURATION_SECONDS="900"))
    client = bedrock.build_client(settings, ClientOptions(oidc=GitHubTokens(clock), clock=clock))
    ask = {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    client.messages.create(**ask)
    aws.trusted_subs = ["repo:someone-else/*"]  # STS now refuses
    clock.advance(700)  # 200 s left: a refresh is due but not yet required
    client.messages.create(**ask)
    assert [r.status for r in aws.sts_requests] == [200, 403]
    assert len({r.access_key_id for r in aws.runtime_requests}) == 1


def test_a_refused_refresh_of_expiring_keys_fails_with_the_sts_message(aws: FakeAWS, clock: Clock) -> None:
    aws.add_turns([[text("one")], [text("two")]])
    settings = read_bedrock_settings(role_env(aws, AWS_ROLE_DURATION_SECONDS="900"))
    client = bedrock.build_client(settings, ClientOptions(oidc=GitHubTokens(clock), clock=clock))
    ask = {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    client.messages.create(**ask)
    aws.trusted_subs = ["repo:someone-else/*"]
    clock.advance(820)  # 80 s left: a refresh is required, and STS refuses it
    with pytest.raises(CredentialsError, match="STS AccessDenied"):
        client.messages.create(**ask)
    assert len(aws.runtime_requests) == 1  # nothing was sent with keys about to expire


def test_copies_of_the_client_keep_refreshing_credentials(aws: FakeAWS, clock: Clock) -> None:
    aws.add_turns([[text("one")]])
    settings = read_bedrock_settings(role_env(aws))
    client = bedrock.build_client(settings, ClientOptions(oidc=GitHubTokens(clock), clock=clock))
    copy = client.with_options(timeout=20)
    copy.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    assert aws.runtime_requests[0].access_key_id == aws.issued[0].access_key_id


# --- model ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "raw_segment"),
    [
        ("us.anthropic.claude-sonnet-4-6", "us.anthropic.claude-sonnet-4-6"),
        ("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        (PROFILE_ARN, PROFILE_ARN.replace("/", "%2F")),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-8",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile%2Fus.anthropic.claude-opus-4-8",
        ),
    ],
)
def test_model_ids_reach_the_right_path(
    aws: FakeAWS, clock: Clock, tmp_path: Path, model: str, raw_segment: str
) -> None:
    aws.add_turns([[text("ok")]])
    settings = read_bedrock_settings(role_env(aws))
    client = bedrock.build_client(settings, ClientOptions(oidc=GitHubTokens(clock), clock=clock))
    result, _ = run(spec_for(tmp_path, model=model), client)
    assert result["subtype"] == "success", result
    (call,) = aws.runtime_requests
    assert call.path == f"/model/{raw_segment}/invoke-with-response-stream"
    assert call.model_id == model and call.signature_valid


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "needles"),
    [
        (
            "anthropic.claude-opus-4-8",
            ["403", "AccessDeniedException", "You don't have access to the model", "Model access"],
        ),
        ("us.anthropic.claude-sonnet-9", ["400", "ValidationException", "model identifier is invalid"]),
        ("anthropic.claude-sonnet-4-6", ["on-demand throughput", "inference profile id"]),
    ],
)
def test_model_errors_end_the_run_with_bedrocks_message_and_a_fix(
    aws: FakeAWS, clock: Clock, tmp_path: Path, model: str, needles: list[str]
) -> None:
    settings = read_bedrock_settings(role_env(aws))
    client = bedrock.build_client(settings, ClientOptions(oidc=GitHubTokens(clock), clock=clock))
    result, _ = run(spec_for(tmp_path, model=model), client)
    assert result["subtype"] == "error_during_execution" and result["is_error"]
    (error,) = result["errors"]
    assert "\n" not in error and error.startswith("model API error:")
    for needle in needles:
        assert needle in error, error


def test_sts_access_denied_explains_the_trust_policy(aws: FakeAWS, clock: Clock) -> None:
    settings = read_bedrock_settings(role_env(aws))
    tokens = GitHubTokens(clock, repository="octo-org/other-repo", ref="refs/pull/7/merge")
    with pytest.raises(CredentialsError) as err:
        bedrock.build_client(settings, ClientOptions(oidc=tokens, clock=clock))
    line = err.value.one_line()
    assert line.startswith("STS AccessDenied: not authorized to assume " + ROLE)
    assert "sub=repo:octo-org/other-repo:ref:refs/pull/7/merge" in line
    assert (
        '"token.actions.githubusercontent.com:sub"' in line
        and '"token.actions.githubusercontent.com:aud"' in line
    )
    assert tokens.issued[0] not in line  # the token itself is never shown
    assert aws.runtime_requests == []


def test_a_role_not_trusting_the_job_is_access_denied(aws: FakeAWS, clock: Clock) -> None:
    other_role = "arn:aws:iam::123456789012:role/someone-elses-role"
    settings = read_bedrock_settings(role_env(aws, AWS_ROLE_TO_ASSUME=other_role))
    with pytest.raises(CredentialsError, match=r"STS AccessDenied.*someone-elses-role"):
        bedrock.build_client(settings, ClientOptions(oidc=GitHubTokens(clock), clock=clock))


@pytest.mark.parametrize(
    ("tokens", "needle", "fix"),
    [
        (
            "wrong-aud",
            "Incorrect token audience",
            "add sts.amazonaws.com to the IAM OIDC provider's audiences",
        ),
        ("unknown-issuer", "No OpenIDConnect provider found", "create the IAM OIDC identity provider for"),
        ("expired", "OIDC token has expired", "clock"),
        ("not-a-jwt", "not a valid JWT", "create the IAM OIDC identity provider"),
    ],
)
def test_rejected_oidc_tokens(aws: FakeAWS, clock: Clock, tokens: str, needle: str, fix: str) -> None:
    env = role_env(aws)
    value = {
        "wrong-aud": gitlab_token(clock, aud="https://gitlab.com"),
        "unknown-issuer": make_jwt(
            {"iss": "https://gitlab.example.org", "aud": "sts.amazonaws.com", "sub": "x"}
        ),
        "expired": make_jwt(
            {"iss": GITLAB_ISS, "aud": "sts.amazonaws.com", "sub": GITLAB_SUB, "exp": int(clock()) - 10}
        ),
        "not-a-jwt": "definitely-not-a-jwt",
    }[tokens]
    env["CLAUDE_OIDC_TOKEN"] = value
    settings = read_bedrock_settings(env)
    with pytest.raises(CredentialsError) as err:
        bedrock.build_client(settings, ClientOptions(oidc=StandInTokens(value), clock=clock))
    line = err.value.one_line()
    assert needle in line and fix in line and "\n" not in line


def test_session_longer_than_the_role_allows(aws: FakeAWS, clock: Clock) -> None:
    settings = read_bedrock_settings(role_env(aws, AWS_ROLE_DURATION_SECONDS="7200"))
    with pytest.raises(CredentialsError) as err:
        bedrock.build_client(settings, ClientOptions(oidc=GitHubTokens(clock), clock=clock))
    line = err.value.one_line()
    assert "MaxSessionDuration" in line and "lower AWS_ROLE_DURATION_SECONDS" in line


def test_role_without_an_oidc_source(aws: FakeAWS) -> None:
    settings = read_bedrock_settings(role_env(aws))
    with pytest.raises(CredentialsError) as err:
        bedrock.build_client(settings, ClientOptions(oidc=None))
    line = err.value.one_line()
    assert "no OIDC token source was found" in line
    assert "id-token: write" in line and "id_tokens: CLAUDE_OIDC_TOKEN" in line
    assert aws.sts_requests == []


def test_unreachable_sts(clock: Clock) -> None:
    env = {
        "AWS_REGION": "us-east-1",
        "AWS_ROLE_TO_ASSUME": ROLE,
        "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9",
    }
    with pytest.raises(CredentialsError, match=re.escape("could not reach http://127.0.0.1:9")):
        bedrock.build_client(read_bedrock_settings(env), ClientOptions(oidc=GitHubTokens(clock), clock=clock))


def test_explain_error_shapes() -> None:
    headers = {"x-amzn-errortype": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"}
    assert bedrock.explain_error(429, {"message": "Too many requests"}, headers) == (
        "ThrottlingException: Too many requests"
    )
    assert bedrock.explain_error(400, {"type": "error", "error": {"message": "x"}}, {}) is None
    assert bedrock.explain_error(500, "text", {}) is None


# --- other auth paths ------------------------------------------------------------------------------


def test_bearer_token_path(aws: FakeAWS, tmp_path: Path) -> None:
    aws.add_turns(READ_THEN_ANSWER)
    env = {
        "AWS_REGION": "us-east-1",
        "AWS_BEARER_TOKEN_BEDROCK": "bedrock-api-key-ABSKQmVkcm9ja0FQSUtleS0",
        "ANTHROPIC_BEDROCK_BASE_URL": aws.url,
    }
    client = bedrock.build_client(read_bedrock_settings(env), ClientOptions())
    result, _ = run(spec_for(tmp_path, stream=False), client)
    assert result["subtype"] == "success", result
    assert all(r.auth == "bearer" for r in aws.runtime_requests)
    assert (
        aws.runtime_requests[0].headers["authorization"] == "Bearer bedrock-api-key-ABSKQmVkcm9ja0FQSUtleS0"
    )
    assert aws.sts_requests == []


def test_a_wrong_bearer_token(aws: FakeAWS, tmp_path: Path) -> None:
    env = {
        "AWS_REGION": "us-east-1",
        "AWS_BEARER_TOKEN_BEDROCK": "not-the-key-at-all",
        "ANTHROPIC_BEDROCK_BASE_URL": aws.url,
    }
    client = bedrock.build_client(read_bedrock_settings(env), ClientOptions())
    result, _ = run(spec_for(tmp_path), client)
    assert "403" in result["errors"][0] and "API Key is valid" in result["errors"][0]


def test_ambient_keys_path(aws: FakeAWS, tmp_path: Path) -> None:
    aws.add_turns(READ_THEN_ANSWER)
    env = {
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": AMBIENT_KEY,
        "AWS_SECRET_ACCESS_KEY": AMBIENT_SECRET,
        "ANTHROPIC_BEDROCK_BASE_URL": aws.url,
    }
    seen: list[str] = []
    client = bedrock.build_client(read_bedrock_settings(env), ClientOptions(on_secret=seen.append))
    result, _ = run(spec_for(tmp_path), client)
    assert result["subtype"] == "success", result
    assert {r.access_key_id for r in aws.runtime_requests} == {AMBIENT_KEY}
    assert all(r.signature_valid for r in aws.runtime_requests)
    assert AMBIENT_SECRET in seen


def test_wrong_ambient_secret_is_an_invalid_signature(aws: FakeAWS, tmp_path: Path) -> None:
    env = {
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": AMBIENT_KEY,
        "AWS_SECRET_ACCESS_KEY": "not-the-secret-for-this-key",
        "ANTHROPIC_BEDROCK_BASE_URL": aws.url,
    }
    client = bedrock.build_client(read_bedrock_settings(env), ClientOptions())
    result, _ = run(spec_for(tmp_path), client)
    assert "InvalidSignatureException" in result["errors"][0]
    assert aws.runtime_requests[0].signature_valid is False


def test_gateway_path_sends_no_aws_auth(clock: Clock, tmp_path: Path) -> None:
    with FakeAWS([[text("via the gateway")]], require_auth=False, clock=clock) as gateway:
        env = {
            "AWS_REGION": "us-east-1",
            "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1",
            "ANTHROPIC_BEDROCK_BASE_URL": gateway.url,
            "ANTHROPIC_BEDROCK_SERVICE_TIER": "flex",
        }
        client = bedrock.build_client(read_bedrock_settings(env), ClientOptions(headers={"x-gw": "team-a"}))
        result, _ = run(spec_for(tmp_path), client)
        assert result["result"] == "via the gateway"
        (call,) = gateway.runtime_requests
        assert call.auth == "none" and "authorization" not in call.headers
        assert call.headers["x-amzn-bedrock-service-tier"] == "flex" and call.headers["x-gw"] == "team-a"


def test_unsigned_requests_are_refused_by_the_runtime(aws: FakeAWS, tmp_path: Path) -> None:
    env = {
        "AWS_REGION": "us-east-1",
        "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1",
        "ANTHROPIC_BEDROCK_BASE_URL": aws.url,
    }
    client = bedrock.build_client(read_bedrock_settings(env), ClientOptions())
    result, _ = run(spec_for(tmp_path), client)
    assert "MissingAuthenticationTokenException" in result["errors"][0]


def test_expired_keys_are_refused_by_the_runtime(aws: FakeAWS, clock: Clock) -> None:
    from botocore.credentials import Credentials

    settings = read_bedrock_settings(role_env(aws, AWS_ROLE_DURATION_SECONDS="900"))
    bedrock.build_client(settings, ClientOptions(oidc=GitHubTokens(clock), clock=clock))
    key = aws.issued[0]
    static = Credentials(key.access_key_id, key.secret_access_key, key.session_token)
    signer = bedrock.SigV4Signer(static, "us-east-1", None)  # keys that never refresh
    client = bedrock._make_client(settings, ClientOptions(), signer)
    clock.advance(901)
    with pytest.raises(Exception, match="ExpiredTokenException"):
        client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}])


# --- secrets ---------------------------------------------------------------------------------------


class Leak(Tool):
    """A tool whose output contains whatever the test hands it: stands for any accidental echo."""

    name: ClassVar[str] = "Leak"
    description: ClassVar[str] = "Echo a value."
    input_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}

    def __init__(self, values: list[str]) -> None:
        self.values = values

    def run(self, args: Any, ctx: ToolContext) -> ToolResult:
        return ToolResult("env dump: " + " ".join(self.values))


def test_minted_credentials_never_reach_the_transcript_or_the_tools(
    aws: FakeAWS, clock: Clock, tmp_path: Path
) -> None:
    env = role_env(aws, AWS_ROLE_DURATION_SECONDS="900")
    redactor = Redactor(bedrock.secrets(read_bedrock_settings(env)))
    transcript = tmp_path / "transcript.jsonl"
    sink = EventSink("stream-json", io.StringIO(), io.StringIO(), redactor, transcript)
    tokens = GitHubTokens(clock)
    environ_before = dict(os.environ)
    client = bedrock.build_client(
        read_bedrock_settings(env), ClientOptions(oidc=tokens, clock=clock, on_secret=redactor.add)
    )
    assert dict(os.environ) == environ_before  # nothing exported for the tools to find
    key = aws.issued[0]
    leaked = [key.access_key_id, key.secret_access_key, str(key.session_token), tokens.issued[0]]
    aws.add_turns([[tool_use("Leak", {})], [text("done")]])
    outcome = run_agent(spec_for(tmp_path, tools=[Leak(leaked)]), client, sink)
    assert outcome.result["subtype"] == "success", outcome.result
    written = transcript.read_text()
    assert "env dump: " in written
    for value in leaked:
        assert value not in written
    # The raw tool result did carry them (so the redactor, not luck, kept them out).
    assert key.secret_access_key in json.dumps(aws.runtime_requests[-1].body)

    tool_env = scrub_env(
        {**env, "AWS_SESSION_TOKEN": str(key.session_token), "CLAUDE_OIDC_TOKEN": tokens.issued[0]}
    )
    assert set(tool_env) == {"AWS_REGION", "GITHUB_RUN_ID"}
