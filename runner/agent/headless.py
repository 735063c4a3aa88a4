"""``claude-runner run``: one headless agent turn in a local workspace, like ``claude -p``.

Assembles the values the loop needs (workspace, provider, model, permissions, tools,
prompt), runs it, prints the result, and maps the outcome to an exit code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from runner.agent import permissions
from runner.agent.cancel import CancelToken
from runner.agent.env import protect_process_environ, wipe_process_environ, with_settings_env
from runner.agent.live_log import LiveLog, tee
from runner.agent.loop import AgentOutcome, AgentSpec, Limits, run_agent
from runner.agent.prompt import MemoryFile, build_system_prompt, find_repo_root
from runner.agent.retry import RetryPolicy
from runner.agent.sandbox import Sandbox, SandboxPlan, plan_sandbox
from runner.agent.sandbox_settings import merge_sandbox
from runner.agent.structured import StructuredOutputTool, load_schema
from runner.agent.tools import build_tools
from runner.agent.tools.base import Tool, ToolContext
from runner.agent.transcript import EventSink
from runner.agent.usage import DEFAULT_PRICES, Price, UsageTracker, load_price_table
from runner.errors import (
    EXIT_RUN_FAILED,
    CredentialsError,
    ModelError,
    OutputError,
    ProviderError,
    RunnerError,
    SettingsError,
    WorkspaceError,
)
from runner.providers import ProviderConfig, build_client, client_options
from runner.providers.base import TokenSource
from runner.providers.models import resolve_model
from runner.providers.oidc import token_source
from runner.sanitize import Redactor
from runner.settings.run import RunSettings
from runner.settings.runtime import Runtime


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


def prepare_run(
    settings: RunSettings,
    runtime: Runtime,
    *,
    extra_tools: Sequence[Tool] = (),
    trusted_settings: Sequence[permissions.SettingsPermissions] | None = None,
    memory: list[MemoryFile] | None = None,
    redactor: Redactor | None = None,
    warn: Callable[[str], None] | None = None,
) -> PreparedRun:
    """Resolve and check everything a run needs; user mistakes raise ``RunnerError`` here.

    ``trusted_settings`` and ``memory`` replace what would be read from the workspace: the
    CI flows pass what they read from the default branch, never the pull request's head.
    ``runtime``: the provider settings (their error is raised here) and the tools' environment.
    ``redactor``: the caller's, to share (a flow's comments then hide the tokens minted in the run).
    ``warn``: where warnings go (a sandbox that cannot start, a refused passthrough); default stderr.
    """
    warn = warn or _say_once
    cwd = _real_dir(settings.cwd, "working directory")
    add_dirs = tuple(_real_dir(d, "--add-dir") for d in settings.add_dirs)
    provider = runtime.provider()
    config = provider.config
    model = resolve_model(
        settings.model,
        provider.models,
        provider=config.name,
        strict=config.name == "anthropic" and not config.is_gateway,
    )
    sources = _settings_sources(settings, cwd, trusted_settings)
    policy = _policy(settings, cwd, add_dirs, runtime.tools.home, sources)
    tools = [*_offered_tools(policy), *extra_tools]
    known = {t.name for t in (*build_tools(), *extra_tools)} | (
        {StructuredOutputTool.name} if settings.json_schema else set()
    )
    for line in unknown_tool_warnings((*settings.allowed_tools, *settings.disallowed_tools), known):
        warn(line)
    append = (settings.append_system_prompt or "").strip()
    if append.startswith("@") and (cwd / append[1:]).is_file():  # as Claude Code does: taken literally
        warn(
            f"warning: --append-system-prompt {append!r} is appended as this text, not the file's: "
            f'to append the file, pass --append-system-prompt "$(cat {append[1:]})"'
        )
    tool_env = with_settings_env(runtime.tools, [pair for source in sources for pair in source.env])
    sandbox, warnings = plan_sandbox(
        merge_sandbox([s.sandbox for s in sources], cwd=cwd, home=tool_env.home),
        default_on=settings.sandbox_by_default,
        bwrap=runtime.bwrap,
        roots=policy.roots,
        home=tool_env.home,
    )
    for line in (*tool_env.warnings, *warnings):
        warn(line if line.startswith("warning: ") else f"warning: {line}")
    structured = StructuredOutputTool(load_schema(settings.json_schema)) if settings.json_schema else None
    prices = load_price_table(settings.price_table) if settings.price_table else DEFAULT_PRICES
    redactor = redactor or Redactor()
    # OIDC material may sit in a variable of any name (GitLab id_tokens): the tools' environment
    # lacks it and its secret values include it.
    redactor.add(*tool_env.secret_values, *config.secrets())
    oidc = token_source(provider.oidc, on_token=redactor.add) if config.needs_oidc else None
    spec = AgentSpec(
        prompt=settings.prompt,
        model=model,
        system_prompt=build_system_prompt(
            cwd,
            add_dirs=policy.roots[1:],
            replace=settings.system_prompt,
            append=settings.append_system_prompt,
            memory=memory,
        ),
        tools=tools,
        policy=policy,
        workspace=ToolContext(cwd=cwd, add_dirs=policy.roots[1:], subprocess_env=tool_env.variables),
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
    )
    return PreparedRun(spec, config, prices, redactor, oidc, tool_env.secret_names, sandbox)


def execute_run(prepared: PreparedRun, emit: Callable[[dict[str, Any]], None]) -> AgentOutcome:
    """Run the agent turn. The caller owns signal handling (see ``graceful_signals``)."""
    # Tools run as the runner's user: keep them from reading its start-up environment.
    protect_process_environ()
    wipe_process_environ(prepared.secret_names)
    # Tokens and keys the provider mints while the run goes on are redacted from then on.
    options = client_options(prepared.provider, oidc=prepared.oidc, on_secret=prepared.redactor.add)
    client = build_client(prepared.provider, options)
    if prepared.sandbox is None:
        return run_agent(prepared.spec, client, emit, UsageTracker(prices=prepared.prices))
    with Sandbox(prepared.sandbox) as sandbox:  # the run's private /tmp and network proxy
        workspace = dataclasses.replace(prepared.spec.workspace, sandbox=sandbox)
        spec = dataclasses.replace(prepared.spec, workspace=workspace)
        return run_agent(spec, client, emit, UsageTracker(prices=prepared.prices))


def run_headless(
    settings: RunSettings,
    runtime: Runtime,
    out: IO[str] = sys.stdout,
    err: IO[str] = sys.stderr,
) -> int:
    """Run one agent turn as configured; returns the process exit code."""
    prepared = prepare_run(settings, runtime)
    sink = EventSink(settings.output_format, out, err, prepared.redactor, settings.transcript)
    live = LiveLog(lambda line: print(line, file=err, flush=True), prepared.redactor, prices=prepared.prices)
    emit = tee(live, sink) if settings.verbose else sink
    try:
        with graceful_signals(prepared.spec.cancel), live if settings.verbose else contextlib.nullcontext():
            outcome = execute_run(prepared, emit)
    finally:
        sink.close()
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


def _settings_sources(
    settings: RunSettings, cwd: Path, trusted: Sequence[permissions.SettingsPermissions] | None
) -> list[permissions.SettingsPermissions]:
    """The settings sources, lowest precedence first: ``trusted`` (or the workspace's ``.claude/``
    settings), then ``--settings``."""
    sources: list[permissions.SettingsPermissions] = list(trusted or [])
    if trusted is None and settings.project_settings:
        root = find_repo_root(cwd) or cwd
        for name in ("settings.json", "settings.local.json"):
            sources.append(permissions.load_settings_permissions(root / ".claude" / name))
    if settings.settings:
        raw = settings.settings.strip()
        if raw.startswith("{"):
            sources.append(permissions.parse_settings_json(raw, "--settings", base_dir=cwd))
        else:
            path = Path(raw).expanduser()
            if not path.is_file():
                raise SettingsError(
                    f"--settings file {raw} does not exist", "pass a JSON file path or inline JSON"
                )
            sources.append(permissions.load_settings_permissions(path))
    return sources


def _policy(
    settings: RunSettings,
    cwd: Path,
    add_dirs: tuple[Path, ...],
    home: Path,
    sources: Sequence[permissions.SettingsPermissions],
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
    )


def unknown_tool_warnings(values: Sequence[str], known: set[str]) -> list[str]:
    """A warning per rule naming a tool this runner does not have (a typo matches nothing, silently).

    MCP tools (``mcp__...``) and ``*`` are left alone: their names are only known when servers start.
    """
    warnings = []
    for value in values:
        for rule in permissions.split_rule_list(value):
            name = rule.split("(", 1)[0].strip()
            if name and name != "*" and not name.startswith("mcp__") and name not in known:
                warnings.append(
                    f"warning: --allowedTools/--disallowedTools: no tool is named {name!r}; "
                    f"the rule {rule!r} matches nothing (tools: {', '.join(sorted(known))})"
                )
    return warnings


def _offered_tools(policy: permissions.PermissionPolicy) -> list[Tool]:
    """Tools the policy could ever allow: sending one that is always denied only costs tokens."""
    return [
        tool
        for tool in build_tools()
        if permissions.can_ever_allow(
            policy, tool.name, read_only=tool.read_only, edits_files=tool.edits_files
        )
    ]


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
