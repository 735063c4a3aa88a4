import pytest

from runner.errors import ModelError
from runner.providers.models import resolve_model


def test_aliases_resolve_and_can_be_pinned():
    assert resolve_model("sonnet", {}) == "claude-sonnet-5"
    assert resolve_model("OPUS", {}) == "claude-opus-4-8"
    assert resolve_model("haiku", {"ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-4-5-20251001"}) == (
        "claude-haiku-4-5-20251001"
    )


def test_flag_beats_env_beats_default():
    assert resolve_model(None, {}) == "claude-sonnet-5"
    assert resolve_model(None, {"ANTHROPIC_MODEL": "claude-opus-4-6"}) == "claude-opus-4-6"
    assert resolve_model("claude-haiku-4-5", {"ANTHROPIC_MODEL": "opus"}) == "claude-haiku-4-5"


def test_unknown_model_is_refused_with_a_suggestion():
    with pytest.raises(ModelError, match="not a recognized model id") as info:
        resolve_model("sonet", {})
    assert "sonnet" in info.value.fix


def test_gateways_accept_any_model_name():
    assert resolve_model("gpt-oss-proxy", {}, strict=False) == "gpt-oss-proxy"
