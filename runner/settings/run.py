"""Typed settings for one run, from CLI flags and environment variables, validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from runner.errors import UsageError

DEFAULT_MAX_OUTPUT_TOKENS = 16384
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
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
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
    verbose: bool = False  # --verbose: the live log (a line per model and tool call) on stderr
    sandbox_by_default: bool = False  # the OS sandbox when the settings do not say (on in the CI flows)

    def __post_init__(self) -> None:
        _positive("--max-turns", self.max_turns)
        _positive("--timeout-minutes", self.timeout_minutes)
        _positive("--max-budget-usd", self.max_budget_usd)
        _positive("--max-output-tokens", self.max_output_tokens)
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


def default_max_output_tokens(env: Mapping[str, str]) -> int:
    """``CLAUDE_CODE_MAX_OUTPUT_TOKENS`` as Claude Code reads it, else our default."""
    return env_int(env, "CLAUDE_CODE_MAX_OUTPUT_TOKENS", DEFAULT_MAX_OUTPUT_TOKENS)


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
            default_max_output_tokens(env)
            if params.get("max_output_tokens") is None
            else params["max_output_tokens"]  # 0 is an error, not the default
        ),
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
        verbose=bool(params.get("verbose")),
    )
