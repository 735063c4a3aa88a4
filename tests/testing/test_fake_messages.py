"""The loopback Messages API fake, driven by the real anthropic SDK and checked against API captures."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from runner.testing.fake_messages import FakeMessagesAPI, Fault, Turn, fault, text, tool_use, turn
from runner.testing.sse import SSEEvent, parse_sse
from tests.paths import FIXTURES_DIR

FIXTURES = FIXTURES_DIR / "anthropic"
USER = [{"role": "user", "content": "What is the weather in Paris?"}]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}},
}
LONG_INPUT = {"path": "src/app/main.py", "old": "def main():\n    pass\n", "new": "def main():\n    run()\n"}


@pytest.fixture
def fake() -> Iterator[FakeMessagesAPI]:
    with FakeMessagesAPI() as api:
        yield api


def client(api: FakeMessagesAPI, **options: Any) -> anthropic.Anthropic:
    options.setdefault("max_retries", 0)
    return anthropic.Anthropic(api_key="sk-test", base_url=api.base_url, **options)


def create(api: FakeMessagesAPI, **options: Any) -> Any:
    return client(api).messages.create(model="claude-test", max_tokens=256, messages=USER, **options)


def raw_post(api: FakeMessagesAPI, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=5)
    try:
        conn.request("POST", path, json.dumps(body), {"content-type": "application/json", **headers})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


SDK_HEADERS = {"x-api-key": "sk-test", "anthropic-version": "2023-06-01"}

# -- the SDK parses what the fake sends ----------------------------------------------------------


def test_json_reply_with_text_and_several_tool_uses(fake: FakeMessagesAPI) -> None:
    fake.add_turn([text("Reading both."), tool_use("Read", {"path": "a.py"}), tool_use("Edit", LONG_INPUT)])
    msg = create(fake, tools=[WEATHER_TOOL])
    assert [b.type for b in msg.content] == ["text", "tool_use", "tool_use"]
    assert msg.content[0].text == "Reading both."
    assert msg.content[2].name == "Edit" and msg.content[2].input == LONG_INPUT
    assert msg.content[1].id.startswith("toolu_") and msg.content[1].id != msg.content[2].id
    assert msg.stop_reason == "tool_use" and msg.model == "claude-test"
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0
    assert msg.usage.cache_read_input_tokens == 0
    assert fake.turns_served == 1
    # once the script is exhausted the fake ends the conversation
    assert create(fake).content[0].text == "Done." and fake.turns_served == 1


def test_stream_events_reassemble_tool_input(fake: FakeMessagesAPI) -> None:
    fake.add_turn([text("Let me edit that file for you."), tool_use("Edit", LONG_INPUT, id="toolu_fixed")])
    events = list(create(fake, stream=True))
    names = [e.type for e in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    partial = [
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert len(partial) >= 3 and partial[0] == ""
    assert json.loads("".join(partial)) == LONG_INPUT
    start = next(e for e in events if e.type == "content_block_start" and e.content_block.type == "tool_use")
    assert start.content_block.id == "toolu_fixed" and start.content_block.name == "Edit"
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.stop_reason == "tool_use" and delta.usage.output_tokens > 0
    assert events[0].message.usage.cache_creation_input_tokens == 0


def test_stream_helper_final_message(fake: FakeMessagesAPI) -> None:
    fake.add_turn(
        [
            text("A fairly long answer that spans several text deltas in the stream."),
            tool_use("Edit", LONG_INPUT),
        ]
    )
    with client(fake).messages.stream(model="claude-test", max_tokens=256, messages=USER) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "A fairly long answer that spans several text deltas in the stream."
    assert final.content[1].input == LONG_INPUT and final.stop_reason == "tool_use"
    assert final.usage.output_tokens == fake.requests[-1].usage["output_tokens"]  # type: ignore[index]


def test_turn_options_and_dynamic_turns(fake: FakeMessagesAPI) -> None:
    seen: list[Any] = []

    def echo(request: dict[str, Any]) -> list[dict[str, Any]]:
        seen.append(request)
        return [text(f"{len(request['messages'])} message(s)")]

    fake.add_turns([turn("cut", stop_reason="max_tokens", model="claude-other"), echo, "plain string turn"])
    first = create(fake)
    assert (first.stop_reason, first.model, first.content[0].text) == ("max_tokens", "claude-other", "cut")
    assert create(fake).content[0].text == "1 message(s)" and seen[0]["model"] == "claude-test"
    assert create(fake).content[0].text == "plain string turn"


def test_count_tokens(fake: FakeMessagesAPI) -> None:
    count = client(fake).messages.count_tokens(model="claude-test", messages=USER, tools=[WEATHER_TOOL])
    assert count.input_tokens > 0
    assert fake.requests[-1].path == "/v1/messages/count_tokens" and fake.turns_served == 0


# -- the fake streams like the API ---------------------------------------------------------------


def fake_stream(api: FakeMessagesAPI, content: list[dict[str, Any]]) -> list[SSEEvent]:
    api.add_turn(content)
    body = {"model": "claude-test", "max_tokens": 64, "messages": USER, "stream": True}
    status, headers, raw = raw_post(api, "/v1/messages?beta=true", body, SDK_HEADERS)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert raw.startswith(b"event: message_start\ndata: {")
    return parse_sse(raw)


def shape(events: list[SSEEvent]) -> list[str]:
    """Event names, with runs of deltas collapsed (the number of chunks varies)."""
    names = [e.event for e in events]
    return [n for i, n in enumerate(names) if i == 0 or n != names[i - 1] or n != "content_block_delta"]


def key_paths(obj: Any, prefix: str = "") -> set[str]:
    if not isinstance(obj, dict) or prefix.endswith(".input"):
        return set()
    return {p for k, v in obj.items() for p in {prefix + k} | key_paths(v, f"{prefix}{k}.")}


def keys_by_event(events: list[SSEEvent]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for e in events:
        sub = (e.data.get("content_block") or e.data.get("delta") or {}).get("type", "")
        out.setdefault(f"{e.event}:{sub}", set()).update(key_paths(e.data))
    return out


def test_stream_framing_matches_captured_api_streams(fake: FakeMessagesAPI) -> None:
    real_tool = parse_sse((FIXTURES / "tool_use_response.txt").read_bytes())
    ours_tool = fake_stream(
        fake,
        [
            text("I'll check the current weather in Paris for you."),
            tool_use("get_weather", {"location": "Paris"}),
        ],
    )
    assert shape(ours_tool) == shape(real_tool)
    assert keys_by_event(ours_tool) == keys_by_event(real_tool)
    assert all(e.event == e.data["type"] for e in ours_tool)
    deltas = [e.data.get("delta", {}) for e in ours_tool]
    chunks = [d["partial_json"] for d in deltas if "partial_json" in d]
    assert len(chunks) >= 3 and chunks[0] == "" and json.loads("".join(chunks)) == {"location": "Paris"}

    real_text = parse_sse((FIXTURES / "basic_response.txt").read_bytes())
    ours_text = fake_stream(fake, [text("Hello there!")])
    assert shape(ours_text) == shape(real_text)
    ours_keys = keys_by_event(ours_text)
    for event, keys in keys_by_event(real_text).items():
        assert keys <= ours_keys[event], event  # the older capture lacks the cache usage fields


# -- faults ----------------------------------------------------------------------------------------


def test_rate_limit_with_retry_after_then_the_turn(fake: FakeMessagesAPI) -> None:
    fake.add_turn("after the limit")
    fake.queue_fault(fault("rate_limit", retry_after=2))
    with pytest.raises(anthropic.RateLimitError) as info:
        create(fake)
    err = info.value
    assert err.status_code == 429 and err.response.headers["retry-after"] == "2"
    assert err.type == "rate_limit_error" and (err.request_id or "").startswith("req_")
    assert fake.turns_served == 0 and fake.requests[-1].fault == "rate_limit"
    assert create(fake).content[0].text == "after the limit"


def test_sdk_retry_honours_retry_after_and_gets_the_turn(fake: FakeMessagesAPI) -> None:
    faults = [fault("rate_limit", retry_after=0.1), fault("overloaded", retry_after=0.05)]
    fake.add_turn(turn("retried", faults=faults))
    msg = client(fake, max_retries=2).messages.create(model="claude-test", max_tokens=8, messages=USER)
    assert msg.content[0].text == "retried"
    assert [r.status for r in fake.requests] == [429, 529, 200] and fake.turns_served == 1


@pytest.mark.parametrize(
    ("kind", "error", "status", "error_type"),
    [
        (
            "overloaded",
            getattr(anthropic, "OverloadedError", anthropic.APIStatusError),
            529,
            "overloaded_error",
        ),
        ("api_error", anthropic.InternalServerError, 500, "api_error"),
        ("invalid_request", anthropic.BadRequestError, 400, "invalid_request_error"),
        ("authentication", anthropic.AuthenticationError, 401, "authentication_error"),
    ],
)
def test_status_faults(
    fake: FakeMessagesAPI, kind: str, error: type[anthropic.APIStatusError], status: int, error_type: str
) -> None:
    fake.add_turns(["survived"])
    fake.queue_fault(kind)
    with pytest.raises(error) as info:
        create(fake)
    assert info.value.status_code == status
    assert info.value.type == error_type
    assert create(fake).content[0].text == "survived"


def test_drop_mid_stream_then_next_request_gets_the_turn(fake: FakeMessagesAPI) -> None:
    fake.add_turns([[text("The full answer, streamed in a few pieces."), tool_use("Edit", LONG_INPUT)]])
    fake.queue_fault("drop")
    seen: list[str] = []
    with pytest.raises((httpx2.HTTPError, anthropic.APIConnectionError)):
        for event in create(fake, stream=True):
            seen.append(event.type)
    assert seen[0] == "message_start" and "message_stop" not in seen and "content_block_delta" in seen
    assert fake.turns_served == 0
    with client(fake).messages.stream(model="claude-test", max_tokens=64, messages=USER) as stream:
        final = stream.get_final_message()
    assert final.content[1].input == LONG_INPUT and fake.turns_served == 1


def test_drop_of_a_json_reply_is_a_connection_error(fake: FakeMessagesAPI) -> None:
    fake.queue_fault("drop")
    with pytest.raises(anthropic.APIConnectionError):
        create(fake)
    assert create(fake).content[0].text == "Done."


def stream_until_error(api: FakeMessagesAPI) -> tuple[list[Any], BaseException | None]:
    """The SDK's events of one streamed request, and what it raised (None: the stream just ended)."""
    seen: list[Any] = []
    try:
        for event in create(api, stream=True):
            seen.append(event)
    except Exception as exc:
        return seen, exc
    return seen, None


def text_deltas(events: list[Any]) -> list[str]:
    return [e.delta.text for e in events if e.type == "content_block_delta"]


ANSWER = "A long answer, streamed in several pieces so that a fault can land between them."


def test_error_event_after_n_deltas_then_the_whole_turn(fake: FakeMessagesAPI) -> None:
    fake.add_turns([ANSWER])
    fake.queue_fault(fault("stream_error", error="api_error", after_deltas=2, message="Internal error"))
    seen, raised = stream_until_error(fake)
    # The SDK raises the error event as a bare APIStatusError carrying the stream's 200 status.
    assert type(raised) is anthropic.APIStatusError and raised.status_code == 200
    assert raised.type == "api_error" and raised.api_message == "Internal error"
    assert raised.body == {"type": "error", "error": {"type": "api_error", "message": "Internal error"}}
    assert len(text_deltas(seen)) == 2 and "message_stop" not in [e.type for e in seen]
    assert fake.requests[-1].status == 200 and fake.requests[-1].fault == "stream_error"
    assert fake.turns_served == 0
    seen, raised = stream_until_error(fake)
    assert raised is None and "".join(text_deltas(seen)) == ANSWER and fake.turns_served == 1


def test_error_event_types_and_the_http_error_without_a_stream(fake: FakeMessagesAPI) -> None:
    fake.queue_fault({"kind": "stream_error", "error": "rate_limit", "after_deltas": 0})
    seen, raised = stream_until_error(fake)
    assert isinstance(raised, anthropic.APIStatusError) and raised.type == "rate_limit_error"
    assert text_deltas(seen) == [] and seen[0].type == "message_start"
    fake.queue_fault(fault("stream_error"))  # overloaded_error unless told otherwise
    with pytest.raises(anthropic.APIStatusError) as info:
        create(fake)
    assert info.value.status_code == 529 and info.value.type == "overloaded_error"


def test_malformed_data_line(fake: FakeMessagesAPI) -> None:
    fake.add_turns([ANSWER, ANSWER])
    fake.queue_fault(fault("malformed", after_deltas=1), fault("malformed", data="not json at all"))
    body = {"model": "claude-test", "max_tokens": 64, "messages": USER, "stream": True}
    _, _, raw = raw_post(fake, "/v1/messages", body, SDK_HEADERS)
    lines = [line for line in raw.decode().splitlines() if line]
    broken = [line for line in lines if line.startswith("data: ") and not is_json(line[6:])]
    assert len(broken) == 1 and broken[0].startswith('data: {"type":"content_block_delta"')
    assert lines[-2:] == ["event: message_stop", 'data: {"type":"message_stop"}']  # the rest still follows
    seen, raised = stream_until_error(fake)
    assert isinstance(raised, json.JSONDecodeError) and raised.doc == "not json at all"
    assert len(text_deltas(seen)) == 1 and fake.turns_served == 0


def is_json(value: str) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def test_truncated_stream_ends_cleanly_before_message_stop(fake: FakeMessagesAPI) -> None:
    fake.add_turns([ANSWER])
    fake.queue_fault(fault("truncate", after_deltas=3))
    seen, raised = stream_until_error(fake)
    # Nothing breaks at the HTTP level: only the missing message_stop tells the stream was cut.
    assert raised is None and len(text_deltas(seen)) == 3
    assert [e.type for e in seen][-1] == "content_block_delta" and fake.turns_served == 0


@pytest.mark.parametrize("kind", ["malformed", "truncate"])
def test_malformed_or_truncated_json_reply(fake: FakeMessagesAPI, kind: str) -> None:
    fake.queue_fault(kind)
    status, _, raw = raw_post(
        fake, "/v1/messages", {"model": "m", "max_tokens": 8, "messages": USER}, SDK_HEADERS
    )
    assert status == 200 and raw.startswith(b'{"id": "msg_') and not is_json(raw.decode())


def test_unknown_model_and_wrong_key() -> None:
    with FakeMessagesAPI(unknown_models=["claude-nope"], api_key="sk-right") as api:
        with pytest.raises(anthropic.AuthenticationError):
            create(api)
        good = anthropic.Anthropic(api_key="sk-right", base_url=api.base_url, max_retries=0)
        with pytest.raises(anthropic.NotFoundError, match="model: claude-nope"):
            good.messages.create(model="claude-nope", max_tokens=8, messages=USER)
        reply = good.messages.create(model="claude-test", max_tokens=8, messages=USER)
        assert reply.content[0].text == "Done."


def test_delayed_turn_times_out_and_stop_ends_the_delayed_reply() -> None:
    before = set(threading.enumerate())
    api = FakeMessagesAPI([turn("slow", delay_s=3600), "fast"]).start()
    with pytest.raises(anthropic.APITimeoutError):
        client(api, timeout=0.3).messages.create(model="claude-test", max_tokens=8, messages=USER)
    assert create(api).content[0].text == "fast"
    threads = [t for t in threading.enumerate() if t not in before]  # the server's and the slow reply's
    api.stop()
    for thread in threads:
        thread.join(30)  # a reply still waiting out its hour would be alive after this
    assert not [t.name for t in threads if t.is_alive()]


def test_hang_fault_does_not_consume_the_turn(fake: FakeMessagesAPI) -> None:
    fake.add_turns(["after the hang"])
    fake.queue_fault(fault("hang", delay_s=5))
    with pytest.raises(anthropic.APITimeoutError):
        client(fake, timeout=0.3).messages.create(model="claude-test", max_tokens=8, messages=USER)
    assert create(fake).content[0].text == "after the hang"


def test_auth_and_version_headers_required(fake: FakeMessagesAPI) -> None:
    body = {"model": "claude-test", "max_tokens": 8, "messages": USER}
    status, headers, raw = raw_post(fake, "/v1/messages", body, {"anthropic-version": "2023-06-01"})
    assert status == 401 and headers["request-id"].startswith("req_")
    assert json.loads(raw) == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "x-api-key header is required"},
    }
    status, _, raw = raw_post(fake, "/v1/messages", body, {"x-api-key": "sk-test"})
    assert status == 400 and json.loads(raw)["error"]["type"] == "invalid_request_error"
    status, _, raw = raw_post(fake, "/v1/messages", {"model": "m", "messages": USER}, SDK_HEADERS)
    assert status == 400 and json.loads(raw)["error"]["message"] == "max_tokens: Field required"
    assert [r.status for r in fake.requests] == [401, 400, 400] and fake.turns_served == 0


# -- prompt-cache billing and the request log ------------------------------------------------------


def test_prompt_cache_write_then_read(fake: FakeMessagesAPI) -> None:
    system = [
        {"type": "text", "text": "You are a careful reviewer. " * 40, "cache_control": {"type": "ephemeral"}}
    ]
    sdk = client(fake)
    first = sdk.messages.create(
        model="claude-test", max_tokens=8, tools=[WEATHER_TOOL], system=system, messages=USER
    )
    assert first.usage.cache_creation_input_tokens > 0 and first.usage.cache_read_input_tokens == 0
    follow_up = [*USER, {"role": "assistant", "content": "Done."}, {"role": "user", "content": "Thanks"}]
    second = sdk.messages.create(
        model="claude-test", max_tokens=8, tools=[WEATHER_TOOL], system=system, messages=follow_up
    )
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens > first.usage.input_tokens  # the longer tail is uncached
    u1, u2 = first.usage, second.usage
    expected = (
        u1.input_tokens
        + 1.25 * (u1.cache_creation_input_tokens or 0)
        + u2.input_tokens
        + 0.1 * (u2.cache_read_input_tokens or 0)
    )
    assert fake.effective_input_tokens == pytest.approx(expected)
    # a different system prompt misses the cache
    system2 = [{**system[0], "text": "Something else entirely. " * 40}]
    third = sdk.messages.create(
        model="claude-test", max_tokens=8, tools=[WEATHER_TOOL], system=system2, messages=USER
    )
    assert third.usage.cache_read_input_tokens == 0 and third.usage.cache_creation_input_tokens > 0


def test_billing_counts_content_not_json_framing(fake: FakeMessagesAPI) -> None:
    """A long conversation with the prefix cached bills only its uncached tail as input: the JSON
    that frames each message (keys, brackets, markers) is never billed, so input stays flat."""
    sdk = client(fake)
    mark = {"type": "ephemeral"}
    history: list[dict[str, Any]] = []
    inputs, reads = [], []
    for i in range(30):
        history.append({"role": "user", "content": [{"type": "text", "text": f"step {i:04d} " * 10}]})
        last = {"role": "user", "content": [{**history[-1]["content"][0], "cache_control": mark}]}
        sent = [*history[:-1], last]
        reply = sdk.messages.create(model="claude-test", max_tokens=8, messages=sent)
        inputs.append(reply.usage.input_tokens)
        reads.append(reply.usage.cache_read_input_tokens)
        history.append({"role": "assistant", "content": [{"type": "text", "text": "ok"}]})
    assert set(inputs) == {0}  # everything up to the breakpoint is cached content, nothing else is billed
    step, ok = 25, 1  # 100 characters / 4; "ok" rounded up
    # each request reads what the previous wrote: the whole prefix up to the previous breakpoint
    assert reads[0] == 0 and reads[1] == step and reads[29] == 29 * step + 28 * ok
    # count_tokens answers the content's tokens, the same estimator
    short = [{"role": "user", "content": "abcd" * 25}]
    count = sdk.messages.count_tokens(model="claude-test", messages=short)
    assert count.input_tokens == 25


def test_request_log_records_body_headers_and_reply(fake: FakeMessagesAPI) -> None:
    fake.add_turn([tool_use("get_weather", {"location": "Paris"})])
    create(fake, tools=[WEATHER_TOOL])
    (record,) = fake.requests
    assert record.body["messages"] == USER and record.body["tools"][0]["name"] == "get_weather"
    assert record.headers["authorization"] == "Bearer sk-test" and "anthropic-version" in record.headers
    assert record.path == "/v1/messages" and record.status == 200 and record.turn_index == 0
    assert record.reply["content"][0]["input"] == {"location": "Paris"} and record.usage is not None
    assert record.timestamp <= time.time()


def test_cli_serves_script_and_writes_log(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps({"turns": [[{"type": "text", "text": "from the CLI"}]], "faults": [{"status": 529}]})
    )
    log = tmp_path / "log.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner.testing.fake_messages",
            "--port",
            "0",
            "--script",
            str(script),
            "--log",
            str(log),
            "--turns-repeat",
            "2",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        sdk = anthropic.Anthropic(api_key="sk-test", base_url=line.split()[-1], max_retries=0)
        with pytest.raises(anthropic.APIStatusError):
            sdk.messages.create(model="claude-test", max_tokens=8, messages=USER)
        texts = [
            sdk.messages.create(model="claude-test", max_tokens=8, messages=USER).content[0].text
            for _ in range(3)
        ]
        assert texts == ["from the CLI", "from the CLI", "Done."]
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    entries = [json.loads(x) for x in log.read_text().splitlines()]
    assert [e["status"] for e in entries] == [529, 200, 200, 200]
    expected_keys = {"path", "bytes", "model", "n_tools", "tools", "usage", "effective_input", "stream"}
    assert expected_keys <= set(entries[1])
    assert entries[1]["model"] == "claude-test" and entries[1]["usage"]["input_tokens"] > 0


def test_turn_coercion_copies_blocks() -> None:
    block = tool_use("Read", {"path": "x"})
    t = Turn.coerce({"content": [block], "faults": [{"kind": "rate_limit", "retry_after": 1}]}, {})
    assert t.content == [block] and t.content[0] is not block and t.faults[0].retry_after == 1
    with pytest.raises(ValueError, match="unknown fault kind"):
        fault("teapot")
    scripted = Fault.coerce({"kind": "stream_error", "error": "invalid_request_error", "after_deltas": 0})
    assert (scripted.error, scripted.after_deltas) == ("invalid_request_error", 0)


def test_the_models_api_pages_like_the_real_one():
    import anthropic

    from runner.testing.fake_messages import FakeMessagesAPI as Fake

    ids = [f"claude-test-{n}" for n in range(5)]
    with Fake(models=ids, unknown_models=["claude-test-4"], api_key="sk-test") as fake:
        client = anthropic.Anthropic(api_key="sk-test", base_url=fake.base_url, max_retries=0)
        first = client.models.list(limit=2)
        assert [m.id for m in first.data] == ids[:2] and first.has_more and first.last_id == ids[1]
        rest = client.models.list(limit=2, after_id=first.last_id)
        assert [m.id for m in rest.data] == ids[2:4] and not rest.has_more  # claude-test-4 is not served
        before = client.models.list(limit=1, before_id=ids[2])
        assert [m.id for m in before.data] == [ids[1]] and before.has_more
        assert [m.id for m in client.models.list(limit=1)] == ids[:4]  # the SDK walks the pages
        assert client.models.retrieve(ids[0]).type == "model"
        with pytest.raises(anthropic.NotFoundError):
            client.models.retrieve("claude-test-4")
        with pytest.raises(anthropic.AuthenticationError):  # the key is checked as for messages
            client.models.list(extra_headers={"x-api-key": "sk-wrong"})
