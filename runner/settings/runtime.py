"""What a run takes from the process environment besides its flags, read once at the edge.

``Runtime`` carries the provider settings (Claude Code's variables: the provider choice and its
credentials, the model variables, the OIDC token source), the tools' environment (the allowlist,
plus ``TOOL_ENV_PASSTHROUGH`` / the ``tool_env_passthrough`` input: comma-separated names to
pass on purpose) and where the sandbox's ``bwrap`` is (``CLAUDE_RUNNER_BWRAP``, else ``PATH``). The
provider settings are read eagerly but a bad one is kept as its error, raised when the run needs
the provider: a CI job that is not asked for anything must not fail on them, and a job that is
asked reports them in its pre-flight, before it posts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runner.agent.context import ContextSettings
from runner.agent.env import ToolEnvironment, tool_environment
from runner.errors import RunnerError
from runner.providers import ProviderConfig
from runner.settings.context import read_context_settings
from runner.settings.duo import duo_environ
from runner.settings.flow import FlowSettings, flow_settings, provider_environ
from runner.settings.mcp import McpRuntime, read_mcp_runtime
from runner.settings.model import ModelSettings, read_model_settings
from runner.settings.oidc import OidcSettings, read_oidc_settings
from runner.settings.provider import read_provider_config
from runner.settings.telemetry import TelemetrySettings, read_telemetry_settings
from runner.settings.tools import ToolSettings, read_tool_settings


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
    bwrap: str | None = None  # where bubblewrap is, for the OS sandbox; None: not found
    context: ContextSettings = field(default_factory=ContextSettings)  # compaction variables
    mcp: McpRuntime = field(default_factory=McpRuntime)  # MCP timeouts, the ${VAR} expansion values
    claude_config_dir: Path | None = None  # user settings: $CLAUDE_CONFIG_DIR, else ~/.claude
    tool_settings: ToolSettings = field(default_factory=ToolSettings)  # Bash timeouts, WebFetch
    # Plugin marketplaces and plugins cloned from git, kept between runs: CLAUDE_RUNNER_PLUGIN_CACHE,
    # else $XDG_CACHE_HOME/claude-runner/plugins, else ~/.cache/claude-runner/plugins.
    plugin_cache: Path = Path("~/.cache/claude-runner/plugins")
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)  # OTEL_*: spans, metrics

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


def read_runtime(
    env: Mapping[str, str], *, provider: str | None = None, passthrough: str | None = None
) -> Runtime:
    """The ``Runtime`` of this process; provider errors are kept for when the provider is needed.

    ``passthrough``: the names to pass to tools (default: ``TOOL_ENV_PASSTHROUGH``).
    """
    settings: ProviderSettings | RunnerError
    try:
        settings = read_provider_settings(env, provider=provider)
    except RunnerError as exc:
        settings = exc
    names = passthrough if passthrough is not None else env.get("TOOL_ENV_PASSTHROUGH", "")
    tools = tool_environment(env, withheld=read_oidc_settings(env).withheld, passthrough=split_names(names))
    config_dir = env.get("CLAUDE_CONFIG_DIR", "").strip()
    claude_dir = Path(config_dir) if config_dir else tools.home / ".claude"
    return Runtime(
        settings,
        tools,
        read_bwrap(env),
        read_context_settings(env),
        read_mcp_runtime(env),
        claude_config_dir=claude_dir,
        tool_settings=read_tool_settings(env),
        plugin_cache=read_plugin_cache(env, tools.home),
        telemetry=read_telemetry_settings(env),
    )


def read_plugin_cache(env: Mapping[str, str], home: Path) -> Path:
    """Where cloned plugin marketplaces are cached (see ``Runtime.plugin_cache``)."""
    if env.get("CLAUDE_RUNNER_PLUGIN_CACHE", "").strip():
        return Path(env["CLAUDE_RUNNER_PLUGIN_CACHE"].strip()).expanduser()
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else home / ".cache") / "claude-runner" / "plugins"


def read_bwrap(env: Mapping[str, str]) -> str | None:
    """Where ``bwrap`` is: ``CLAUDE_RUNNER_BWRAP`` (a path, or empty to go without), else ``PATH``."""
    if "CLAUDE_RUNNER_BWRAP" in env:
        return env["CLAUDE_RUNNER_BWRAP"].strip() or None
    import shutil  # here: shutil loads the compression modules

    return shutil.which("bwrap", path=env.get("PATH"))


def split_names(value: str) -> tuple[str, ...]:
    """``"A, B\nC"`` -> ``("A", "B", "C")``: variable names, comma- or line-separated."""
    return tuple(n.strip() for n in value.replace("\n", ",").split(",") if n.strip())


def read_flow_runtime(env: Mapping[str, str], flow: FlowSettings) -> Runtime:
    """The ``Runtime`` of a CI flow: its provider inputs win over the job's variables."""
    return read_runtime(
        provider_environ(flow, env), provider=flow.provider, passthrough=flow.tool_env_passthrough
    )


def read_doctor_runtime(env: Mapping[str, str], *, provider: str | None = None) -> Runtime:
    """The ``Runtime`` ``claude-runner doctor`` checks: the CI flows' inputs applied as the flows
    apply them (``INPUT_PROVIDER``, ``INPUT_USE_BEDROCK``, ``INPUT_AWS_REGION``, ...), so a doctor
    step in a job checks what the job uses (a GitLab Duo flow's gateway token included). A bad
    input is the settings step's error."""
    env = duo_environ(env)
    try:
        inputs = flow_settings(env)
    except RunnerError as exc:
        return Runtime(exc, tool_environment(env), read_bwrap(env), mcp=read_mcp_runtime(env))
    return read_runtime(provider_environ(inputs, env), provider=provider or inputs.provider)
