"""Claude Code's flags in `claude_args`: the twelve that used to fail the job parse, and bad values
are one-line errors."""

from __future__ import annotations

import pytest

from runner.errors import UsageError
from runner.settings.run_flags import parse_claude_args

# The flags the issue found fatal in claude_args (exit 2, nothing posted), as a workflow writes them.
ISSUE_FLAGS = """
# every one of these used to end the job with exit 2
--mcp-config .mcp.json --fallback-model haiku --setting-sources project,local
--resume 3f1c9a10-51a7-4f55-9d3c-2b8e0b0e9d1c --continue --debug api,hooks
--agents '{"reviewer": {"description": "Reviews", "prompt": "You review.", "tools": ["Read"]}}'
--tools "Read,Grep,Bash" --strict-mcp-config --permission-prompt-tool mcp__approve__check
--betas context-1m-2025-08-07 --session-id 0b0e9d1c-51a7-4f55-9d3c-2b8e3f1c9a10
"""


def test_the_issues_twelve_flags_parse_and_the_unsupported_ones_warn() -> None:
    settings = parse_claude_args(ISSUE_FLAGS, {})
    assert settings.setting_sources == ("project", "local")
    assert settings.resume == "3f1c9a10-51a7-4f55-9d3c-2b8e0b0e9d1c" and settings.continue_session
    assert settings.debug == "api,hooks"
    assert [a.name for a in settings.agents] == ["reviewer"] and settings.agents[0].tools == ("Read",)
    assert settings.builtin_tools == ("Read", "Grep", "Bash")
    assert settings.betas == ("context-1m-2025-08-07",)
    assert settings.session_id == "0b0e9d1c-51a7-4f55-9d3c-2b8e3f1c9a10"
    warned = [w.split()[1] for w in settings.flag_warnings if "is not supported" in w]
    assert warned == ["--permission-prompt-tool"]  # the MCP and fallback flags are implemented
    assert settings.fallback_model and settings.mcp_config and settings.strict_mcp_config
    assert not any("--agents" in w for w in settings.flag_warnings)  # offered by the Agent tool


def test_debug_without_a_filter_and_tools_none() -> None:
    settings = parse_claude_args('--debug --tools ""', {})
    assert settings.debug == "" and settings.builtin_tools == ()
    assert parse_claude_args("--tools default", {}).builtin_tools is None
    assert parse_claude_args("--resume", {}).continue_session  # no picker in CI: the latest session


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("--setting-sources user,global", "--setting-sources: unknown source 'global'"),
        ("--session-id abc", "--session-id must be a UUID"),
        ('--agents \'{"r": {"prompt": "x"}}\'', "--agents: r.description must be a non-empty string"),
        ("--agents '[1]'", "--agents must be a JSON object"),
        ("--agents '{bad'", "--agents: invalid JSON"),
    ],
)
def test_bad_values_are_one_line_errors(args: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")) as caught:
        parse_claude_args(args, {})
    assert "\n" not in caught.value.one_line()


def test_variadic_flags_take_every_word_up_to_the_next_flag() -> None:
    settings = parse_claude_args(
        '--allowedTools "Bash(npm test:*)" Read Edit --model opus\n'
        "--betas a b --disallowedTools=WebFetch Bash",
        {},
    )
    assert settings.allowed_tools == ("Bash(npm test:*)", "Read", "Edit")
    assert settings.model == "opus" and settings.betas == ("a", "b")
    assert settings.disallowed_tools == ("WebFetch", "Bash")
