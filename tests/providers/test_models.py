import pytest

from runner.errors import ModelError
from runner.providers.models import resolve_model
from runner.settings.model import read_model_settings


def test_aliases_resolve_and_can_be_pinned():
    assert resolve_model("sonnet", read_model_settings({})) == "claude-sonnet-5-5"
    assert resolve_model("OPUS", read_model_settings({})) == "claude-opus-5-5"
    assert resolve_model(
        "haiku", read_model_settings({"ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-4-5-20251001"})
    ) == ("claude-haiku-4-5-20251001")


def test_flag_beats_env_beats_default():
    assert resolve_model(None, read_model_settings({})) == "claude-sonnet-5-5"
    assert (
        resolve_model(None, read_model_settings({"ANTHROPIC_MODEL": "claude-opus-4-6"})) == "claude-opus-4-6"
    )
    assert (
        resolve_model("claude-haiku-4-5", read_model_settings({"ANTHROPIC_MODEL": "opus"}))
        == "claude-haiku-4-5"
    )


def test_unknown_model_is_refused_with_a_suggestion():
    with pytest.raises(ModelError, match="not a recognized model id") as info:
        resolve_model("sonet", read_model_settings({}))
    assert "sonnet" in info.value.fix


def test_gateways_accept_any_model_name():
    assert resolve_model("gpt-oss-proxy", read_model_settings({}), strict=False) == "gpt-oss-proxy"
