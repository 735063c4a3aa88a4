"""Permission rules, modes, precedence, settings files and CLI flags."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from runner.agent.permissions import (
    Decision,
    PermissionPolicy,
    Rule,
    SettingsPermissions,
    build_policy,
    can_ever_allow,
    decide,
    load_settings_permissions,
    parse_rule,
    parse_settings_json,
    read_denied_by,
    split_rule_list,
)
from runner.errors import SettingsError, UsageError

CWD = Path("/work/repo")
HOME = Path("/home/ci")
PROJECT = Path("/work/project")  # where a settings file's `/path` rules are anchored

# name -> (read_only, edits_files), as the tool classes declare them
TOOLS = {
    "Read": (True, False),
    "Glob": (True, False),
    "Grep": (True, False),
    "LS": (True, False),
    "Write": (False, True),
    "Edit": (False, True),
    "MultiEdit": (False, True),
    "Bash": (False, False),
    "WebFetch": (True, False),
    "mcp__github__get_issue": (False, False),
    "mcp__github__create_pr": (False, False),
    "mcp__slack__post": (False, False),
}


def policy(
    mode: str = "default",
    *,
    allow: tuple[str, ...] = (),
    deny: tuple[str, ...] = (),
    ask: tuple[str, ...] = (),
    base: Path = CWD,
) -> PermissionPolicy:
    def rules(texts: tuple[str, ...]) -> tuple[Rule, ...]:
        return tuple(parse_rule(t, base_dir=base) for t in texts)

    return PermissionPolicy(
        mode=mode,
        allow=rules(allow),
        deny=rules(deny),
        ask=rules(ask),
        cwd=CWD,
        roots=(CWD, Path("/work/docs")),
        home=HOME,
    )


def call(pol: PermissionPolicy, tool: str, tool_input: Mapping[str, Any] | None = None) -> Decision:
    read_only, edits = TOOLS[tool]
    return decide(pol, tool, tool_input or {}, read_only=read_only, edits_files=edits)


def edit(pol: PermissionPolicy, path: str, tool: str = "Edit") -> bool:
    return call(pol, tool, {"file_path": path}).allowed


# --- parse_rule ---------------------------------------------------------------------------


def test_parse_rule_fields() -> None:
    rule = parse_rule("  Bash(npm test:*) ", base_dir=PROJECT)
    assert (rule.tool, rule.specifier, rule.text, rule.base_dir) == (
        "Bash",
        "npm test:*",
        "Bash(npm test:*)",
        PROJECT,
    )
    bare = parse_rule("Read", base_dir=PROJECT)
    assert (bare.tool, bare.specifier) == ("Read", None)
    assert parse_rule("WebFetch(domain:example.com)", base_dir=CWD).specifier == "domain:example.com"
    assert parse_rule("mcp__github__get_*", base_dir=CWD).tool == "mcp__github__get_*"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty rule"),
        ("Bash(git diff", "unbalanced parentheses"),
        ("Bash(git (diff)", "unbalanced parentheses"),
        ("Bash)", "unbalanced parentheses"),
        ("(git diff)", "empty tool name"),
        ("Bash()", "empty specifier"),
        ("mcp__*__get", "server segment"),
        ("mcp__git*", "server segment"),
        ("mcp__github__", "mcp rule is"),
        ("Ba*h", "tool-name globs"),
        ("*(x)", "no specifier"),
        ("WebSearch(x)", "no specifier"),
        ("WebFetch(example.com)", "domain:"),
        ("Read(!secrets)", "cannot start with"),
        ("Bad Tool", "not a tool name"),
    ],
)
def test_parse_rule_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("*", r"\*").replace("(", r"\(")):
        parse_rule(text, base_dir=CWD)


# --- precedence ---------------------------------------------------------------------------


def test_deny_beats_ask_beats_allow() -> None:
    pol = policy(allow=("Bash(git:*)",), ask=("Bash(git push:*)",), deny=("Bash(git push --force:*)",))
    assert call(pol, "Bash", {"command": "git status"}).allowed
    asked = call(pol, "Bash", {"command": "git push origin"})
    assert not asked.allowed and asked.rule == "Bash(git push:*)"
    assert "ask rule `Bash(git push:*)`" in asked.reason and "nobody can approve" in asked.reason
    denied = call(pol, "Bash", {"command": "git push --force"})
    assert not denied.allowed and denied.rule == "Bash(git push --force:*)"
    assert "git push --force" in denied.reason


def test_deny_and_ask_apply_in_bypass_mode_allow_rules_do_not_matter() -> None:
    pol = policy("bypassPermissions", deny=("WebFetch",), ask=("Bash(curl:*)",))
    assert not call(pol, "WebFetch", {"url": "https://x.org"}).allowed
    assert not call(pol, "Bash", {"command": "curl x"}).allowed
    assert call(pol, "Bash", {"command": "rm -rf build && echo $(date)"}).allowed
    assert call(pol, "mcp__slack__post").allowed
    assert edit(pol, "/etc/hosts")


def test_star_denies_every_tool() -> None:
    pol = policy("bypassPermissions", deny=("*",))
    assert not any(call(pol, tool).allowed for tool in TOOLS)


# --- modes --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["default", "manual", "dontAsk"])
def test_default_and_dont_ask_need_allow_rules_for_everything_but_reads(mode: str) -> None:
    pol = policy(mode)
    assert call(pol, "Read", {"file_path": "/work/repo/a.py"}).allowed
    assert call(pol, "Grep", {"pattern": "x"}).allowed
    denied = call(pol, "Edit", {"file_path": "/work/repo/a.py"})
    assert not denied.allowed and "none for Edit" in denied.reason
    assert not call(pol, "Bash", {"command": "ls"}).allowed
    allowed = policy(mode, allow=("Edit", "Bash(ls)"))
    assert edit(allowed, "/work/repo/a.py") and call(allowed, "Bash", {"command": "ls"}).allowed


def test_manual_is_an_alias_and_unknown_modes_list_valid_ones() -> None:
    assert policy("manual").mode == "default"
    with pytest.raises(ValueError, match="acceptEdits, dontAsk, plan, bypassPermissions"):
        policy("auto")


def test_accept_edits_allows_edits_inside_the_roots_only() -> None:
    pol = policy("acceptEdits")
    assert edit(pol, "/work/repo/src/a.py")
    assert edit(pol, "src/a.py", tool="Write")
    assert edit(pol, "/work/docs/index.md", tool="MultiEdit")
    outside = call(pol, "Edit", {"file_path": "/work/repo/../other/a.py"})
    assert not outside.allowed and "outside the workspace" in outside.reason
    assert not edit(pol, "/work/repo/.git/hooks/pre-commit")  # would run when the runner commits
    assert not edit(pol, "/work/repo/.claude/settings.json")
    assert not call(pol, "Bash", {"command": "ls"}).allowed
    assert edit(policy("acceptEdits", allow=("Edit(/.claude/**)",)), "/work/repo/.claude/settings.json")


def test_plan_mode_allows_read_only_tools_only() -> None:
    pol = policy("plan", allow=("Edit", "Bash", "mcp__github"))
    assert call(pol, "Read", {"file_path": "/work/repo/a"}).allowed
    for tool in ("Edit", "Bash", "mcp__github__get_issue"):
        decision = call(pol, tool, {"command": "ls", "file_path": "/work/repo/a"})
        assert not decision.allowed and "plan mode" in decision.reason


# --- path rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "path", "matches"),
    [
        ("Read(//etc/**)", "/etc/passwd", True),
        ("Read(//etc/**)", "/work/repo/etc/passwd", False),
        ("Read(~/.ssh/**)", "/home/ci/.ssh/id_rsa", True),
        ("Read(~/.ssh/**)", "/work/repo/.ssh/id_rsa", False),
        ("Read(/secrets/**)", "/work/project/secrets/key", True),  # relative to the settings file
        ("Read(/secrets/**)", "/work/repo/secrets/key", False),
        ("Read(./secrets/**)", "/work/repo/secrets/a/b", True),
        ("Read(./secrets/**)", "secrets/key", True),
        ("Read(./secrets/**)", "/work/repo/sub/secrets/key", False),
        ("Read(*.env)", "/work/repo/.env", True),
        ("Read(*.env)", "/work/repo/env", False),
        ("Read(*.env)", "/work/repo/prod.env", True),
        ("Read(*.env)", "/work/repo/deep/dir/prod.env", True),  # gitignore: no slash, any depth
        ("Read(.env)", "/work/repo/app/.env", True),
        ("Read(./.env)", "/work/repo/app/.env", False),
        ("Read(src/**/*.key)", "/work/repo/src/a/b/c.key", True),
        ("Read(src/**/*.key)", "/work/repo/src/a/b/c.pem", False),
    ],
)
def test_read_deny_path_patterns(rule: str, path: str, matches: bool) -> None:
    pol = policy(deny=(rule,), base=PROJECT)
    decision = call(pol, "Read", {"file_path": path})
    assert decision.allowed is not matches
    if matches:
        assert rule in decision.reason and path in decision.reason


def test_read_rules_cover_glob_grep_and_ls_best_effort() -> None:
    pol = policy(deny=("Read(./secrets/**)",))
    assert not call(pol, "Grep", {"pattern": "x", "path": "secrets"}).allowed
    assert not call(pol, "LS", {"path": "/work/repo/secrets/deeper"}).allowed
    assert not call(pol, "Glob", {"pattern": "*", "path": "/work/repo/secrets"}).allowed
    assert call(pol, "Grep", {"pattern": "x", "path": "src"}).allowed
    assert not call(policy(deny=("Read(./**)",)), "Grep", {"pattern": "x"}).allowed  # default path: cwd
    assert read_denied_by(pol, "/work/repo/secrets/k") == "Read(./secrets/**)"
    assert read_denied_by(pol, "src/a.py") is None


def test_edit_rules_cover_write_and_multiedit_write_rules_only_write() -> None:
    pol = policy(allow=("Edit(/src/**)",))
    for tool in ("Edit", "Write", "MultiEdit"):
        assert edit(pol, "/work/repo/src/a.py", tool=tool)
        assert not edit(pol, "/work/repo/docs/a.md", tool=tool)
    only_write = policy(allow=("Write(./out/*)",))
    assert edit(only_write, "/work/repo/out/x.txt", tool="Write")
    assert not edit(only_write, "/work/repo/out/x.txt", tool="Edit")
    denied = policy("acceptEdits", deny=("Edit(//work/repo/vendor/**)",))
    assert not edit(denied, "/work/repo/vendor/lib.py", tool="MultiEdit")
    assert edit(denied, "/work/repo/lib.py", tool="MultiEdit")


def test_home_paths_in_tool_input_are_checked_both_ways() -> None:
    pol = policy(deny=("Read(~/.aws/**)",))
    assert not call(pol, "Read", {"file_path": "~/.aws/credentials"}).allowed


# --- other tools --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "tool", "matches"),
    [
        ("mcp__github", "mcp__github__get_issue", True),
        ("mcp__github", "mcp__slack__post", False),
        ("mcp__github__get_issue", "mcp__github__get_issue", True),
        ("mcp__github__get_issue", "mcp__github__create_pr", False),
        ("mcp__github__get_*", "mcp__github__get_issue", True),
        ("mcp__github__get_*", "mcp__github__create_pr", False),
        ("mcp__*", "mcp__slack__post", True),
        ("mcp__*", "Bash", False),
        ("*", "mcp__slack__post", True),
        ("mcp__git", "mcp__github__get_issue", False),
    ],
)
def test_mcp_rules(rule: str, tool: str, matches: bool) -> None:
    assert call(policy(allow=(rule,)), tool, {"command": "ls"}).allowed is matches
    assert call(policy("bypassPermissions", deny=(rule,)), tool, {"command": "ls"}).allowed is not matches


def test_webfetch_domain_rules() -> None:
    pol = policy("bypassPermissions", deny=("WebFetch(domain:evil.com)",))
    assert not call(pol, "WebFetch", {"url": "https://evil.com/x"}).allowed
    assert not call(pol, "WebFetch", {"url": "https://api.evil.com/x"}).allowed  # deny covers subdomains
    assert call(pol, "WebFetch", {"url": "https://good.org/"}).allowed


# --- can_ever_allow -----------------------------------------------------------------------


def test_can_ever_allow() -> None:
    def ever(pol: PermissionPolicy, tool: str) -> bool:
        read_only, edits = TOOLS[tool]
        return can_ever_allow(pol, tool, read_only=read_only, edits_files=edits)

    assert not ever(policy(), "Bash")
    assert ever(policy(allow=("Bash(npm test:*)",)), "Bash")
    assert not ever(policy("bypassPermissions", deny=("Bash",)), "Bash")
    assert ever(policy("bypassPermissions", deny=("Bash(rm:*)",)), "Bash")
    assert not ever(policy(ask=("*",)), "Read")
    assert not ever(policy("plan", allow=("Edit",)), "Edit")
    assert ever(policy("plan"), "Grep")
    assert ever(policy("acceptEdits"), "Write")
    assert ever(policy(allow=("Edit(src/**)",)), "MultiEdit")
    assert not ever(policy(deny=("Edit",), allow=("Edit",)), "Write")
    assert not ever(policy(deny=("Read",)), "Grep")
    assert ever(policy(allow=("mcp__github",)), "mcp__github__create_pr")
    assert not ever(policy(allow=("mcp__github",)), "mcp__slack__post")


# --- settings files -----------------------------------------------------------------------


def write_settings(tmp_path: Path, data: object) -> Path:
    path = tmp_path / ".claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_load_settings_permissions(tmp_path: Path) -> None:
    path = write_settings(
        tmp_path,
        {
            "env": {"X": "1"},
            "permissions": {
                "allow": ["Bash(npm test:*)", "Edit(/src/**)"],
                "deny": ["Read(./.env)"],
                "ask": ["Bash(git push:*)"],
                "defaultMode": "acceptEdits",
                "additionalDirectories": ["../docs/"],
            },
        },
    )
    loaded = load_settings_permissions(path)
    assert loaded.allow == ("Bash(npm test:*)", "Edit(/src/**)")
    assert loaded.deny == ("Read(./.env)",) and loaded.ask == ("Bash(git push:*)",)
    assert loaded.default_mode == "acceptEdits" and loaded.additional_directories == ("../docs/",)
    assert loaded.base_dir == tmp_path  # the project, not .claude/


def test_missing_settings_file_is_empty(tmp_path: Path) -> None:
    loaded = load_settings_permissions(tmp_path / ".claude" / "settings.local.json")
    assert (loaded.allow, loaded.deny, loaded.ask, loaded.default_mode) == ((), (), (), None)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"permissions": {"allow": ["Read",]}}', "invalid JSON at line 1, column"),
        ("[1, 2]", "settings must be a JSON object"),
        ({"permissions": ["Read"]}, "permissions must be an object"),
        ({"permissions": {"allow": "Read"}}, "permissions.allow must be a list of strings"),
        ({"permissions": {"deny": [1]}}, "permissions.deny must be a list of strings"),
        ({"permissions": {"additionalDirectories": [None]}}, "permissions.additionalDirectories must be"),
        ({"permissions": {"ask": ["Read", "Bash(x"]}}, "permissions.ask[1] `Bash(x`: unbalanced parentheses"),
        ({"permissions": {"defaultMode": "yolo"}}, "permissions.defaultMode: unknown permission mode `yolo`"),
        ({"permissions": {"defaultMode": 3}}, "permissions.defaultMode must be a string"),
    ],
)
def test_settings_errors_name_the_file_and_the_key(tmp_path: Path, content: object, message: str) -> None:
    path = write_settings(tmp_path, content)
    with pytest.raises(SettingsError) as info:
        load_settings_permissions(path)
    assert info.value.message.startswith(f"{path}: ")
    assert message in info.value.message


def test_json_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = write_settings(tmp_path, '{\n  "permissions": {\n    "allow": [\n      "Read",\n    ]\n  }\n}')
    with pytest.raises(SettingsError, match=r"line 5, column 5") as info:
        load_settings_permissions(path)
    assert "trailing commas" in info.value.one_line()


def test_unreadable_settings_file(tmp_path: Path) -> None:
    path = tmp_path / ".claude" / "settings.json"
    path.mkdir(parents=True)
    with pytest.raises(SettingsError, match="cannot read the settings file"):
        load_settings_permissions(path)


def test_inline_settings_json() -> None:
    loaded = parse_settings_json('{"permissions": {"deny": ["WebFetch"]}}', "--settings")
    assert loaded.deny == ("WebFetch",) and loaded.source == "--settings" and loaded.base_dir is None
    with pytest.raises(SettingsError, match=r"^--settings: invalid JSON"):
        parse_settings_json("{", "--settings")


# --- CLI flags and build_policy -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "rules"),
    [
        ("Bash(git diff *),Read", ["Bash(git diff *)", "Read"]),
        ("Read Edit  Write", ["Read", "Edit", "Write"]),
        (
            "Bash(npm run test:*), Bash(git log --format=%H,%s)",
            ["Bash(npm run test:*)", "Bash(git log --format=%H,%s)"],
        ),
        ('Bash(echo ")" x),Read', ['Bash(echo ")" x)', "Read"]),
        (" , ", []),
    ],
)
def test_split_rule_list(value: str, rules: list[str]) -> None:
    assert split_rule_list(value) == rules


def build(**kwargs: Any) -> PermissionPolicy:
    args: dict[str, Any] = {
        "mode": None,
        "allowed_tools": (),
        "disallowed_tools": (),
        "settings": (),
        "cwd": CWD,
        "add_dirs": (),
        "home": HOME,
    }
    return build_policy(**{**args, **kwargs})


def test_build_policy_merges_sources() -> None:
    user = SettingsPermissions("~/.claude/settings.json", HOME, allow=("Read",), default_mode="plan")
    project = SettingsPermissions(
        "/work/project/.claude/settings.json",
        PROJECT,
        allow=("Edit(/src/**)",),
        deny=("Bash(rm:*)",),
        default_mode="acceptEdits",
        additional_directories=("../docs", "~/cache"),
    )
    pol = build(
        allowed_tools=["Bash(git diff *),Read", "mcp__github"],
        disallowed_tools=["WebFetch"],
        settings=[user, project],
        add_dirs=[Path("../shared")],
    )
    assert pol.mode == "acceptEdits"  # the last source that sets it
    assert [r.text for r in pol.allow] == ["Read", "Edit(/src/**)", "Bash(git diff *)", "Read", "mcp__github"]
    assert [r.text for r in pol.deny] == ["Bash(rm:*)", "WebFetch"]
    assert pol.roots == (CWD, Path("/work/shared"), Path("/work/docs"), Path("/home/ci/cache"))
    assert pol.allow[1].base_dir == PROJECT
    assert edit(pol, "/work/project/src/a.py")  # `/src/**` is anchored at the settings' project
    assert build(mode="dontAsk", settings=[project]).mode == "dontAsk"  # the flag wins
    assert build().mode == "default"


def test_build_policy_errors_name_the_flag_and_the_rule() -> None:
    with pytest.raises(UsageError, match=r"--allowedTools: invalid rule `Bash\(git`"):
        build(allowed_tools=["Read,Bash(git"])
    with pytest.raises(UsageError, match=r"--disallowedTools: invalid rule `Ba\*`"):
        build(disallowed_tools=["Ba*"])
    with pytest.raises(UsageError, match="--permission-mode: unknown permission mode `yolo`"):
        build(mode="yolo")
    with pytest.raises(SettingsError, match=r"s\.json: permissions\.deny `Bash\(`"):
        build(settings=[SettingsPermissions("s.json", deny=("Bash(",))])
