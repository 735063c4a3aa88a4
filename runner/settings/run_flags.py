"""The flags of ``claude-runner run`` (our ``claude -p``), and ``claude_args`` parsed with them.

One definition serves both: the ``run`` command in ``runner/cli.py`` is decorated with
:func:`run_options`, and the CI flows parse their ``claude_args`` input with the same options
here, so a flag means the same thing in a workflow as on a terminal.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from runner.errors import UsageError
from runner.settings.run import RunSettings, agent_settings

F = TypeVar("F", bound=Callable[..., Any])


def run_options(command: F) -> F:
    """Apply every ``run`` flag (the prompt's too; not the positional prompt) to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "-p",
        "--print",
        "--prompt",
        "prompt",
        help="The task for the agent (or give it as an argument or on stdin).",
    ),
    click.option(
        "--prompt-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read the task from a file.",
    ),
    click.option(
        "--output-format",
        type=click.Choice(["text", "json", "stream-json"]),
        default="text",
        show_default=True,
    ),
    click.option(
        "--model", help="Alias (sonnet, opus, haiku) or full model id. Default: $ANTHROPIC_MODEL or sonnet."
    ),
    click.option("--max-turns", type=int, help="Stop after this many model calls (error_max_turns)."),
    click.option("--timeout-minutes", type=float, help="Wall-clock limit for the run (error_timeout)."),
    click.option(
        "--max-budget-usd", type=float, help="Stop once the run has cost this much (error_max_budget)."
    ),
    click.option(
        "--max-output-tokens",
        type=int,
        help="max_tokens per model call. Default: $CLAUDE_CODE_MAX_OUTPUT_TOKENS or 16384.",
    ),
    click.option(
        "--allowedTools",
        "--allowed-tools",
        "allowed_tools",
        multiple=True,
        help='Permission allow rules, comma or space separated: "Read,Edit,Bash(npm test:*)".',
    ),
    click.option(
        "--disallowedTools",
        "--disallowed-tools",
        "disallowed_tools",
        multiple=True,
        help="Permission deny rules, same syntax.",
    ),
    click.option("--permission-mode", help="default, acceptEdits, dontAsk, plan or bypassPermissions."),
    click.option(
        "--dangerously-skip-permissions", is_flag=True, help="Same as --permission-mode bypassPermissions."
    ),
    click.option(
        "--settings",
        "settings_value",
        help="A settings JSON file or inline JSON (permissions are read from it).",
    ),
    click.option(
        "--no-project-settings", is_flag=True, help="Ignore the workspace's .claude/settings*.json."
    ),
    click.option(
        "--add-dir",
        "add_dirs",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Another directory the file tools may use (repeatable).",
    ),
    click.option(
        "--cwd",
        type=click.Path(path_type=Path),
        default=Path("."),
        help="The workspace. Default: current directory.",
    ),
    click.option("--system-prompt", help="Replace the default system prompt."),
    click.option("--append-system-prompt", help="Append to the system prompt."),
    click.option(
        "--json-schema",
        help="JSON Schema (inline or @file) the final answer must match; see structured_output.",
    ),
    click.option(
        "--transcript",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write every event as JSON lines to this file, secrets redacted.",
    ),
    click.option(
        "--price-table",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="JSON file overriding model prices (USD per million tokens).",
    ),
    click.option(
        "--max-retries",
        type=int,
        default=8,
        show_default=True,
        help="Retries on 429/5xx/529/dropped streams.",
    ),
    click.option(
        "--no-stream", is_flag=True, help="Use non-streaming model calls (for gateways that cannot stream)."
    ),
    click.option(
        "--verbose",
        is_flag=True,
        help="Print a line per model call, tool call and retry on stderr as the run goes.",
    ),
]


@click.command("claude_args")
@click.argument("prompt_arg", required=False)
@run_options
def _claude_args_command(**params: Any) -> None:
    """Only parses: ``claude_args`` takes exactly the flags of ``claude-runner run``."""


def parse_claude_args(text: str, env: Mapping[str, str]) -> RunSettings:
    """``claude_args`` (the action input) as typed run settings, with no prompt yet.

    Lines starting with ``#`` are comments, as in claude-code-action. ``env`` supplies the
    defaults Claude Code reads from variables (``CLAUDE_CODE_MAX_OUTPUT_TOKENS``).
    """
    lines = [line for line in text.splitlines() if not line.strip().startswith("#")]
    try:
        argv = shlex.split("\n".join(lines))
    except ValueError as exc:
        raise UsageError(f"claude_args: {exc}", "check the quoting") from exc
    try:
        ctx = _claude_args_command.make_context("claude_args", [*argv, "-p", "-"], resilient_parsing=False)
    except click.UsageError as exc:
        raise UsageError(f"claude_args: {exc.format_message()}") from exc
    return agent_settings(dict(ctx.params), env)


__all__ = ["parse_claude_args", "run_options"]
