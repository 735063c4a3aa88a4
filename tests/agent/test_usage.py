import json

import pytest

from runner.agent.usage import DEFAULT_PRICES, UNKNOWN_PRICE, UsageTracker, load_price_table, price_for
from runner.errors import SettingsError


def test_cost_counts_each_token_kind_at_its_price():
    tracker = UsageTracker()
    cost = tracker.add(
        "claude-sonnet-4-5",
        {
            "input_tokens": 10_000,
            "output_tokens": 10_000,
            "cache_creation_input_tokens": 10_000,
            "cache_read_input_tokens": 10_000,
        },
    )
    assert cost == pytest.approx((3 + 15 + 3.75 + 0.3) / 100)
    assert tracker.total_cost_usd == pytest.approx(cost)


def test_usage_is_summed_per_model():
    tracker = UsageTracker()
    tracker.add("claude-haiku-4-5", {"input_tokens": 10, "output_tokens": 5})
    tracker.add("claude-haiku-4-5", {"input_tokens": 1, "output_tokens": 1, "cache_read_input_tokens": 7})
    tracker.add("claude-opus-4-8", {"input_tokens": 100})
    assert tracker.totals() == {
        "input_tokens": 111,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 7,
        "output_tokens": 6,
    }
    per_model = tracker.model_usage()
    assert per_model["claude-haiku-4-5"]["inputTokens"] == 11
    assert per_model["claude-opus-4-8"]["costUSD"] == pytest.approx(100 * 5 / 1e6)


def test_provider_spellings_find_their_price():
    assert price_for("us.anthropic.claude-sonnet-4-5-20250929-v1:0", DEFAULT_PRICES).output == 15
    assert price_for("claude-opus-4-1@20250805", DEFAULT_PRICES).input == 15
    assert price_for("my-gateway-model", DEFAULT_PRICES) == UNKNOWN_PRICE


def test_user_price_table_overrides(tmp_path):
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"claude-sonnet-5": {"input": 1, "output": 2, "cache_read": 0}}))
    prices = load_price_table(table)
    tracker = UsageTracker(prices=prices)
    cost = tracker.add("claude-sonnet-5", {"input_tokens": 1_000_000, "cache_read_input_tokens": 1_000_000})
    assert cost == pytest.approx(1.0)
    assert prices["claude-sonnet-5"].cache_write == 1.25


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"m": {"input": 1}}', "needs numbers for input and output"),
        ('{"m": {"input": -1, "output": 1}}', "non-negative"),
    ],
)
def test_bad_price_tables_say_what_to_fix(tmp_path, content, message):
    table = tmp_path / "prices.json"
    table.write_text(content)
    with pytest.raises(SettingsError, match=message):
        load_price_table(table)


def test_an_unknown_model_is_an_estimate_at_the_highest_price():
    tracker = UsageTracker()
    cost = tracker.add("claude-opus-6", {"input_tokens": 1000, "output_tokens": 1000})
    assert cost == pytest.approx((1000 * UNKNOWN_PRICE.input + 1000 * UNKNOWN_PRICE.output) / 1e6)
    assert tracker.cost_is_estimate and tracker.estimated == {"claude-opus-6"}
    known = UsageTracker()
    known.add("claude-sonnet-5-5", {"input_tokens": 1})
    assert not known.cost_is_estimate


def test_a_long_prompt_is_billed_at_the_long_context_rate():
    short, long = UsageTracker(), UsageTracker()
    assert short.add("claude-haiku-5-5", {"input_tokens": 100_000, "output_tokens": 1000}) == pytest.approx(
        (100_000 * 0.1 + 1000 * 0.5) / 1e6
    )
    assert long.add("claude-haiku-5-5", {"input_tokens": 90_000, "cache_read_input_tokens": 20_000}) == (
        pytest.approx((90_000 * 0.5 + 20_000 * 0.05) / 1e6)
    )


def test_hour_long_cache_writes_cost_their_own_rate():
    tracker = UsageTracker()
    usage = {"cache_creation_input_tokens": 3000, "cache_creation": {"ephemeral_1h_input_tokens": 1000}}
    assert tracker.add("claude-opus-5-5", usage) == pytest.approx((2000 * 5 + 1000 * 8) / 1e6)
