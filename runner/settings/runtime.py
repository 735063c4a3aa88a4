"""What a run takes from the process environment besides its flags, read once at the edge.

``Runtime`` carries the provider settings (Claude Code's variables: the provider choice and its
credentials, the model variables, the OIDC token source) and the tools' environment. The
provider settings are read eagerly but a bad one is kept as its error, raised when the run needs
the provider: a CI job that is not asked for anything must not fail on them, and a job that is
asked reports them in its pre-flight, before it posts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from runner.agent.env import ToolEnvironment, tool_environment
from runner.errors import RunnerError
from runner.providers import ProviderConfig
from runner.settings.flow import FlowSettings, flow_settings, provider_environ
from runner.settings.model import ModelSettings, read_model_settings
from runner.settings.oidc import OidcSettings, read_oidc_settings
from runner.settings.provider import read_provider_config


@dataclass(frozen=True)
class ProviderSettings:
    """Everything a provider client is built from (no network has been touched)."""

    config: ProviderConfig
    models: ModelSettings = field(default_factory=ModelSettings)
    oidc: OidcSettings = field(default_factory=OidcSettings)


@dataclass(frozen=True)
class Runtime:
    """The provider settings (or why they cannot be used) and the tools' environment."""

    provider_settings: ProviderSettings | RunnerError
    tools: ToolEnvironment = field(default_factory=ToolEnvironment)

    def provider(self) -> ProviderSettings:
        """The provider settings; raises the ``RunnerError`` that reading them met."""
        if isinstance(self.provider_settings, RunnerError):
            raise self.provider_settings
        return self.provider_settings


def read_provider_settings(env: Mapping[str, str], *, provider: str | None = None) -> ProviderSettings:
    """The provider settings Claude Code reads; a missing or bad one raises ``RunnerError``.

    ``provider`` (a flag or input) wins over ``CLAUDE_RUNNER_PROVIDER``.
    """
    return ProviderSettings(
        config=read_provider_config(env, provider=provider),
        models=read_model_settings(env),
        oidc=read_oidc_settings(env),
    )


def read_runtime(env: Mapping[str, str], *, provider: str | None = None) -> Runtime:
    """The ``Runtime`` of this process; provider errors are kept for when the provider is needed."""
    settings: ProviderSettings | RunnerError
    try:
        settings = read_provider_settings(env, provider=provider)
    except RunnerError as exc:
        settings = exc
    return Runtime(settings, tool_environment(env, withheld=read_oidc_settings(env).withheld))


def read_flow_runtime(env: Mapping[str, str], flow: FlowSettings) -> Runtime:
    """The ``Runtime`` of a CI flow: its provider inputs win over the job's variables."""
    return read_runtime(provider_environ(flow, env), provider=flow.provider)


def read_doctor_runtime(env: Mapping[str, str], *, provider: str | None = None) -> Runtime:
    """The ``Runtime`` ``claude-runner doctor`` checks: the CI flows' inputs applied as the flows
    apply them (``INPUT_PROVIDER``, ``INPUT_USE_BEDROCK``, ``INPUT_AWS_REGION``, ...), so a doctor
    step in a job checks what the job uses. A bad input is the settings step's error."""
    try:
        inputs = flow_settings(env)
    except RunnerError as exc:
        return Runtime(exc, tool_environment(env))
    return read_runtime(provider_environ(inputs, env), provider=provider or inputs.provider)
