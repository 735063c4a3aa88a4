"""``claude-runner run``: one headless agent turn in a local workspace, like ``claude -p``.

Assembles the values the loop needs (workspace, provider, model, permissions, tools,
prompt), runs it, prints the result, and maps the outcome to an exit code.
"""

from __future__ import annotations

import dataclasses
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from runner.agent import permissions
from runner.agent.agent_defs import AgentDefinition
from runner.agent.agent_sources import agent_tool, run_agents
from runner.agent.cancel import CancelToken
from runner.agent.claude_setup import ClaudeSetup, claude_setup
from runner.agent.context import plan_context
from runner.agent.env import protect_process_environ, wipe_process_environ, with_settings_env
from runner.agent.extensions import (
    Extensions,
    expand_prompt,
    extension_agents,
    skill_tool,
    with_plugin_hooks,
    workspace_extensions,
)
from runner.agent.flag_checks import append_prompt_warning, unknown_tool_warnings
from runner.agent.live_log import tee
from runner.agent.loop import AgentOutcome, AgentSpec, Limits, run_agent
from runner.agent.model_params import OutputOptions
from runner.agent.permission_rules import names_tool
from runner.agent.prompt import MemoryFile, build_system_prompt, find_repo_root
from runner.agent.retry import RetryPolicy
from runner.agent.sandbox import Sandbox, SandboxPlan, plan_sandbox
from runner.agent.sandbox_settings import merge_sandbox
from runner.agent.settings_sources import settings_sources
from runner.agent.structured import StructuredOutputTool, load_schema
from runner.agent.subagents import SUBAGENT_TOOLS, bind_subagents
from runner.agent.tools import BASH_COMPANIONS, build_tools
from runner.agent.tools.base import Tool, ToolContext
from runner.agent.tools.bash import Bash
from runner.agent.tools.skill import SkillTool
from runner.agent.toolset import equip, offered_tools, server_tools
from runner.agent.transcript import EventSink, opening_messages
from runner.agent.usage import DEFAULT_PRICES, Price, UsageTracker, load_price_table
from runner.errors import (
    EXIT_RUN_FAILED,
    CredentialsError,
    ModelError,
    OutputError,
    ProviderError,
    RunnerError,
    WorkspaceError,
)
from runner.mcp.config import PROJECT_FILE
from runner.mcp.servers import McpPlan, plan_mcp, running_mcp
from runner.providers import ProviderConfig, build_client, client_options
from runner.providers.base import TokenSource
from runner.providers.catalog import default_max_tokens
from runner.providers.models import context_window, resolve_model
from runner.providers.oidc import token_source
from runner.sanitize import Redactor
from runner.settings.run import RunSettings
from runner.settings.runtime import Runtime
from runner.telemetry.setup import open_telemetry


@dataclass
class PreparedRun:
    """A run assembled and validated, ready to execute: nothing has touched the network yet."""

    spec: AgentSpec
    provider: ProviderConfig
    prices: Mapping[str, Price]
    redactor: Redactor
    oidc: TokenSource | None = None  # set when the provider trades the job's OIDC token
    secret_names: frozenset[str] = frozenset()  # wiped from the start-up environment block
    sandbox: SandboxPlan | None = field(default=None)  # the OS sandbox Bash runs in; None: none
    mcp: McpPlan | None = None  # the MCP servers to start; None: none
    setup: ClaudeSetup | None = None  # what the Claude Code settings and flags added


def prepare_run(
    settings: RunSettings,
    runtime: Runtime,
    *,
    extra_tools: Sequence[Tool] = (),
    trusted_settings: Sequence[permissions.SettingsPermissions] | None = None,
    memory: list[MemoryFile] | None = None,
    redactor: Redactor | None = None,
    warn: Callable[[str], None] | None = None,
    local_git: bool = True,
    read_only_rules: Sequence[str] = (),
    project_mcp_json: str | None = None,
    extensions: Extensions | None = None,
    project_agents: Sequence[AgentDefinition] | None = None,
    plugin_agents: Sequence[AgentDefinition] = (),
) -> PreparedRun:
    """Resolve and check everything a run needs; user mistakes raise ``RunnerError`` here.

    ``trusted_settings`` and ``memory`` replace what would be read from the workspace: the
    CI flows pass what they read from the default branch, never the pull request's head.
    ``runtime``: the provider settings (their error is raised here) and the tools' environment.
    ``redactor``: the caller's, to share (a flow's comments then hide the tokens minted in the run).
    ``warn``: where warnings go (a sandbox that cannot start, a refused passthrough); default stderr.
    ``local_git``: False in the CI flows, which commit and push themselves (see ``build_system_prompt``).
    ``read_only_rules``: allow rules for commands that change nothing (the flows' read-only git),
    added to ``claude_args``' and holding in plan mode too.
    ``project_mcp_json``: with ``trusted_settings``, the trusted ``.mcp.json`` (the workspace's is
    read only when the settings are read from the workspace too).
    ``project_agents``: with ``trusted_settings``, the trusted ``.claude/agents`` (likewise);
    ``plugin_agents``: agents offered under their namespaced names, with the loaded plugins' own;
    ``extensions``: the run's commands, skills and plugins already loaded (the CI flows, by
    ``flow/extensions.py``, with ``settings`` as it returned them); None: loaded here.
    """
    warn = warn or _say_once
    cwd = _real_dir(settings.cwd, "working directory")
    provider = runtime.provider()
    config = provider.config
    redactor = redactor or Redactor()
    sources = settings_sources(settings, cwd, trusted_settings, runtime.claude_config_dir)
    setup = claude_setup(
        settings,
        sources,
        cwd=cwd,
        config_dir=runtime.claude_config_dir,
        trusted_project=trusted_settings is not None,
        warn=warn,
        redactor=redactor,
    )
    settings, ext = (settings, extensions) if extensions else workspace_extensions(
        settings, setup.keys, cwd=cwd, config_dir=runtime.claude_config_dir, warn=warn,
        trusted=trusted_settings is not None, cache_dir=runtime.plugin_cache.expanduser(),
        log=lambda line: setup.debug("settings", line),
    )  # fmt: skip
    setup.keys = with_plugin_hooks(setup.keys, ext)
    add_dirs = tuple(_real_dir(d, "--add-dir") for d in settings.add_dirs)
    model = resolve_model(
        # Claude Code's order: --model, ANTHROPIC_MODEL, the settings' model.
        settings.model or (None if provider.models.model else setup.keys.model),
        provider.models,
        provider=config.name,
        strict=config.name == "anthropic" and not config.is_gateway,
    )
    policy = _policy(settings, cwd, add_dirs, runtime.tools.home, sources, read_only_rules)
    offer_skill = settings.builtin_tools is None or "Skill" in settings.builtin_tools  # --tools
    skill = skill_tool(ext, policy, warn) if offer_skill else None
    tools = [*_offered_tools(policy, settings.builtin_tools, warn), *extra_tools, *([skill] if skill else [])]
    agents = run_agents(
        settings,
        cwd=cwd,
        config_dir=runtime.claude_config_dir,
        project_agents=project_agents,
        trusted_project=trusted_settings is not None,
        warn=warn,
        plugin_agents=[*plugin_agents, *extension_agents(ext, warn)],
    )
    strict_models = config.name == "anthropic" and not config.is_gateway
    subagents = agent_tool(
        settings,
        policy,
        agents,
        lambda name: resolve_model(name, provider.models, provider=config.name, strict=strict_models),
        warn,
    )
    tools += [subagents] if subagents is not None else []  # after the tools its subagents may use
    known = (
        {t.name for t in (*build_tools(), *extra_tools)}
        | SUBAGENT_TOOLS
        | {SkillTool.name}
        | ({StructuredOutputTool.name} if settings.json_schema else set())
    )
    for line in unknown_tool_warnings((*settings.allowed_tools, *settings.disallowed_tools), known):
        warn(line)
    append_warning = append_prompt_warning(settings.append_system_prompt, cwd)
    if append_warning:
        warn(append_warning)
    tool_env = with_settings_env(runtime.tools, [pair for source in sources for pair in source.env])
    sandbox, warnings = plan_sandbox(
        merge_sandbox([s.sandbox for s in sources], cwd=cwd, home=tool_env.home),
        default_on=settings.sandbox_by_default,
        bwrap=runtime.bwrap,
        roots=policy.roots,
        home=tool_env.home,
    )
    mcp, mcp_warnings = plan_mcp(
        settings.mcp_config,
        strict=settings.strict_mcp_config,
        project_json=project_mcp_json if trusted_settings is not None else _workspace_mcp_json(settings, cwd),
        approvals=[s.mcp_json for s in sources],
        runtime=runtime.mcp,
        base_dir=Path.cwd(),
    )
    for line in (*tool_env.warnings, *warnings, *mcp_warnings):
        warn(line if line.startswith("warning: ") else f"warning: {line}")
    structured = StructuredOutputTool(load_schema(settings.json_schema)) if settings.json_schema else None
    prices = load_price_table(settings.price_table) if settings.price_table else DEFAULT_PRICES
    # OIDC material may sit in a variable of any name (GitLab id_tokens): the tools' environment
    # lacks it and its secret values include it.
    redactor.add(*tool_env.secret_values, *config.secrets(), *(mcp.secret_values if mcp else ()))
    oidc = token_source(provider.oidc, on_token=redactor.add) if config.needs_oidc else None
    workspace = equip(
        ToolContext(cwd=cwd, add_dirs=policy.roots[1:], subprocess_env=tool_env.variables),
        tools,
        runtime.tool_settings,
        sandbox,
    )
    spec = AgentSpec(
        prompt=expand_prompt(settings, ext, policy=policy, ctx=workspace, sandbox=sandbox, warn=warn),
        model=model,
        system_prompt=build_system_prompt(
            cwd,
            add_dirs=policy.roots[1:],
            replace=setup.system_prompt,
            append=setup.append,
            memory=memory,
            local_git=local_git,
            edits=any(tool.edits_files for tool in tools),
        ),
        tools=tools,
        policy=policy,
        workspace=workspace,
        server_tools=server_tools(policy, config.name, model),
        limits=Limits(
            max_turns=settings.max_turns,
            timeout_s=settings.timeout_minutes * 60 if settings.timeout_minutes else None,
            max_budget_usd=settings.max_budget_usd,
            max_output_tokens=settings.max_output_tokens,
        ),
        structured=structured,
        retry=RetryPolicy(max_retries=settings.max_retries, base_s=settings.retry_base_ms / 1000),
        stream=settings.stream,
        api_timeout_s=config.timeout_s,
        api_key_source=config.key_source,
        cancel=CancelToken(),
        output=OutputOptions(
            effort=settings.effort,
            max_thinking_tokens=settings.max_thinking_tokens,
            adaptive_thinking=settings.adaptive_thinking,
        ),
        fallback_model=_fallback(settings, provider.models, config),
        context=plan_context(
            provider=config.name,
            model=model,
            window=context_window(model),
            max_output_tokens=settings.max_output_tokens or default_max_tokens(model),
            settings=runtime.context,
        ),
        session_id=setup.session_id,
        betas=settings.betas,
        history=setup.history,
        hooks=setup.hooks(settings.transcript, policy.mode, runtime.mcp.expand_env),
    )
    return PreparedRun(spec, config, prices, redactor, oidc, tool_env.secret_names, sandbox, mcp, setup)


def execute_run(prepared: PreparedRun, emit: Callable[[dict[str, Any]], None]) -> AgentOutcome:
    """Run the agent turn. The caller owns signal handling (see ``graceful_signals``)."""
    # Tools run as the runner's user: keep them from reading its start-up environment.
    protect_process_environ()
    wipe_process_environ(prepared.secret_names)
    # Tokens and keys the provider mints while the run goes on are redacted from then on.
    options = client_options(prepared.provider, oidc=prepared.oidc, on_secret=prepared.redactor.add)
    client = build_client(prepared.provider, options)
    if prepared.setup is not None:
        emit = prepared.setup.debug.watch(emit)
    background = prepared.spec.workspace.background
    with ExitStack() as stack:
        spec = prepared.spec
        if prepared.sandbox is not None:  # the run's private /tmp and network proxy
            sandbox = stack.enter_context(Sandbox(prepared.sandbox))
            spec = dataclasses.replace(spec, workspace=dataclasses.replace(spec.workspace, sandbox=sandbox))
        if background is not None:  # every way out: background commands end before the sandbox goes
            stack.callback(background.stop_all)
        spec = stack.enter_context(running_mcp(prepared.mcp, spec))  # stopped before the sandbox
        usage = UsageTracker(prices=prepared.prices)
        bind_subagents(spec, client, emit, usage)  # subagents share the run's client, stream and usage
        return run_agent(spec, client, emit, usage)


def run_headless(
    settings: RunSettings,
    runtime: Runtime,
    out: IO[str] = sys.stdout,
    err: IO[str] = sys.stderr,
) -> int:
    """Run one agent turn as configured; returns the process exit code."""
    prepared = prepare_run(settings, runtime)
    sink = EventSink(settings.output_format, out, err, prepared.redactor, settings.transcript)
    sink.opening = opening_messages(list(prepared.spec.history), prepared.spec.prompt)
    telemetry = open_telemetry(
        runtime.telemetry, lambda line: print(line, file=err, flush=True), prepared.redactor
    )
    telemetry.agent(prepared.spec.prompt, prepared.prices)
    try:
        with graceful_signals(prepared.spec.cancel):
            outcome = execute_run(prepared, tee(sink, telemetry))
    finally:
        sink.close()
        telemetry.close()  # after the answer is out; bounded, and never raises
    code = exit_code(outcome)
    try:
        sink.check_transcript()  # after the answer was printed
    except OutputError as exc:
        err.write(f"error: {exc.one_line()}\n")
        return code or exc.exit_code
    return code


def exit_code(outcome: AgentOutcome) -> int:
    """0 for success; the error type's code when the provider refused; 1 for other failed runs."""
    if not outcome.result.get("is_error"):
        return 0
    if outcome.runner_error is not None:
        return outcome.runner_error.exit_code
    error = outcome.error
    if error is None:
        return EXIT_RUN_FAILED
    if error.status in (401, 403):
        return CredentialsError.exit_code
    if error.status == 404:
        return ModelError.exit_code
    return ProviderError.exit_code


def run_failure(outcome: AgentOutcome) -> RunnerError | None:
    """A failed run as the error of its cause (so a CI flow exits with ``run``'s code); None if it
    succeeded, or failed for a reason of its own (limits: exit 1)."""
    code = exit_code(outcome)
    if code in (0, EXIT_RUN_FAILED):
        return None
    if outcome.runner_error is not None:
        return outcome.runner_error
    errors = "; ".join(outcome.result.get("errors") or [str(outcome.result.get("subtype"))])
    kind = {CredentialsError.exit_code: CredentialsError, ModelError.exit_code: ModelError}.get(
        code, ProviderError
    )
    return kind(errors)


def _fallback(settings: RunSettings, models: Any, config: ProviderConfig) -> str | None:
    """``--fallback-model`` resolved like ``--model`` (aliases, pins, the provider's spelling)."""
    if not settings.fallback_model:
        return None
    strict = config.name == "anthropic" and not config.is_gateway
    return resolve_model(settings.fallback_model, models, provider=config.name, strict=strict)


def _real_dir(path: Path, what: str) -> Path:
    resolved = path.expanduser().resolve()
    if not resolved.is_dir():
        raise WorkspaceError(f"{what} {path} does not exist or is not a directory")
    return resolved


_said: set[str] = set()


def _say_once(line: str) -> None:
    if line not in _said:
        _said.add(line)
        print(line, file=sys.stderr, flush=True)


def _workspace_mcp_json(settings: RunSettings, cwd: Path) -> str | None:
    """The workspace's ``.mcp.json`` (``claude-runner run``), when project settings are read."""
    if not settings.project_settings:
        return None
    path = (find_repo_root(cwd) or cwd) / PROJECT_FILE
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _policy(
    settings: RunSettings,
    cwd: Path,
    add_dirs: tuple[Path, ...],
    home: Path,
    sources: Sequence[permissions.SettingsPermissions],
    read_only_rules: Sequence[str] = (),
) -> permissions.PermissionPolicy:
    """Permission rules from flags and the settings sources."""
    mode = settings.permission_mode
    if mode is None:
        mode = next((s.default_mode for s in reversed(sources) if s.default_mode), None) or "default"
    return permissions.build_policy(
        mode=mode,
        allowed_tools=settings.allowed_tools,
        disallowed_tools=settings.disallowed_tools,
        settings=sources,
        cwd=cwd,
        add_dirs=add_dirs,
        home=home,
        read_only_rules=read_only_rules,
    )


def _offered_tools(
    policy: permissions.PermissionPolicy, names: Sequence[str] | None, warn: Callable[[str], None]
) -> list[Tool]:
    """The built-in tools ``--tools`` names (None: all) that the policy could ever allow: sending one
    that is always denied only costs tokens. Bash lists the allow rules in force when only some
    commands may run."""
    tools = offered_tools(policy)
    if names is not None:
        known = {tool.name for tool in build_tools()} | SUBAGENT_TOOLS | {SkillTool.name}
        for name in names:
            if name not in known:
                warn(f"warning: --tools: {name} is not a claude-runner tool; it is ignored")
        wanted = {*names, *(BASH_COMPANIONS if "Bash" in names else ())}
        tools = [tool for tool in tools if tool.name in wanted]
    for tool in tools:
        if isinstance(tool, Bash):
            tool.allowed = _bash_rules(policy)
    return tools


def _bash_rules(policy: permissions.PermissionPolicy) -> tuple[str, ...]:
    """The allow rules that let Bash commands run; empty when every command may (then none is shown)."""
    if policy.mode == "bypassPermissions":
        return ()
    rules = policy.read_only_allow if policy.mode == "plan" else policy.allow
    named = [r for r in rules if names_tool(r, "Bash", edits_files=False)]
    if any(r.specifier is None for r in named):
        return ()
    return tuple(dict.fromkeys(r.text for r in named))


@contextmanager
def graceful_signals(cancel: CancelToken) -> Iterator[None]:
    """SIGTERM and SIGINT (a cancelled CI job) end the run with a result instead of a traceback."""

    def handler(signum: int, frame: FrameType | None) -> None:
        cancel.cancel(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
