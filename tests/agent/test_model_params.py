"""The output fields each model gets: max_tokens, output_config.effort and thinking."""

from __future__ import annotations

import pytest

from runner.agent.model_params import OutputOptions, output_fields


def fields(model, max_output_tokens=None, **options):
    return output_fields(model, OutputOptions(**options), max_output_tokens)


@pytest.mark.parametrize(
    "model, max_tokens",
    [
        ("claude-sonnet-5-5", 64000),
        ("us.anthropic.claude-haiku-4-5-20251001-v1:0", 64000),
        ("claude-opus-4-1@20250805", 32000),
        ("claude-3-haiku-20240307", 4096),
        ("a-gateway-model", 64000),
    ],
)
def test_max_tokens_is_64000_or_the_models_lower_limit(model, max_tokens):
    assert fields(model)[0]["max_tokens"] == max_tokens


def test_a_max_output_above_the_models_limit_is_lowered_with_a_warning():
    sent, warnings = fields("claude-opus-4-8", 200_000)
    assert sent["max_tokens"] == 128_000
    assert warnings == ["claude-opus-4-8 writes at most 128000 tokens; max_tokens lowered from 200000"]
    assert fields("claude-opus-4-8", 1000)[0]["max_tokens"] == 1000


def test_effort_goes_where_the_model_takes_it():
    assert fields("claude-fable-5-2", effort="max")[0]["output_config"] == {"effort": "max"}
    assert fields("claude-opus-4-5", effort="xhigh")[0]["output_config"] == {"effort": "high"}
    sent, warnings = fields("claude-haiku-4-5", effort="low")
    assert "output_config" not in sent and warnings == [
        "claude-haiku-4-5 does not take an effort level; --effort low is not sent"
    ]
    assert fields("my-gateway-model", effort="xhigh")[0]["output_config"] == {"effort": "xhigh"}
    assert "output_config" not in fields("claude-opus-5-5")[0]  # the model's own default


@pytest.mark.parametrize(
    "model, budget, effort, thinking",
    [
        ("claude-opus-4-8", None, None, {"type": "adaptive"}),  # as Claude Code sends
        ("claude-sonnet-4-6", None, None, {"type": "adaptive"}),
        ("claude-haiku-4-5", None, None, None),  # no adaptive thinking: off unless asked
        ("claude-haiku-4-5", 4096, None, {"type": "enabled", "budget_tokens": 4096}),
        ("claude-sonnet-4-6", 4096, None, {"type": "enabled", "budget_tokens": 4096}),
        ("claude-opus-4-7", 4096, None, {"type": "adaptive"}),  # budgets are rejected there
        ("claude-opus-4-7", 0, None, None),
        ("claude-opus-5", 0, "high", {"type": "disabled"}),
        ("claude-haiku-5-5", 0, None, {"type": "disabled"}),
        ("claude-fable-5-2", None, None, None),  # always thinks
        ("my-gateway-model", None, None, None),
        ("my-gateway-model", 0, None, {"type": "disabled"}),
    ],
)
def test_thinking_per_model(model, budget, effort, thinking):
    assert fields(model, max_thinking_tokens=budget, effort=effort)[0].get("thinking") == thinking


def test_thinking_that_cannot_be_turned_off_warns():
    sent, warnings = fields("claude-fable-5-2", max_thinking_tokens=0)
    assert "thinking" not in sent and warnings == [
        "claude-fable-5-2 always thinks; MAX_THINKING_TOKENS=0 cannot turn it off"
    ]
    sent, warnings = fields("claude-haiku-5-5", max_thinking_tokens=0, effort="max")
    assert "thinking" not in sent and "cannot turn thinking off at effort max" in warnings[0]


def test_adaptive_thinking_can_be_left_out_for_gateways_without_it():
    assert "thinking" not in fields("claude-opus-4-8", adaptive_thinking=False)[0]
    assert fields("claude-opus-4-8", adaptive_thinking=False, max_thinking_tokens=2048)[0]["thinking"] == {
        "type": "adaptive"
    }


def test_a_budget_stays_below_max_tokens():
    sent, _ = fields("claude-haiku-4-5", 8000, max_thinking_tokens=32000)
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 7999}
