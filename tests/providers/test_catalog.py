"""The model catalog: every provider's spelling names its model; prices as the docs list them."""

from __future__ import annotations

import pytest

from runner.providers.catalog import CHECKED, MODELS, UNKNOWN_PRICE, find_model
from runner.providers.models import PROVIDER_ALIASES


@pytest.mark.parametrize(
    "spelled, model",
    [
        ("claude-sonnet-5-5", "claude-sonnet-5-5"),
        ("claude-sonnet-5", "claude-sonnet-5"),
        ("global.anthropic.claude-fable-5-2", "claude-fable-5-2"),
        ("eu.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
        ("anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-8[1m]", "claude-opus-4-8"),
        ("claude-opus-4-0", "claude-opus-4"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-opus-5-5", "claude-opus-5-5"),
    ],
)
def test_provider_spellings_name_their_model(spelled, model):
    spec = find_model(spelled)
    assert spec is not None and spec.id == model


@pytest.mark.parametrize(
    "unknown",
    [
        "claude-opus-6",
        "claude-fable-5-3",
        "claude-sonnet-5-5-1",
        "team-sonnet",
        "arn:aws:bedrock:x:1:application-inference-profile/abc",
    ],
)
def test_newer_or_unnamed_ids_are_unknown(unknown):
    assert find_model(unknown) is None


def test_every_alias_of_every_provider_is_in_the_catalog():
    for provider, aliases in PROVIDER_ALIASES.items():
        for alias, model in aliases.items():
            assert find_model(model) is not None, (provider, alias, model)


def test_each_models_id_in_each_providers_spelling_finds_it_again():
    for spec in MODELS:
        for provider in ("anthropic", "bedrock", "vertex", "foundry"):
            assert find_model(spec.provider_id(provider)) == spec
    assert find_model("claude-opus-4-6").provider_id("bedrock") == "anthropic.claude-opus-4-6-v1"
    assert find_model("claude-sonnet-4-5").provider_id("vertex") == "claude-sonnet-4-5@20250929"


def test_an_unknown_id_costs_at_least_as_much_as_any_known_model():
    for spec in MODELS:
        assert UNKNOWN_PRICE.input >= spec.price.input and UNKNOWN_PRICE.output >= spec.price.output
    assert CHECKED == "2026-12-05"


def test_the_issues_example_sonnet_5_costs_2_and_10():
    price = find_model("claude-sonnet-5").price
    assert (price.input, price.output) == (2, 10)
