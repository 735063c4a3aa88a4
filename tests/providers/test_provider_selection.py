"""Choosing a provider: exactly one, conflicts named, each provider's model ids and prices.

Selection is tested on its own (``choose_provider``) and through ``read_provider_config`` with a
stand-in provider module and settings reader, so these tests do not depend on a cloud SDK.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import pytest

from runner.agent.usage import DEFAULT_PRICES, UNKNOWN_PRICE, price_for
from runner.errors import CredentialsError, ModelError, UsageError
from runner.providers import ProviderConfig, build_client, client_options
from runner.providers.base import ClientOptions
from runner.providers.models import resolve_model
from runner.settings.flow import flow_settings, provider_environ
from runner.settings.model import read_model_settings
from runner.settings.provider import CLOUD_SETTINGS_READERS, choose_provider, read_provider_config

KEY = {"ANTHROPIC_API_KEY": "sk-ant-test-key-0123456789"}
WIF_PROVIDER = "projects/1/locations/global/workloadIdentityPools/p/providers/g"


# --- which provider --------------------------------------------------------------------------


def test_the_anthropic_api_is_the_default():
    assert choose_provider({}) == ("anthropic", "default")
    config = read_provider_config(KEY)
    assert (config.name, config.key_source, config.is_gateway, config.needs_oidc) == (
        "anthropic",
        "ANTHROPIC_API_KEY",
        False,
        False,
    )


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on"])
def test_one_use_flag_chooses_its_provider(value):
    assert choose_provider({"CLAUDE_CODE_USE_VERTEX": value}) == ("vertex", "CLAUDE_CODE_USE_VERTEX")


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off"])
def test_off_flags_are_ignored(value):
    assert choose_provider({"CLAUDE_CODE_USE_BEDROCK": value})[0] == "anthropic"


def test_two_providers_at_once_are_refused_naming_both():
    env = {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_USE_VERTEX": "1"}
    with pytest.raises(UsageError) as info:
        read_provider_config({**env, **KEY})
    assert "CLAUDE_CODE_USE_BEDROCK and CLAUDE_CODE_USE_VERTEX" in info.value.message
    assert info.value.exit_code == 2 and "one" in info.value.fix


def test_an_explicit_provider_must_agree_with_the_flags():
    with pytest.raises(UsageError, match=r"provider anthropic .* conflicts with CLAUDE_CODE_USE_FOUNDRY"):
        choose_provider({"CLAUDE_CODE_USE_FOUNDRY": "1"}, "anthropic")
    with pytest.raises(UsageError, match=r"CLAUDE_RUNNER_PROVIDER.*CLAUDE_CODE_USE_VERTEX"):
        choose_provider({"CLAUDE_RUNNER_PROVIDER": "bedrock", "CLAUDE_CODE_USE_VERTEX": "true"})
    assert choose_provider({"CLAUDE_CODE_USE_BEDROCK": "1"}, "Bedrock") == ("bedrock", "provider setting")


def test_the_setting_wins_over_the_variable():
    env = {"CLAUDE_RUNNER_PROVIDER": "bedrock"}
    assert choose_provider(env) == ("bedrock", "CLAUDE_RUNNER_PROVIDER")
    assert choose_provider(env, "anthropic") == ("anthropic", "provider setting")


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"CLAUDE_RUNNER_PROVIDER": "openai"}, "unknown provider 'openai'"),
        ({"CLAUDE_CODE_USE_BEDROCK": "maybe"}, "CLAUDE_CODE_USE_BEDROCK must be 1 or 0"),
        ({"CLAUDE_CODE_USE_MANTLE": "1"}, "CLAUDE_CODE_USE_MANTLE"),
        ({"CLAUDE_CODE_USE_ANTHROPIC_AWS": "1"}, "Claude Platform on AWS"),
    ],
)
def test_unusable_selections_are_usage_errors(env, needle):
    with pytest.raises(UsageError, match=needle):
        read_provider_config({**env, **KEY})


def test_no_credentials_at_all_names_the_variable():
    with pytest.raises(CredentialsError) as info:
        read_provider_config({})
    assert "no Anthropic credentials" in info.value.message and "ANTHROPIC_API_KEY" in info.value.fix


# --- gateways --------------------------------------------------------------------------------


def test_a_gateway_takes_a_bearer_token_and_custom_headers():
    env = {
        "ANTHROPIC_BASE_URL": "https://llm.example.com/anthropic/",
        "ANTHROPIC_AUTH_TOKEN": "gateway-token-0123456789",
        "ANTHROPIC_CUSTOM_HEADERS": "X-Team: web\nX-Gateway-Key: abcdefgh12345",
        "API_TIMEOUT_MS": "90000",
    }
    config = read_provider_config(env)
    assert config.is_gateway and config.key_source == "ANTHROPIC_AUTH_TOKEN"
    assert config.base_url == "https://llm.example.com/anthropic" and config.timeout_s == 90
    assert set(config.secrets()) == {"gateway-token-0123456789", "abcdefgh12345"}
    assert "gateway https://llm.example.com/anthropic" in config.describe()
    client = build_client(config)
    assert client.auth_token == "gateway-token-0123456789" and client.api_key is None
    assert str(client.base_url).startswith("https://llm.example.com/anthropic")
    assert client.default_headers["X-Team"] == "web"
    assert client.max_retries == 0 and client.timeout == 90


# --- dispatch to provider modules -----------------------------------------------------------


@dataclass(frozen=True)
class StubSettings:
    region: str
    needs_oidc: bool = True
    oidc_audience: str = "sts.amazonaws.com"
    key_source: str = "AWS_ROLE_TO_ASSUME"
    is_gateway: bool = False

    def describe(self) -> str:
        return f"region {self.region}"


@pytest.fixture
def stub_bedrock(monkeypatch):
    """A stand-in ``runner.providers.bedrock`` (and its settings reader) that records what it is given."""
    module = types.ModuleType("runner.providers.bedrock")
    calls: list[tuple[object, ClientOptions]] = []

    def read_stub_settings(env):
        if not env.get("AWS_REGION"):
            raise CredentialsError("AWS_REGION is not set", "set aws_region")
        return StubSettings(env["AWS_REGION"])

    def build(settings, options):
        calls.append((settings, options))
        return "client"

    module.build_client = build
    module.secrets = lambda settings: ["stub-secret-value"]
    module.calls = calls
    monkeypatch.setitem(sys.modules, "runner.providers.bedrock", module)
    monkeypatch.setitem(CLOUD_SETTINGS_READERS, "bedrock", read_stub_settings)
    return module


def test_a_cloud_provider_gets_its_modules_settings_and_client(stub_bedrock):
    env = {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "eu-west-1", "ANTHROPIC_CUSTOM_HEADERS": "X-A: b"}
    config = read_provider_config(env)
    assert config.name == "bedrock" and config.settings == StubSettings("eu-west-1")
    assert config.needs_oidc and config.oidc_audience == "sts.amazonaws.com"
    assert config.key_source == "AWS_ROLE_TO_ASSUME" and not config.is_gateway
    assert config.describe() == "Amazon Bedrock (CLAUDE_CODE_USE_BEDROCK): region eu-west-1"
    assert "stub-secret-value" in config.secrets()
    seen: list[str] = []
    assert build_client(config, client_options(config, on_secret=seen.append)) == "client"
    (settings, options), *_ = stub_bedrock.calls
    assert settings is config.settings and dict(options.headers) == {"X-A": "b"}
    assert options.on_secret is not None


def test_a_provider_modules_error_names_its_variable(stub_bedrock):
    with pytest.raises(CredentialsError, match="AWS_REGION"):
        read_provider_config({"CLAUDE_RUNNER_PROVIDER": "bedrock"})


def test_a_missing_provider_module_is_a_usage_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "runner.providers.foundry", None)
    with pytest.raises(UsageError, match="Microsoft Foundry is not available"):
        read_provider_config({"CLAUDE_CODE_USE_FOUNDRY": "1"})


def test_the_real_bedrock_module_plugs_in():
    pytest.importorskip("runner.providers.bedrock")
    config = read_provider_config({"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "us-east-1"})
    assert config.name == "bedrock" and config.settings.region == "us-east-1"
    with pytest.raises(CredentialsError, match="AWS_REGION"):
        read_provider_config({"CLAUDE_CODE_USE_BEDROCK": "1"})


def test_anthropic_configs_keep_their_defaults():
    config = ProviderConfig(api_key="sk-ant-x-0123456789")
    assert config.label == "Anthropic API" and config.oidc_audience is None


# --- the flow's inputs ----------------------------------------------------------------------


def test_provider_inputs_become_the_variables_the_modules_read():
    settings = flow_settings(
        {
            "INPUT_PROVIDER": "Bedrock",
            "INPUT_AWS_ROLE_TO_ASSUME": "arn:aws:iam::123456789012:role/claude",
            "INPUT_AWS_REGION": "eu-central-1",
            "INPUT_GCP_WORKLOAD_IDENTITY_PROVIDER": WIF_PROVIDER,
            "INPUT_GCP_SERVICE_ACCOUNT": "claude@p.iam.gserviceaccount.com",
            "OIDC_TOKEN_VARIABLE": "MY_ID_TOKEN",  # a GitLab job variable (no INPUT_ prefix)
            "INPUT_USE_VERTEX": "true",
        }
    )
    env = provider_environ(settings, {"AWS_REGION": "us-east-1", "PATH": "/bin"})
    assert env["CLAUDE_RUNNER_PROVIDER"] == "bedrock" and env["CLAUDE_CODE_USE_VERTEX"] == "1"
    assert env["AWS_ROLE_TO_ASSUME"] == "arn:aws:iam::123456789012:role/claude"
    assert env["AWS_REGION"] == "eu-central-1"  # the input wins over the job's variable
    assert env["GCP_SERVICE_ACCOUNT"] == "claude@p.iam.gserviceaccount.com"
    assert env["GCP_WORKLOAD_IDENTITY_PROVIDER"].endswith("/providers/g")
    assert env["CLAUDE_OIDC_TOKEN_VARIABLE"] == "MY_ID_TOKEN" and env["PATH"] == "/bin"
    # ...and the run then refuses the contradiction, naming both sides.
    with pytest.raises(UsageError, match=r"bedrock .* conflicts with CLAUDE_CODE_USE_VERTEX"):
        choose_provider(env)


def test_an_unknown_provider_input_is_refused():
    with pytest.raises(UsageError, match="input provider must be one of"):
        flow_settings({"INPUT_PROVIDER": "azure"})


# --- model ids per provider -----------------------------------------------------------------


@pytest.mark.parametrize(
    "provider, alias, expected",
    [
        ("anthropic", "opus", "claude-opus-5-5"),
        ("anthropic", None, "claude-sonnet-5-5"),
        ("bedrock", "opus", "us.anthropic.claude-opus-4-6-v1"),
        ("bedrock", None, "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("bedrock", "haiku", "us.anthropic.claude-haiku-4-5-20251001-v1:0"),
        ("vertex", "opus", "claude-opus-4-6"),
        ("vertex", "sonnet", "claude-sonnet-4-5@20250929"),
        ("vertex", "haiku", "claude-haiku-4-5@20251001"),
        ("foundry", "opus", "claude-opus-4-6"),
        ("foundry", None, "claude-sonnet-4-5"),
        ("foundry", "haiku", "claude-haiku-4-5"),
    ],
)
def test_aliases_resolve_in_each_providers_spelling(provider, alias, expected):
    assert resolve_model(alias, read_model_settings({}), provider=provider) == expected


@pytest.mark.parametrize("provider", ["anthropic", "bedrock", "vertex", "foundry"])
def test_pins_win_on_every_provider(provider):
    env = {"ANTHROPIC_DEFAULT_OPUS_MODEL": "pinned-opus", "ANTHROPIC_MODEL": "opus"}
    assert resolve_model(None, read_model_settings(env), provider=provider) == "pinned-opus"


@pytest.mark.parametrize(
    "model",
    [
        "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123",
        "my-foundry-deployment",
    ],
)
def test_cloud_providers_accept_any_id(model):
    for provider in ("bedrock", "vertex", "foundry"):
        assert resolve_model(model, read_model_settings({}), provider=provider) == model
    with pytest.raises(ModelError):
        resolve_model(model, read_model_settings({}), provider="anthropic")


# --- prices for every spelling --------------------------------------------------------------


@pytest.mark.parametrize(
    "model, output_price",
    [
        ("us.anthropic.claude-opus-4-6-v1", 25),
        ("anthropic.claude-opus-4-1-20250805-v1:0", 75),
        ("eu.anthropic.claude-haiku-4-5-20251001-v1:0", 5),
        ("anthropic.claude-3-haiku-20240307-v1:0", 1.25),
        ("claude-sonnet-4-5@20250929", 15),
        ("claude-3-5-haiku@20241022", 4),
        ("claude-opus-4-6", 25),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            15,
        ),
        ("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-4-1-20250805-v1:0", 75),
    ],
)
def test_every_provider_spelling_finds_its_price(model, output_price):
    assert price_for(model, DEFAULT_PRICES).output == output_price


def test_an_arn_that_names_no_model_is_unknown():
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/team-sonnet"
    assert price_for(arn, DEFAULT_PRICES) == UNKNOWN_PRICE
    # A name that merely contains a family is a guess too: priced as the most expensive model.
    assert price_for("team-sonnet-deployment", DEFAULT_PRICES) == UNKNOWN_PRICE
