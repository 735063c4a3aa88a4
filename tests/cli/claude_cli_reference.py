"""The flags `claude -p` accepts, from Claude Code's CLI reference, for tests/cli/test_claude_flags.py.

Checked on 2026-12-05 against https://code.claude.com/docs/en/cli-reference (found with the
`search` tool's docs corpus; the page's flag table, and the hidden-flag notes of the references
that mirror it). Interactive-only commands (`claude update`, `claude mcp`) are not flags; `--help`
and `--version` are click's own. When Claude Code documents a new flag, add it here: the test
fails until claude-runner implements it or warns about it.
"""

CHECKED_ON = "2026-12-05"
SOURCE = "https://code.claude.com/docs/en/cli-reference"

# flag (with its short alias after a slash when it has one)
CLI_REFERENCE_FLAGS = (
    "--add-dir",
    "--advisor",
    "--agent",
    "--agents",
    "--allow-dangerously-skip-permissions",
    "--allowedTools/--allowed-tools",
    "--append-subagent-system-prompt",
    "--append-system-prompt",
    "--append-system-prompt-file",
    "--bare",
    "--betas",
    "--chrome",
    "--continue/-c",
    "--dangerously-skip-permissions",
    "--debug/-d",
    "--debug-file",
    "--disable-slash-commands",
    "--disallowedTools/--disallowed-tools",
    "--effort",
    "--fallback-model",
    "--fork-session",
    "--from-pr",
    "--ide",
    "--include-hook-events",
    "--include-partial-messages",
    "--init",
    "--init-only",
    "--input-format",
    "--json-schema",
    "--maintenance",
    "--max-budget-usd",
    "--max-turns",
    "--mcp-config",
    "--model",
    "--name/-n",
    "--no-chrome",
    "--no-session-persistence",
    "--output-format",
    "--permission-mode",
    "--permission-prompt-tool",
    "--plugin-dir",
    "--print/-p",
    "--remote",
    "--replay-user-messages",
    "--resume/-r",
    "--safe-mode",
    "--session-id",
    "--setting-sources",
    "--settings",
    "--strict-mcp-config",
    "--system-prompt",
    "--system-prompt-file",
    "--teammate-mode",
    "--teleport",
    "--tools",
    "--verbose",
    "--worktree/-w",
)
