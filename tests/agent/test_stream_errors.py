"""Streams that fail part-way: an `error` event inside an HTTP 200 stream, a malformed data line,
a stream cut before message_stop. The real loop and the real SDK against the loopback fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import anthropic
import pytest

from runner.agent import permissions
from runner.agent.headless import exit_code
from runner.agent.loop import AgentOutcome, AgentSpec, run_agent
from runner.agent.retry import RetryPolicy
from runner.agent.tools import build_tools
from runner.agent.tools.base import ToolContext
from runner.errors import CredentialsError, ModelError, ProviderError
from runner.providers import bedrock
from runner.providers.base import ClientOptions
from runner.settings.bedrock import read_bedrock_settings
from runner.testing.fake_aws import FakeAWS
from runner.testing.fake_messages import FakeMessagesAPI, Fault, fault, text, tool_use

ANSWER = "The answer, streamed in several pieces, so that a stream can fail between two of them."


@pytest.fixture
def api() -> Iterator[FakeMessagesAPI]:
    with FakeMessagesAPI() as fake:
        yield fake


def spec_for(tmp_path: Path, *, max_retries: int = 3, stream: bool = True) -> AgentSpec:
    (tmp_path / "notes.txt").write_text("the answer is 42\n")
    return AgentSpec(
        prompt="What does notes.txt say?",
        model="claude-sonnet-4-5",
        system_prompt="You are a test agent.",
        tools=build_tools(["Read"]),
        policy=permissions.PermissionPolicy(cwd=tmp_path, home=tmp_path),
        workspace=ToolContext(cwd=tmp_path, subprocess_env={"PATH": "/usr/bin:/bin"}),
        retry=RetryPolicy(max_retries=max_retries, base_s=0.001, cap_s=0.01),
        stream=stream,
        api_timeout_s=30,
    )


def run(
    api: FakeMessagesAPI, tmp_path: Path, *faults: Fault | str, **options: Any
) -> tuple[AgentOutcome, list[dict[str, Any]]]:
    api.queue_fault(*faults)
    client = anthropic.Anthropic(api_key="sk-test", base_url=api.base_url, max_retries=0)
    events: list[dict[str, Any]] = []
    return run_agent(spec_for(tmp_path, **options), client, events.append), events


def retries(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("subtype") == "api_retry"]


def answers(events: list[dict[str, Any]]) -> list[str]:
    return [b["text"] for e in events if e["type"] == "assistant" for b in e["message"]["content"]]


# -- an `error` event mid-stream is retried like its HTTP status --------------------------------------


def test_overloaded_error_event_once_is_retried_and_the_answer_is_whole(
    api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api.add_turns([ANSWER])
    outcome, events = run(api, tmp_path, fault("stream_error", error="overloaded_error", after_deltas=2))
    assert outcome.result["subtype"] == "success" and exit_code(outcome) == 0
    # The pieces that arrived before the error are dropped, not glued to the retried answer.
    assert outcome.result["result"] == ANSWER and answers(events) == [ANSWER]
    (retry,) = retries(events)
    assert (retry["attempt"], retry["error_status"], retry["error"]) == (1, 529, "server_error")
    assert "overloaded_error" in retry["message"]
    assert len(api.message_requests) == 2


@pytest.mark.parametrize(
    ("error_type", "status", "kind"),
    [("api_error", 500, "server_error"), ("rate_limit_error", 429, "rate_limit")],
)
def test_error_events_map_to_their_http_status(
    api: FakeMessagesAPI, tmp_path: Path, error_type: str, status: int, kind: str
) -> None:
    api.add_turns([ANSWER])
    outcome, events = run(api, tmp_path, fault("stream_error", error=error_type))
    assert outcome.result["result"] == ANSWER
    assert [(r["error_status"], r["error"]) for r in retries(events)] == [(status, kind)]


def test_error_event_in_a_tool_call_runs_the_tool_once_with_its_whole_input(
    api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api.add_turns(
        [[text("Let me look."), tool_use("Read", {"file_path": "notes.txt"})], [text("It says 42.")]]
    )
    # Strikes after the tool call's first input piece: a half-read call must not run.
    outcome, events = run(api, tmp_path, fault("stream_error", error="api_error", after_deltas=3))
    assert outcome.result["subtype"] == "success" and outcome.result["result"] == "It says 42."
    results = [b for e in events if e["type"] == "user" for b in e["message"]["content"]]
    assert len(results) == 1 and not results[0].get("is_error")
    assert "the answer is 42" in json.dumps(results[0]["content"])
    assert len(retries(events)) == 1


def test_error_event_every_time_gives_up_after_max_retries_like_http_529(
    api: FakeMessagesAPI, tmp_path: Path
) -> None:
    outcome, events = run(api, tmp_path, *[fault("stream_error")] * 3, max_retries=2)
    result = outcome.result
    assert result["is_error"] and result["subtype"] == "error_during_execution"
    assert [r["attempt"] for r in retries(events)] == [1, 2] and len(api.message_requests) == 3
    (error,) = result["errors"]
    assert error.startswith("model API error: overloaded_error: Overloaded")
    assert "handled like HTTP 529" in error and "gave up after 2 retries" in error
    assert exit_code(outcome) == ProviderError.exit_code
    http, _ = run(api, tmp_path, *["overloaded"] * 3, max_retries=2)
    assert (http.result["subtype"], exit_code(http)) == (result["subtype"], exit_code(outcome))


@pytest.mark.parametrize(
    ("error_type", "http_fault", "code"),
    [
        ("invalid_request_error", "invalid_request", ProviderError.exit_code),
        ("authentication_error", "authentication", CredentialsError.exit_code),
        ("permission_error", "permission", CredentialsError.exit_code),
        ("not_found_error", "not_found", ModelError.exit_code),
    ],
)
def test_non_retryable_error_events_end_the_run_like_their_http_status(
    api: FakeMessagesAPI, tmp_path: Path, error_type: str, http_fault: str, code: int
) -> None:
    outcome, events = run(api, tmp_path, fault("stream_error", error=error_type))
    assert retries(events) == [] and len(api.message_requests) == 1
    assert outcome.result["is_error"] and error_type in outcome.result["errors"][0]
    assert "gave up" not in outcome.result["errors"][0]
    http, _ = run(api, tmp_path, http_fault)
    assert (outcome.result["subtype"], exit_code(outcome)) == (http.result["subtype"], exit_code(http))
    assert exit_code(outcome) == code


# -- a malformed or cut stream is retried like a dropped one ------------------------------------------


@pytest.mark.parametrize(
    "broken",
    [
        fault("malformed"),  # a data line whose JSON is cut in half
        fault("malformed", data="<html>502 Bad Gateway</html>", after_deltas=0),
        fault("truncate", after_deltas=4),
    ],
    ids=["truncated-json", "garbage-data", "no-message-stop"],
)
def test_malformed_stream_is_retried_then_succeeds(
    api: FakeMessagesAPI, tmp_path: Path, broken: Fault
) -> None:
    api.add_turns([ANSWER])
    outcome, events = run(api, tmp_path, broken)
    assert outcome.result["subtype"] == "success" and answers(events) == [ANSWER]
    (retry,) = retries(events)
    assert retry["error_status"] is None and retry["error"] == "server_error"
    assert retry["message"].startswith("the model's stream was malformed: ")


@pytest.mark.parametrize(
    ("kind", "problem"),
    [("malformed", "a data line is not valid JSON"), ("truncate", "without message_stop")],
)
def test_malformed_every_time_ends_in_a_clear_error(
    api: FakeMessagesAPI, tmp_path: Path, kind: str, problem: str
) -> None:
    outcome, events = run(api, tmp_path, *[kind] * 2, max_retries=1)
    (error,) = outcome.result["errors"]
    assert error.startswith("model API error: the model's stream was malformed: ") and problem in error
    assert "gave up after 1 retry" in error and "Traceback" not in error
    assert outcome.result["subtype"] == "error_during_execution"
    assert exit_code(outcome) == ProviderError.exit_code and len(retries(events)) == 1


def test_malformed_reply_without_streaming_is_retried(api: FakeMessagesAPI, tmp_path: Path) -> None:
    api.add_turns([ANSWER])
    outcome, events = run(api, tmp_path, "malformed", stream=False)
    assert outcome.result["result"] == ANSWER
    (retry,) = retries(events)
    assert retry["message"].startswith("the model's reply was malformed: the body is not valid JSON")


# -- Amazon Bedrock reports a stream error as an exception frame ---------------------------------------


@pytest.mark.parametrize(("error_type", "status"), [("rate_limit_error", 429), ("overloaded_error", 503)])
def test_bedrock_stream_exception_is_retried_like_its_status(
    tmp_path: Path, error_type: str, status: int
) -> None:
    key = "bedrock-api-key-ABSKQmVkcm9ja0FQSUtleS0"
    with FakeAWS([ANSWER], api_keys=[key], faults=[fault("stream_error", error=error_type)]) as aws:
        env = {
            "AWS_REGION": "us-east-1",
            "AWS_BEARER_TOKEN_BEDROCK": key,
            "ANTHROPIC_BEDROCK_BASE_URL": aws.url,
        }
        client = bedrock.build_client(read_bedrock_settings(env), ClientOptions())
        events: list[dict[str, Any]] = []
        spec = replace(spec_for(tmp_path), model="us.anthropic.claude-sonnet-4-6")
        outcome = run_agent(spec, client, events.append)
    assert outcome.result["result"] == ANSWER
    assert [r["error_status"] for r in retries(events)] == [status]


# -- through `claude-runner run`, as CI runs it -------------------------------------------------------


def test_cli_retries_an_error_event_and_prints_the_whole_answer(fake, repo, run_cli) -> None:
    fake.add_turns([ANSWER])
    fake.queue_fault(fault("stream_error", error="overloaded_error", after_deltas=2))
    out = run_cli("run", "-p", "x", "--output-format", "stream-json", cwd=repo)
    assert out.code == 0, out.stderr
    assert [(r["error_status"], r["error"]) for r in retries(out.events)] == [(529, "server_error")]
    assert out.result["subtype"] == "success" and out.result["result"] == ANSWER


def test_cli_error_event_every_time_exits_like_a_provider_failure(fake, repo, run_cli) -> None:
    fake.queue_fault(*[fault("stream_error")] * 3)
    out = run_cli("run", "-p", "x", "--output-format", "json", "--max-retries", "2", cwd=repo)
    assert out.code == ProviderError.exit_code == 6
    assert out.result["subtype"] == "error_during_execution"
    assert (
        "overloaded_error" in out.result["errors"][0] and "gave up after 2 retries" in out.result["errors"][0]
    )


def test_cli_malformed_every_time_is_a_clear_error_not_a_crash(fake, repo, run_cli) -> None:
    fake.queue_fault("malformed", "malformed")
    out = run_cli("run", "-p", "x", "--output-format", "json", "--max-retries", "1", cwd=repo)
    assert out.code == ProviderError.exit_code, out.stderr
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr.lower()
    assert out.result["errors"][0].startswith("model API error: the model's stream was malformed: ")
