"""The settings keys beyond permissions: parsed per source, merged in Claude Code's precedence."""

from __future__ import annotations

import pytest

from runner.agent.settings_keys import merge_keys, parse_keys
from runner.errors import SettingsError


def merged(*sources: dict):
    return merge_keys([(f"s{i}", parse_keys(data, f"s{i}")) for i, data in enumerate(sources)])


def test_later_sources_win_and_hooks_add_up() -> None:
    hook = {"Stop": [{"hooks": [{"command": "true"}]}]}
    keys = merged(
        {"model": "haiku", "outputStyle": "Learning", "hooks": hook},
        {"model": "opus", "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"command": "x"}]}]}},
    )
    assert keys.model == "opus" and keys.output_style == "Learning"
    assert keys.hooks.commands("Stop") and keys.hooks.commands("PreToolUse", "Bash")


@pytest.mark.parametrize(
    ("data", "co_author"),
    [
        ({}, True),
        ({"includeCoAuthoredBy": False}, False),
        ({"attribution": {"commit": "", "pr": ""}}, False),
        ({"attribution": {"commit": "Co-Authored-By: Claude"}}, True),
    ],
)
def test_co_author_trailer(data: dict, co_author: bool) -> None:
    assert merged(data).include_co_authored_by is co_author


def test_disable_all_hooks_and_unused_keys_in_one_line() -> None:
    keys = merged(
        {"hooks": {"Stop": [{"hooks": [{"command": "true"}]}]}, "apiKeyHelper": "x"},
        {"disableAllHooks": True, "statusLine": {}},
    )
    assert not keys.hooks
    (unused,) = [w for w in keys.warnings if "does not use" in w]
    assert unused == "settings keys claude-runner does not use: apiKeyHelper (s0), statusLine (s1)"


def test_bad_types_name_the_key() -> None:
    with pytest.raises(SettingsError, match="s: model must be a string"):
        parse_keys({"model": 4}, "s")
    with pytest.raises(SettingsError, match="s: includeCoAuthoredBy must be true or false"):
        parse_keys({"includeCoAuthoredBy": "no"}, "s")
