"""Models end to end: effort, thinking, output limits and continuation, fallback, estimated costs.

The real `claude-runner run` in a subprocess against the fake Messages API; the assertions are on
the requests the fake received, the result and the exit code.
"""

from __future__ import annotations

import json

from runner.agent.continuation import CONTINUE_PROMPT
from runner.testing.fake_messages import (
    FakeMessagesAPI,
    redacted_thinking,
    text,
    thinking,
    tool_use,
    turn,
)
from tests.conftest import base_env


def run_json(run_cli, repo, *flags, env=None):
    return run_cli("run", "-p", "Look around", "--output-format", "json", *flags, cwd=repo, env=env)


def events(out):
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


# --- output limits, effort, thinking -------------------------------------------------------------


def test_max_tokens_defaults_per_model_and_effort_is_sent_as_output_config(fake, repo, run_cli):
    out = run_json(run_cli, repo, "--model", "claude-opus-5-5", "--effort", "high")
    assert out.code == 0, out.stderr
    (request,) = fake.message_requests
    assert request.body["max_tokens"] == 64000
    assert request.body["output_config"] == {"effort": "high"}
    assert "thinking" not in request.body  # Opus 5.5 always thinks: nothing to ask for
    out = run_json(run_cli, repo, "--model", "claude-3-5-haiku")
    assert fake.message_requests[-1].body["max_tokens"] == 8192  # the model's own, lower limit
    assert "output_config" not in fake.message_requests[-1].body


def test_an_effort_the_model_lacks_is_lowered_with_a_warning(fake, repo, run_cli):
    env = {**base_env(fake), "CLAUDE_CODE_EFFORT_LEVEL": "xhigh"}
    out = run_json(run_cli, repo, "--model", "claude-sonnet-4-6", env=env)
    assert out.code == 0, out.stderr
    assert fake.message_requests[0].body["output_config"] == {"effort": "high"}
    assert fake.message_requests[0].body["thinking"] == {"type": "adaptive"}
    assert "warning: claude-sonnet-4-6 has no effort level xhigh; using high" in out.stderr


def test_bad_output_limits_and_effort_are_one_line_errors(fake, repo, run_cli):
    for flags in (["--max-output-tokens", "0"], ["--max-output-tokens", "-5"], ["--effort", "extreme"]):
        out = run_json(run_cli, repo, *flags)
        assert out.code == 2, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    env = {**base_env(fake), "MAX_THINKING_TOKENS": "100"}
    out = run_json(run_cli, repo, env=env)
    assert out.code == 2 and "MAX_THINKING_TOKENS must be 0 (off) or at least 1024" in out.stderr
    assert fake.message_requests == []


def test_a_thinking_budget_and_signed_thinking_blocks_go_back_unchanged(fake, repo, run_cli):
    fake.add_turns(
        [
            [thinking("The file list will tell me."), redacted_thinking(), tool_use("LS", {})],
            turn(text("Two files."), check_thinking=True),  # 400 unless both blocks come back as served
        ]
    )
    env = {**base_env(fake), "MAX_THINKING_TOKENS": "2048"}
    out = run_json(run_cli, repo, "--model", "claude-haiku-4-5", "--allowedTools", "LS", env=env)
    assert out.code == 0, out.stderr
    assert out.result["result"] == "Two files."
    first, second = fake.message_requests
    assert first.body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    served = first.reply["content"]
    assert served[0]["signature"] and served[1]["data"]  # signed and filled in by the fake
    sent = second.body["messages"][1]["content"]
    assert [{k: v for k, v in b.items() if k != "cache_control"} for b in sent] == served


def test_the_fake_answers_400_when_thinking_is_dropped_or_edited(fake):
    import anthropic

    client = anthropic.Anthropic(api_key="sk-test", base_url=fake.base_url, max_retries=0)
    fake.add_turns([[thinking("Plan."), tool_use("LS", {})]] + [turn("ok", check_thinking=True)] * 3)
    first = client.messages.create(model="m", max_tokens=100, messages=[{"role": "user", "content": "hi"}])
    served = [b.model_dump(exclude_none=True) for b in first.content]
    tool_id = served[1]["id"]
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "a.py"}]}

    def send(assistant):
        messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": assistant}, result]
        return client.messages.create(model="m", max_tokens=100, messages=messages)

    edited = [{**served[0], "thinking": "Another plan."}, served[1]]
    for assistant, message in (
        (served[1:], "must start with a thinking block"),
        (edited, "cannot be modified"),
    ):
        try:
            send(assistant)
        except anthropic.BadRequestError as exc:
            assert message in exc.message
        else:
            raise AssertionError("the fake accepted a changed thinking block")
    assert send(served).content[0].text == "ok"  # the turn the 400s did not use


# --- a max_tokens stop is never a success ---------------------------------------------------------


def test_a_cut_off_answer_is_continued_and_joined(fake, repo, run_cli):
    fake.add_turns(
        [
            turn(thinking("Greet."), text("Hello wor"), stop_reason="max_tokens"),
            turn(text("ld!"), check_thinking=False),
        ]
    )
    out = run_json(run_cli, repo, "--max-output-tokens", "5000")
    assert out.code == 0, out.stderr
    assert out.result["subtype"] == "success" and out.result["result"] == "Hello world!"
    first, second = fake.message_requests
    assert first.body["max_tokens"] == 5000
    messages = second.body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert [b["type"] for b in messages[1]["content"]] == ["thinking", "text"]
    assert messages[2]["content"][0]["text"] == CONTINUE_PROMPT


def test_a_cut_off_tool_call_ends_with_its_own_subtype(fake, repo, run_cli):
    fake.add_turns([turn(text("Listing."), tool_use("LS", {}), stop_reason="max_tokens")])
    out = run_json(run_cli, repo, "--max-output-tokens", "100")
    assert out.code == 1
    assert out.result["subtype"] == "error_max_output_tokens" and out.result["is_error"]
    assert "a tool call was cut off at the output limit of 100 tokens" in out.result["errors"][0]
    assert len(fake.message_requests) == 1


def test_continuations_count_against_the_turn_limit(fake, repo, run_cli):
    fake.add_turns([turn(text("Part one"), stop_reason="max_tokens")] * 3)
    out = run_json(run_cli, repo, "--max-turns", "2")
    assert out.code == 1 and out.result["subtype"] == "error_max_turns"
    assert len(fake.message_requests) == 2


# --- fallback ------------------------------------------------------------------------------------


def test_an_overloaded_model_falls_back_for_that_call_only(fake, repo, run_cli):
    fake.queue_fault("overloaded")
    fake.add_turns([[tool_use("LS", {})], [text("Done listing.")]])
    out = run_cli(
        "run", "-p", "x", "--output-format", "stream-json", "--max-retries", "0", "--allowedTools", "LS",
        "--model", "claude-opus-5-5", "--fallback-model", "haiku", cwd=repo,
    )  # fmt: skip
    assert out.code == 0, out.stderr
    assert [r.body["model"] for r in fake.message_requests] == [
        "claude-opus-5-5",
        "claude-haiku-5-5",
        "claude-opus-5-5",
    ]
    notice = next(e for e in events(out) if e.get("subtype") == "model_fallback")
    assert notice["from_model"] == "claude-opus-5-5" and notice["to_model"] == "claude-haiku-5-5"
    result = events(out)[-1]
    assert result["model"] == "claude-opus-5-5"
    assert set(result["modelUsage"]) == {"claude-haiku-5-5", "claude-opus-5-5"}
    assert "warning: claude-opus-5-5 is unavailable" in out.stderr


def test_a_model_not_found_falls_back_for_the_rest_of_the_run(repo, run_cli):
    with FakeMessagesAPI(
        [[tool_use("LS", {})], [text("Listed.")]], unknown_models=["claude-opus-4-7"]
    ) as fake:
        out = run_cli(
            "run", "-p", "x", "--output-format", "json", "--allowedTools", "LS",
            "--model", "claude-opus-4-7", "--fallback-model", "claude-sonnet-5-5",
            cwd=repo, env=base_env(fake),
        )  # fmt: skip
        models = [r.body["model"] for r in fake.message_requests]
    assert out.code == 0, out.stderr
    assert models == ["claude-opus-4-7", "claude-sonnet-5-5", "claude-sonnet-5-5"]
    assert out.result["model"] == "claude-sonnet-5-5" and list(out.result["modelUsage"]) == [
        "claude-sonnet-5-5"
    ]


def test_without_a_fallback_an_overloaded_model_is_an_error(fake, repo, run_cli):
    fake.queue_fault("overloaded")
    out = run_json(run_cli, repo, "--max-retries", "0")
    assert out.code == 6 and out.result["subtype"] == "error_during_execution"


# --- prices --------------------------------------------------------------------------------------


def test_an_unknown_model_is_priced_high_and_called_an_estimate(fake, repo, run_cli):
    out = run_json(run_cli, repo, "--model", "team-gateway-model")
    assert out.code == 0, out.stderr
    assert out.result["cost_is_estimate"] is True
    assert "warning: team-gateway-model is not in the price table" in out.stderr
    usage = fake.message_requests[0].usage
    expected = (usage["input_tokens"] * 15 + usage["output_tokens"] * 75) / 1e6  # Opus 4.1's price
    assert out.result["total_cost_usd"] >= round(expected, 6) > 0
    out = run_json(run_cli, repo, "--model", "claude-sonnet-5-5")
    assert "cost_is_estimate" not in out.result
