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


# Flags `claude -p` accepts that claude-runner does not implement (yet): each is accepted and
# warned about in one line, never fatal. flag -> whether it takes a value ("optional": it may).
UNSUPPORTED_FLAGS: dict[str, bool | str] = {
    "--permission-prompt-tool": True,
    "--agent": True,
    "--append-subagent-system-prompt": True,
    "--advisor": True,
    "--input-format": True,
    "--include-partial-messages": False,
    "--include-hook-events": False,
    "--replay-user-messages": False,
    "--bare": False,
    "--safe-mode": False,
    "--allow-dangerously-skip-permissions": False,
    "--from-pr": "optional",
    "--name": True,
    "--worktree": "optional",
    "--teammate-mode": True,
    "--chrome": False,
    "--no-chrome": False,
    "--ide": False,
    "--init": False,
    "--init-only": False,
    "--maintenance": False,
    "--remote": "optional",
    "--teleport": "optional",
}
SHORT_ALIASES = {"--name": "-n", "--worktree": "-w"}


def _unsupported_option(flag: str, takes: bool | str) -> Callable[[Any], Any]:
    names = [flag, SHORT_ALIASES[flag]] if flag in SHORT_ALIASES else [flag]
    dest = "unsupported_" + flag[2:].replace("-", "_")
    if takes == "optional":
        return click.option(*names, dest, is_flag=False, flag_value="", default=None, hidden=True)
    if takes:
        return click.option(*names, dest, multiple=True, hidden=True)
    return click.option(*names, dest, is_flag=True, default=None, hidden=True)


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
        help="max_tokens per model call. Default: $CLAUDE_CODE_MAX_OUTPUT_TOKENS, else 64000 or less.",
    ),
    click.option(
        "--effort",
        help="low, medium, high, xhigh, max or auto (the model's own). Default: $CLAUDE_CODE_EFFORT_LEVEL.",
    ),
    click.option(
        "--fallback-model",
        help="Model that answers when the model is overloaded (one call) or not found (the rest of the run).",
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
        "--mcp-config",
        "mcp_config",
        multiple=True,
        help='MCP servers: a JSON file or inline JSON {"mcpServers": {...}} (repeatable).',
    ),
    click.option(
        "--strict-mcp-config", is_flag=True, help="Use only the --mcp-config servers, not .mcp.json."
    ),
    click.option("--verbose", is_flag=True, help="Log every turn (model calls, tool calls) to stderr."),
    click.option(
        "-d",
        "--debug",
        is_flag=False,
        flag_value="",
        default=None,
        help='Debug log to stderr; an optional filter picks categories: "api,hooks" or "!tools".',
    ),
    click.option(
        "--debug-file", type=click.Path(dir_okay=False, path_type=Path), help="Debug log to a file."
    ),
    click.option(
        "--setting-sources",
        help="Which settings files to read, comma separated: user, project, local. Default: all.",
    ),
    click.option(
        "--tools",
        "builtin_tools",
        help='The built-in tools offered: "" for none, "default" for all, or a list ("Bash,Edit,Read").',
    ),
    click.option("--agents", "agents_json", help="Subagents as JSON: {name: {description, prompt, ...}}."),
    click.option(
        "--betas", multiple=True, help="Beta headers for the API (anthropic-beta), comma separated."
    ),
    click.option("--session-id", help="The session's id (a UUID)."),
    click.option(
        "--system-prompt-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Replace the default system prompt with this file.",
    ),
    click.option(
        "--append-system-prompt-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Append this file to the system prompt.",
    ),
    click.option(
        "-r",
        "--resume",
        is_flag=False,
        flag_value="",
        default=None,
        help="Continue a session from its transcript: a session id, or the transcript's path.",
    ),
    click.option("-c", "--continue", "continue_session", is_flag=True, help="Continue the latest session."),
    click.option("--fork-session", is_flag=True, help="With --resume/--continue: a new session id."),
    click.option("--disable-slash-commands", is_flag=True, help="Send a prompt starting with / as written."),
    click.option(
        "--plugin-dir",
        "plugin_dirs",
        multiple=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Load a plugin from this directory for this run (repeatable).",
    ),
    click.option(
        "--no-session-persistence", is_flag=True, help="Keep no session (claude-runner keeps none anyway)."
    ),
    *(_unsupported_option(flag, takes) for flag, takes in UNSUPPORTED_FLAGS.items()),
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
        ctx = _claude_args_command.make_context(
            "claude_args", [*_variadic(argv), "-p", "-"], resilient_parsing=False
        )
    except click.UsageError as exc:
        raise UsageError(f"claude_args: {exc.format_message()}") from exc
    return agent_settings(dict(ctx.params), env)


# Flags that take several values in Claude Code (`--allowedTools "Read" "Edit"`); claude_args has no
# positional prompt, so the words after one of them, up to the next flag, are its values.
_VARIADIC = frozenset(
    {"--allowedTools", "--allowed-tools", "--disallowedTools", "--disallowed-tools", "--add-dir", "--betas"}
    | {"--mcp-config", "--plugin-dir"}
)


def _variadic(argv: list[str]) -> list[str]:
    """``--flag A B`` as ``--flag A --flag B`` for Claude Code's variadic flags."""
    out: list[str] = []
    current: str | None = None
    for word in argv:
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            current = name if name in _VARIADIC else None
            out.append(word)
        elif current is not None and out[-1] != current:
            out += [current, word]
        else:
            out.append(word)
    return out


__all__ = ["parse_claude_args", "run_options"]
