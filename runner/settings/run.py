"""Typed settings for one run, from CLI flags and environment variables, validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from runner.errors import UsageError
from runner.providers.catalog import EFFORT_LEVELS
from runner.settings.claude_flags import SETTING_SOURCES, AgentDefinition, claude_flag_fields

_TRUE = ("1", "true", "yes")
PERMISSION_MODES = ("default", "manual", "acceptEdits", "dontAsk", "plan", "bypassPermissions")


@dataclass(frozen=True)
class RunSettings:
    """What ``claude-runner run`` was asked to do."""

    prompt: str = ""  # empty in the settings parsed from claude_args: the flow writes the prompt
    cwd: Path = Path(".")
    add_dirs: tuple[Path, ...] = ()
    model: str | None = None
    output_format: str = "text"
    max_turns: int | None = None
    timeout_minutes: float | None = None
    max_budget_usd: float | None = None
    max_output_tokens: int | None = None  # None: the model's default (runner/providers/catalog.py)
    effort: str | None = None  # output_config.effort; None: the model's default
    max_thinking_tokens: int | None = None  # MAX_THINKING_TOKENS: a thinking budget; 0 turns thinking off
    fallback_model: str | None = None  # --fallback-model: answers when the model is overloaded or missing
    adaptive_thinking: bool = True  # CLAUDE_CODE_DISABLE_ADAPTIVE_THINKING=1 (gateways without it): False
    allowed_tools: tuple[str, ...] = ()
    disallowed_tools: tuple[str, ...] = ()
    permission_mode: str | None = None
    settings: str | None = None  # a settings file path or inline JSON, like Claude Code's --settings
    project_settings: bool = True  # read the workspace's .claude/settings.json and settings.local.json
    system_prompt: str | None = None
    append_system_prompt: str | None = None
    json_schema: str | None = None
    transcript: Path | None = None
    price_table: Path | None = None
    max_retries: int = 8
    retry_base_ms: int = 500
    stream: bool = True
    sandbox_by_default: bool = False  # the OS sandbox when the settings do not say (on in the CI flows)
    mcp_config: tuple[str, ...] = ()  # --mcp-config values: files or inline JSON
    strict_mcp_config: bool = False  # only the --mcp-config servers, not the project's .mcp.json
    # Claude Code's flags (runner/settings/claude_flags.py)
    setting_sources: tuple[str, ...] = SETTING_SOURCES  # which of user, project, local are read
    builtin_tools: tuple[str, ...] | None = None  # --tools: the built-in tools offered; None: all
    agents: tuple[AgentDefinition, ...] = ()  # --agents, kept for the subagents
    betas: tuple[str, ...] = ()  # anthropic-beta headers
    session_id: str | None = None
    system_prompt_file: Path | None = None  # read when the run is prepared (the flows: from a trusted tree)
    append_system_prompt_file: Path | None = None
    resume: str | None = None  # a session id or a transcript path
    continue_session: bool = False
    fork_session: bool = False
    debug: str | None = None  # None: off; "": every category; else a filter ("api,hooks", "!tools")
    debug_file: Path | None = None
    verbose: bool = False
    flag_warnings: tuple[str, ...] = ()  # one line per flag accepted without being implemented
    # Slash commands and plugins (runner/agent/extensions.py)
    disable_slash_commands: bool = False  # --disable-slash-commands: a prompt's /name is sent as written
    slash_command: str | None = (
        None  # the "/name args" text in the prompt (None: the prompt, if it starts with /)
    )
    project_claude_dir: Path | None = None  # where .claude/commands and skills are read (the flows: trusted)
    plugin_dirs: tuple[Path, ...] = ()  # --plugin-dir
    plugins: tuple[str, ...] = ()  # the plugins input: name@marketplace
    plugin_marketplaces: tuple[str, ...] = ()  # the plugin_marketplaces input

    def __post_init__(self) -> None:
        _positive("--max-turns", self.max_turns)
        _positive("--timeout-minutes", self.timeout_minutes)
        _positive("--max-budget-usd", self.max_budget_usd)
        _positive("--max-output-tokens", self.max_output_tokens)
        if self.effort is not None and self.effort not in EFFORT_LEVELS:
            levels = ", ".join(EFFORT_LEVELS)
            raise UsageError(f"--effort must be one of {levels} or auto (got {self.effort!r})")
        if self.max_thinking_tokens is not None and 0 < self.max_thinking_tokens < 1024:
            raise UsageError(
                f"MAX_THINKING_TOKENS must be 0 (off) or at least 1024 (got {self.max_thinking_tokens})"
            )
        if self.max_retries < 0:
            raise UsageError(f"--max-retries must be 0 or more (got {self.max_retries})")
        if self.permission_mode is not None and self.permission_mode not in PERMISSION_MODES:
            raise UsageError(
                f"--permission-mode must be one of {', '.join(PERMISSION_MODES)} "
                f"(got {self.permission_mode!r})"
            )


def _positive(flag: str, value: float | None) -> None:
    if value is not None and value <= 0:
        raise UsageError(f"{flag} must be greater than 0 (got {value:g})")


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole-number environment variable, with a clear error when it is not one."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise UsageError(f"{name} must be a whole number (got {raw!r})")
    return int(raw)


def default_max_output_tokens(env: Mapping[str, str]) -> int | None:
    """``CLAUDE_CODE_MAX_OUTPUT_TOKENS`` as Claude Code reads it, else None (the model's default)."""
    value = env_int(env, "CLAUDE_CODE_MAX_OUTPUT_TOKENS", 0)
    return value or None


def effort_level(value: str | None) -> str | None:
    """An effort level as given (``--effort``, ``CLAUDE_CODE_EFFORT_LEVEL``, the ``effort`` input);
    ``auto`` and blank mean the model's default (None)."""
    level = (value or "").strip().lower()
    return None if level in ("", "auto") else level


def run_settings(prompt: str, params: Mapping[str, Any], env: Mapping[str, str]) -> RunSettings:
    """``RunSettings`` from the parsed flags of ``claude-runner run``; the prompt must not be empty."""
    if not prompt.strip():
        raise UsageError("the prompt is empty", 'pass one with -p "..." , as an argument, or on stdin')
    return replace(agent_settings(params, env), prompt=prompt)


def agent_settings(params: Mapping[str, Any], env: Mapping[str, str]) -> RunSettings:
    """``RunSettings`` without a prompt from the parsed flags of ``run`` (CLI or ``claude_args``);
    ``env`` supplies the defaults Claude Code reads from variables."""
    mode = (
        "bypassPermissions" if params.get("dangerously_skip_permissions") else params.get("permission_mode")
    )
    return RunSettings(
        cwd=params.get("cwd") or Path("."),
        add_dirs=tuple(params.get("add_dirs") or ()),
        model=params.get("model"),
        output_format=params.get("output_format") or "text",
        max_turns=params.get("max_turns"),
        timeout_minutes=params.get("timeout_minutes"),
        max_budget_usd=params.get("max_budget_usd"),
        max_output_tokens=(
            params["max_output_tokens"]
            if params.get("max_output_tokens") is not None
            else default_max_output_tokens(env)
        ),
        effort=effort_level(params.get("effort") or env.get("CLAUDE_CODE_EFFORT_LEVEL")),
        max_thinking_tokens=_thinking_tokens(env),
        fallback_model=(params.get("fallback_model") or "").strip() or None,
        adaptive_thinking=env.get("CLAUDE_CODE_DISABLE_ADAPTIVE_THINKING", "").strip().lower() not in _TRUE,
        allowed_tools=tuple(params.get("allowed_tools") or ()),
        disallowed_tools=tuple(params.get("disallowed_tools") or ()),
        permission_mode=mode,
        settings=params.get("settings_value"),
        project_settings=not params.get("no_project_settings"),
        system_prompt=params.get("system_prompt"),
        append_system_prompt=params.get("append_system_prompt"),
        json_schema=params.get("json_schema"),
        transcript=params.get("transcript"),
        price_table=params.get("price_table"),
        max_retries=params.get("max_retries", 8),
        retry_base_ms=env_int(env, "CLAUDE_RUNNER_RETRY_BASE_MS", 500),
        stream=not params.get("no_stream"),
        mcp_config=tuple(params.get("mcp_config") or ()),
        strict_mcp_config=bool(params.get("strict_mcp_config")),
        **claude_flag_fields(params),
    )


def _thinking_tokens(env: Mapping[str, str]) -> int | None:
    raw = env.get("MAX_THINKING_TOKENS", "").strip()
    return env_int(env, "MAX_THINKING_TOKENS", 0) if raw else None
