"""The context never overflows: clearing, summaries, the API's compaction, token estimates.

The real loop and the real SDK against the loopback fake Messages API, whose billing reports
each request's prompt tokens (so "under the threshold" is checked on what the API would count).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from runner.agent import model_call, permissions
from runner.agent.compaction import SUMMARY_INSTRUCTION, SUMMARY_INTRO, ContextKeeper
from runner.agent.context import (
    CLEARED,
    COMPACTION_BETA,
    ContextPolicy,
    ContextSettings,
    clear_tool_results,
    plan_context,
    supports_server_compaction,
)
from runner.agent.conversation import Conversation, encode_body
from runner.agent.loop import AgentSpec, run_agent
from runner.agent.tokens import TokenEstimator
from runner.agent.tools import build_tools
from runner.agent.tools.base import ToolContext
from runner.errors import UsageError
from runner.providers import bedrock
from runner.providers.base import ClientOptions
from runner.settings.bedrock import read_bedrock_settings
from runner.settings.context import read_context_settings
from runner.testing.fake_aws import FakeAWS
from runner.testing.fake_messages import FakeMessagesAPI, text, tool_use

SMALL = ContextPolicy(window=20_000, threshold=16_000, keep_tool_results=3)


@pytest.fixture
def api() -> Iterator[FakeMessagesAPI]:
    with FakeMessagesAPI() as fake:
        yield fake


def big_file(path: Path, lines: int = 300) -> Path:
    path.write_text(
        "".join(f"line {n:04d}: the quick brown fox jumps over the lazy dog\n" for n in range(1, lines + 1))
    )
    return path


def run(
    api: FakeMessagesAPI, tmp_path: Path, context: ContextPolicy, tools: tuple[str, ...] = ("Read",)
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    spec = AgentSpec(
        prompt="Read the files.",
        model="claude-opus-4-8",
        system_prompt="You are a test agent.",
        tools=build_tools(list(tools)),
        policy=permissions.PermissionPolicy(cwd=tmp_path, home=tmp_path, mode="acceptEdits"),
        workspace=ToolContext(cwd=tmp_path, subprocess_env={"PATH": "/usr/bin:/bin"}),
        api_timeout_s=30,
        context=context,
    )
    client = anthropic.Anthropic(api_key="sk-test", base_url=api.base_url, max_retries=0)
    events: list[dict[str, Any]] = []
    outcome = run_agent(spec, client, events.append)
    return outcome.result, events


def prompt_tokens(record: Any) -> int:
    usage = record.usage
    return usage["input_tokens"] + usage["cache_creation_input_tokens"] + usage["cache_read_input_tokens"]


def main_requests(api: FakeMessagesAPI) -> list[Any]:
    return [r for r in api.message_requests if (r.body.get("tool_choice") or {}).get("type") != "none"]


def assert_pairs_intact(messages: list[dict[str, Any]]) -> None:
    """Every tool_use is answered by a tool_result in the next message, and every result has its call."""
    assert messages[0]["role"] == "user"
    for i, message in enumerate(messages):
        assert message["role"] == ("user" if i % 2 == 0 else "assistant")
        if message["role"] == "assistant":
            calls = {b["id"] for b in message["content"] if b["type"] == "tool_use"}
            following = messages[i + 1]["content"] if i + 1 < len(messages) else []
            answered = {b["tool_use_id"] for b in following if b.get("type") == "tool_result"}
            assert calls == answered or (i + 1 == len(messages) and not answered)
        elif i > 0:
            previous = {b["id"] for b in messages[i - 1]["content"] if b["type"] == "tool_use"}
            results = {b["tool_use_id"] for b in message["content"] if b.get("type") == "tool_result"}
            assert results <= previous
        else:
            assert not any(b.get("type") == "tool_result" for b in message["content"])


def tool_results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for m in messages for b in m["content"] if b.get("type") == "tool_result"]


# -- the floor: old tool results cleared, the newest kept, never over the threshold ----------------


def test_long_session_clears_old_tool_results_and_stays_under_the_threshold(
    api: FakeMessagesAPI, tmp_path: Path
) -> None:
    files = [big_file(tmp_path / f"f{i}.py") for i in range(20)]
    api.add_turns([[tool_use("Read", {"file_path": str(f)})] for f in files] + [[text("Read them all.")]])
    result, events = run(api, tmp_path, SMALL)
    assert result["subtype"] == "success" and result["num_turns"] == 21
    requests = main_requests(api)
    sizes = [prompt_tokens(r) for r in requests]
    assert max(sizes) <= SMALL.threshold, sizes
    boundaries = [e for e in events if e.get("subtype") == "compact_boundary"]
    assert boundaries and {b["compact_metadata"]["strategy"] for b in boundaries} == {"clear_tool_results"}
    assert all(b["compact_metadata"]["post_tokens"] < b["compact_metadata"]["pre_tokens"] for b in boundaries)
    # without clearing the last request would have held every file: 20 reads of ~3,700 tokens
    assert sizes[-1] < 20 * 3000
    last = requests[-1].body["messages"]
    assert_pairs_intact(last)
    results = tool_results(last)
    assert len(results) == 20 and sum(r["content"] == CLEARED for r in results) >= 10
    assert results[-1]["content"] != CLEARED
    assert "line 0300" in json.dumps(results[-1]["content"])  # the newest result is whole


def test_nothing_is_cleared_while_the_history_fits(api: FakeMessagesAPI, tmp_path: Path) -> None:
    files = [big_file(tmp_path / f"f{i}.py") for i in range(3)]
    api.add_turns([[tool_use("Read", {"file_path": str(f)})] for f in files] + [[text("ok")]])
    result, events = run(api, tmp_path, SMALL)
    assert result["subtype"] == "success"
    assert not [e for e in events if e.get("subtype") == "compact_boundary"]
    assert CLEARED not in json.dumps(api.message_requests[-1].body)


def test_disabled_auto_compact_sends_the_whole_history(api: FakeMessagesAPI, tmp_path: Path) -> None:
    files = [big_file(tmp_path / f"f{i}.py") for i in range(8)]
    api.add_turns([[tool_use("Read", {"file_path": str(f)})] for f in files] + [[text("ok")]])
    off = ContextPolicy(window=20_000, threshold=16_000, auto_compact=False)
    result, events = run(api, tmp_path, off)
    assert result["subtype"] == "success"
    assert not [e for e in events if e.get("subtype") == "compact_boundary"]
    assert prompt_tokens(api.message_requests[-1]) > off.threshold


# -- a summary when clearing is not enough --------------------------------------------------------


def test_summary_replaces_old_turns_when_clearing_frees_too_little(
    api: FakeMessagesAPI, tmp_path: Path
) -> None:
    # Big Write inputs live in the assistant's tool calls: clearing results cannot shrink them.
    body = "x = 1\n" * 700
    writes = [
        [tool_use("Write", {"file_path": str(tmp_path / f"w{i}.py"), "content": body})] for i in range(16)
    ]
    api.add_turns([*writes, [text("Written.")]])
    result, events = run(api, tmp_path, SMALL, tools=("Write",))
    assert result["subtype"] == "success" and result["num_turns"] == 17
    assert all((tmp_path / f"w{i}.py").read_text() == body for i in range(16))
    summaries = [r for r in api.message_requests if (r.body.get("tool_choice") or {}).get("type") == "none"]
    assert summaries, "no summary was asked for"
    asked = summaries[0].body["messages"]
    assert asked[-1]["content"][-1]["text"] == SUMMARY_INSTRUCTION and asked[-1]["role"] == "user"
    assert "context_management" not in summaries[0].body
    boundaries = [e["compact_metadata"] for e in events if e.get("subtype") == "compact_boundary"]
    assert "summary" in {b["strategy"] for b in boundaries}
    # every request, the summaries included, stayed under the threshold
    assert max(prompt_tokens(r) for r in api.message_requests) <= SMALL.threshold
    # after it: the task, the summary (the fake answers "Done."), then the recent turns word for word
    after = main_requests(api)[-1].body["messages"]
    opening = [b["text"] for b in after[0]["content"]]
    assert opening[0] == "Read the files." and opening[-1] == SUMMARY_INTRO + "Done."
    assert after[1]["role"] == "assistant" and after[1]["content"][0]["type"] == "tool_use"
    assert_pairs_intact(after)
    assert len(after) < 2 * 17


# -- the API's own compaction ------------------------------------------------------------------------


def test_server_compaction_is_asked_for_and_its_block_replaces_the_history(
    api: FakeMessagesAPI, tmp_path: Path
) -> None:
    files = [big_file(tmp_path / f"f{i}.py", lines=20) for i in range(3)]
    compacted = {"type": "compaction", "content": "Read f0 and f1.", "encrypted_content": "opaque"}
    api.add_turns(
        [
            [tool_use("Read", {"file_path": str(files[0])})],
            [tool_use("Read", {"file_path": str(files[1])})],
            [compacted, tool_use("Read", {"file_path": str(files[2])})],
            [text("Done reading.")],
        ]
    )
    policy = ContextPolicy(window=200_000, threshold=160_000, server_compaction=True)
    result, events = run(api, tmp_path, policy)
    assert result["subtype"] == "success"
    for record in api.message_requests:
        edits = record.body["context_management"]["edits"]
        assert edits == [{"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 140_000}}]
        assert record.headers["anthropic-beta"] == COMPACTION_BETA
    # the block came back whole, and what it replaced is no longer sent
    last = api.message_requests[-1].body["messages"]
    assert [m["role"] for m in last] == ["user", "assistant", "user"]
    assert last[0]["content"][0]["text"] == "Read the files."
    block = {k: v for k, v in last[1]["content"][0].items() if k != "cache_control"}
    assert block == compacted
    assert [e["compact_metadata"]["strategy"] for e in events if e.get("subtype") == "compact_boundary"] == [
        "server"
    ]


def test_no_context_management_when_the_provider_does_not_compact(
    api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api.add_turns([[text("hi")]])
    run(api, tmp_path, SMALL)
    (record,) = api.message_requests
    assert "context_management" not in record.body and "anthropic-beta" not in record.headers


# -- the policy: which providers, which models, which settings --------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "server"),
    [
        ("anthropic", "claude-opus-4-8", True),
        ("anthropic", "claude-sonnet-4-6", True),
        ("anthropic", "claude-sonnet-5", True),
        ("anthropic", "claude-sonnet-4-5", False),
        ("anthropic", "claude-haiku-4-5", False),
        ("bedrock", "us.anthropic.claude-opus-4-6-v1", True),
        ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", False),
        ("vertex", "claude-opus-4-6", False),
        ("foundry", "claude-opus-4-6", False),
    ],
)
def test_server_compaction_only_where_the_provider_serves_it(provider: str, model: str, server: bool) -> None:
    policy = plan_context(
        provider=provider, model=model, window=200_000, max_output_tokens=16_384, settings=ContextSettings()
    )
    assert policy.server_compaction is server
    assert bool(policy.server_params()) is server
    assert policy.threshold == 160_000 and policy.auto_compact


def test_threshold_leaves_room_for_the_output_and_the_override_only_lowers_it() -> None:
    def plan(settings: ContextSettings, max_output: int | None = 16_384) -> ContextPolicy:
        return plan_context(
            provider="anthropic",
            model="claude-opus-4-8",
            window=200_000,
            max_output_tokens=max_output,
            settings=settings,
        )

    assert plan(ContextSettings(), 64_000).threshold == 136_000
    assert plan(ContextSettings(), None).threshold == 160_000
    assert plan(ContextSettings(threshold_pct=50)).threshold == 100_000
    assert plan(ContextSettings(threshold_pct=95)).threshold == 160_000
    off = plan(ContextSettings(auto_compact=False))
    assert not off.auto_compact and off.server_params() == {}
    assert plan(ContextSettings(experimental_betas=False)).server_params() == {}


def test_settings_from_claude_codes_variables() -> None:
    assert read_context_settings({}) == ContextSettings()
    assert not read_context_settings({"DISABLE_AUTO_COMPACT": "1"}).auto_compact
    assert not read_context_settings({"DISABLE_COMPACT": "true"}).auto_compact
    assert read_context_settings({"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "60"}).threshold_pct == 60
    assert not read_context_settings({"CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "1"}).experimental_betas
    for bad in ("0", "150", "eighty"):
        with pytest.raises(UsageError, match="CLAUDE_AUTOCOMPACT_PCT_OVERRIDE must be a percentage"):
            read_context_settings({"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": bad})


def test_model_versions_that_compact() -> None:
    assert supports_server_compaction("claude-opus-4-6@vertex") and supports_server_compaction(
        "claude-opus-5-5"
    )
    assert not supports_server_compaction("claude-opus-4-5") and not supports_server_compaction(
        "my-deployment"
    )


# -- clearing keeps the conversation valid ---------------------------------------------------------


def test_clearing_keeps_pairs_thinking_and_the_newest_results() -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": "go"}]}]
    for i in range(6):
        thinking = {"type": "thinking", "thinking": f"plan {i}", "signature": f"sig{i}"}
        call = {"type": "tool_use", "id": f"t{i}", "name": "Read", "input": {"file_path": f"f{i}"}}
        messages.append({"role": "assistant", "content": [thinking, call]})
        result = {
            "type": "tool_result",
            "tool_use_id": f"t{i}",
            "content": f"content {i}",
            "is_error": i == 0,
        }
        messages.append({"role": "user", "content": [result]})
    cleared, count = clear_tool_results(messages, keep=2)
    assert count == 4
    assert_pairs_intact(cleared)
    results = tool_results(cleared)
    assert [r["content"] for r in results] == [CLEARED] * 4 + ["content 4", "content 5"]
    assert results[0]["is_error"] is True  # an error stays an error
    assert [m["content"][0] for m in cleared if m["role"] == "assistant"] == [
        m["content"][0] for m in messages if m["role"] == "assistant"
    ]
    assert messages[2]["content"][0]["content"] == "content 0"  # the input is not changed
    assert clear_tool_results(cleared, keep=2)[1] == 0  # what is cleared is not cleared again


# -- token estimates --------------------------------------------------------------------------------


def test_estimator_starts_cautious_and_learns_each_model_from_usage() -> None:
    estimator = TokenEstimator()
    chars = 400_000
    # 4 characters per token would say 100,000; the cautious start says more
    assert estimator.estimate("claude-opus-4-8", chars) > 150_000
    estimator.observe("claude-opus-4-8", chars, {"input_tokens": 10, "cache_read_input_tokens": 129_990})
    assert estimator.estimate("claude-opus-4-8", chars) == pytest.approx(130_000, abs=2)
    assert estimator.estimate("claude-opus-4-8", 2 * chars) == pytest.approx(260_000, abs=2)
    assert estimator.estimate("claude-haiku-4-5", chars) > 150_000  # per model
    estimator.observe("claude-opus-4-8", 500, {"input_tokens": 10})  # too small to say anything
    estimator.observe("claude-opus-4-8", chars, {"input_tokens": 1})  # not a description of this request
    assert estimator.estimate("claude-opus-4-8", chars) == pytest.approx(130_000, abs=2)


def test_the_loop_calibrates_from_the_usage_the_api_reports(api: FakeMessagesAPI, tmp_path: Path) -> None:
    files = [big_file(tmp_path / f"f{i}.py") for i in range(20)]
    api.add_turns([[tool_use("Read", {"file_path": str(f)})] for f in files] + [[text("ok")]])
    run(api, tmp_path, SMALL)
    # Calibrated, the floor lets requests grow close to the threshold rather than stopping far short.
    assert max(prompt_tokens(r) for r in main_requests(api)) > SMALL.threshold * 0.7


# -- the body is assembled from pieces encoded once ----------------------------------------------------


def test_body_from_pieces_is_the_request_as_json() -> None:
    conversation = Conversation([{"role": "user", "content": [{"type": "text", "text": 'héllo "quoted"'}]}])
    conversation.append(
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "X", "input": {}}]}
    )
    conversation.append(
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]}
    )
    conversation[-1] = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok!"}],
    }
    params = {"model": "m", "max_tokens": 5, "messages": conversation.wire(), "betas": ["b"]}
    body = json.loads(encode_body(params))
    assert body == {"model": "m", "max_tokens": 5, "messages": list(params["messages"])}
    marked = [i for i, m in enumerate(body["messages"]) if "cache_control" in m["content"][-1]]
    assert marked == [1, 2] and "cache_control" not in json.dumps(conversation.messages)
    assert conversation.size == len(
        json.dumps(conversation.messages, ensure_ascii=False, separators=(",", ":")).encode()
    )
    # longer histories, a message replaced in the middle, and the empty one
    for extra in range(4):
        conversation.append({"role": "assistant", "content": [{"type": "text", "text": f"turn {extra}"}]})
        conversation.append({"role": "user", "content": [{"type": "text", "text": f"more {extra}"}]})
        sent = conversation.wire()
        assert json.loads(sent.json()) == list(sent) and len(sent) == len(conversation)
    conversation[3] = {"role": "assistant", "content": [{"type": "text", "text": "replaced"}]}
    sent = conversation.wire()
    assert json.loads(sent.json())[3]["content"][0]["text"] == "replaced"
    assert [m for m in json.loads(sent.json())[:-2]] == conversation.messages[:-2]
    assert json.loads(Conversation().wire().json()) == []
    assert json.loads(Conversation(conversation.messages[:1]).wire().json())[0]["content"][-1][
        "cache_control"
    ]


def test_bedrock_gets_the_compaction_edit_in_its_body(tmp_path: Path) -> None:
    """Bedrock rewrites the body (the SDK path): the beta goes in ``anthropic_beta``, the edit
    in ``context_management``, and the run still reads the compaction block it streams back."""
    key, secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    files = [big_file(tmp_path / f"f{i}.py", lines=20) for i in range(2)]
    compacted = {"type": "compaction", "content": "Read f0.", "encrypted_content": "opaque"}
    turns = [
        [tool_use("Read", {"file_path": str(files[0])})],
        [compacted, tool_use("Read", {"file_path": str(files[1])})],
        [text("Done.")],
    ]
    with FakeAWS(turns, static_keys={key: secret}) as aws:
        env = {
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "ANTHROPIC_BEDROCK_BASE_URL": aws.url,
        }
        client = bedrock.build_client(read_bedrock_settings(env), ClientOptions())
        model = "us.anthropic.claude-opus-4-6-v1"
        policy = plan_context(
            provider="bedrock",
            model=model,
            window=200_000,
            max_output_tokens=16_384,
            settings=ContextSettings(),
        )
        spec = AgentSpec(
            prompt="Read the files.",
            model=model,
            system_prompt="You are a test agent.",
            tools=build_tools(["Read"]),
            policy=permissions.PermissionPolicy(cwd=tmp_path, home=tmp_path),
            workspace=ToolContext(cwd=tmp_path, subprocess_env={"PATH": "/usr/bin:/bin"}),
            api_timeout_s=30,
            context=policy,
        )
        outcome = run_agent(spec, client, lambda event: None)
        bodies = [r.body for r in aws.runtime_requests]
    assert outcome.result["subtype"] == "success", outcome.result
    assert all(b["anthropic_beta"] == [COMPACTION_BETA] for b in bodies)
    assert all(b["context_management"]["edits"][0]["type"] == "compact_20260112" for b in bodies)
    last = bodies[-1]["messages"]
    assert [m["role"] for m in last] == ["user", "assistant", "user"]
    assert {k: v for k, v in last[1]["content"][0].items() if k != "cache_control"} == compacted


def test_the_apis_summarising_step_is_billed() -> None:
    """When the API compacted, the top-level usage leaves its summarising step out: the cost
    counts every step in ``iterations``."""
    message = {
        "id": "msg_1",
        "model": "claude-opus-4-8",
        "content": [{"type": "compaction", "content": "summary", "encrypted_content": None}],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 23_000,
            "output_tokens": 1_000,
            "iterations": [
                {"type": "compaction", "input_tokens": 180_000, "output_tokens": 3_500},
                {"type": "message", "input_tokens": 23_000, "output_tokens": 1_000},
            ],
        },
    }
    response = model_call._message_response(message)
    assert response.usage["input_tokens"] == 203_000 and response.usage["output_tokens"] == 4_500
    assert response.content == [{"type": "compaction", "content": "summary"}]


def test_a_refused_compaction_edit_is_dropped_and_the_request_sent_again(
    api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api.queue_fault({"status": 400, "message": "context_management: compact_20260112 is not supported"})
    api.add_turns([[text("hello")], [text("unused")]])
    result, _ = run(api, tmp_path, ContextPolicy(server_compaction=True))
    assert result["subtype"] == "success" and result["result"] == "hello"
    first, second = api.message_requests
    assert first.status == 400 and "context_management" in first.body
    assert "context_management" not in second.body and "anthropic-beta" not in second.headers


def test_an_uncalibrated_estimate_over_the_threshold_is_checked_with_token_counting(
    api: FakeMessagesAPI, tmp_path: Path
) -> None:
    """The first request has no usage to calibrate from: a large prompt that the cautious
    estimate puts over the threshold is counted by the API, which finds it fits."""
    api.add_turns([[text("fine")]])
    spec_prompt = "word " * 10_000  # 50,000 characters: 20,000 by the cautious estimate, 12,500 by the API
    spec = AgentSpec(
        prompt=spec_prompt,
        model="claude-opus-4-8",
        system_prompt="You are a test agent.",
        tools=build_tools(["Read"]),
        policy=permissions.PermissionPolicy(cwd=tmp_path, home=tmp_path),
        workspace=ToolContext(cwd=tmp_path, subprocess_env={"PATH": "/usr/bin:/bin"}),
        api_timeout_s=30,
        context=SMALL,
    )
    client = anthropic.Anthropic(api_key="sk-test", base_url=api.base_url, max_retries=0)
    events: list[dict[str, Any]] = []
    outcome = run_agent(spec, client, events.append)
    assert outcome.result["subtype"] == "success"
    counted = [r for r in api.requests if r.path == "/v1/messages/count_tokens"]
    assert len(counted) == 1 and "max_tokens" not in counted[0].body
    assert counted[0].body["messages"][0]["content"][0]["text"] == spec_prompt
    assert not [e for e in events if e.get("subtype") == "compact_boundary"]
    assert prompt_tokens(api.message_requests[0]) < SMALL.threshold


def test_pre_compact_hooks_can_keep_the_history_from_being_summarised() -> None:
    """The PreCompact call site: asked before a summary; refusing keeps the history as it is."""
    history: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": "task"}]}]
    for i in range(12):
        history.append({"role": "assistant", "content": [{"type": "text", "text": f"thought {i} " * 1000}]})
        history.append({"role": "user", "content": [{"type": "text", "text": "go on"}]})
    asked: list[list[dict[str, Any]]] = []

    def summarise(messages: list[dict[str, Any]]) -> str:
        asked.append(messages)
        return "the story so far"

    blocked = ContextKeeper(SMALL, pre_compact=lambda trigger: False)
    conversation = Conversation(history)
    assert blocked.fit("claude-opus-4-8", conversation, summarise) is None
    assert conversation.messages == history and not asked

    allowed = ContextKeeper(SMALL, pre_compact=lambda trigger: trigger == "auto")
    event = allowed.fit("claude-opus-4-8", conversation, summarise)
    assert event is not None and event["compact_metadata"]["strategy"] == "summary"
    (summarised,) = asked
    kept = conversation.messages
    assert kept[0]["content"][-1]["text"] == SUMMARY_INTRO + "the story so far"
    assert summarised == history[: len(summarised)]  # the turns replaced, and only those
    assert kept[1:] == history[len(summarised) :] and kept[1]["role"] == "assistant"
