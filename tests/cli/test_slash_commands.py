"""`claude-runner run -p "/name args"`: the workspace's commands and skills, and plugins, as Claude
Code uses them (the real `run` command in-process against the fake Messages API)."""

from __future__ import annotations

import json
from pathlib import Path

from runner.testing.fake_messages import text, tool_use
from tests.plugin_fixtures import make_marketplace, write_plugin


def _write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def _prompt(run) -> str:
    return run.request["messages"][0]["content"][0]["text"]


def test_a_project_command_is_expanded_with_its_arguments_and_files(run_flags, fake, repo: Path) -> None:
    _write(
        repo / ".claude" / "commands" / "team" / "fix.md",
        "---\ndescription: Fix\n---\nFix issue #$1 in @calc.py ($ARGUMENTS)",
    )
    fake.add_turns([[text("Done.")]])
    run = run_flags("--output-format", "json", prompt="/fix 12 urgent")
    assert run.code == 0, run.stderr
    prompt = _prompt(run)
    assert prompt.startswith("Fix issue #12 in calc.py (12 urgent)")
    assert '<file path="calc.py">\ndef add(a, b):\n    return a - b\n</file>' in prompt


def test_a_file_outside_the_workspace_is_not_inlined(run_flags, fake, repo: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    _write(repo / ".claude" / "commands" / "peek.md", f"Read @{tmp_path}/secret.txt and @../secret.txt")
    fake.add_turns([[text("Done.")]])
    run = run_flags(prompt="/peek")
    assert run.code == 0 and "TOP SECRET" not in _prompt(run)


def test_an_unknown_command_goes_as_written_with_a_warning(run_flags, fake, repo: Path) -> None:
    fake.add_turns([[text("Done.")]])
    run = run_flags(prompt="/nope please")
    assert run.code == 0 and _prompt(run) == "/nope please"
    assert (
        "warning: /nope is not a known slash command; the prompt goes to the model as written" in run.warnings
    )


def test_disable_slash_commands_sends_the_prompt_as_written(run_flags, fake, repo: Path) -> None:
    _write(repo / ".claude" / "commands" / "fix.md", "Expanded")
    fake.add_turns([[text("Done.")]])
    run = run_flags("--disable-slash-commands", prompt="/fix 1")
    assert _prompt(run) == "/fix 1" and not run.warnings


def test_allowed_tools_grant_for_this_run_and_shell_lines_obey_them(run_flags, fake, repo: Path) -> None:
    _write(
        repo / ".claude" / "commands" / "note.md",
        "---\nallowed-tools: Write, Bash(git status:*)\n---\n"
        "Status:\n!`git status --short`\nDenied: !`touch pwned`\nWrite notes.",
    )
    (repo / "calc.py").write_text("changed\n")
    fake.add_turns(
        [[tool_use("Write", {"file_path": str(repo / "notes.txt"), "content": "n\n"})], [text("ok")]]
    )
    run = run_flags(prompt="/note")
    assert run.code == 0, run.stderr
    prompt = _prompt(run)
    assert "M calc.py" in prompt and "(the output of `touch pwned` is not available)" in prompt
    assert not (repo / "pwned").exists()
    assert (
        "warning: /note: !`touch pwned` was not run (not allowed by the permission rules); left out"
        in run.warnings
    )
    assert (repo / "notes.txt").read_text() == "n\n"  # Write allowed by the command, in default mode
    # Without the command the same run may not write.
    fake.add_turns(
        [[tool_use("Write", {"file_path": str(repo / "other.txt"), "content": "n\n"})], [text("ok")]]
    )
    assert run_flags(prompt="write notes").code == 0 and not (repo / "other.txt").exists()


def test_the_skill_tool_lists_skills_and_returns_one_with_its_directory(run_flags, fake, repo: Path) -> None:
    skill = repo / ".claude" / "skills" / "release"
    _write(
        skill / "SKILL.md",
        "---\nname: release\ndescription: Cut a release\n---\n"
        "Bump $ARGUMENTS. See ${CLAUDE_SKILL_DIR}/steps.md",
    )
    _write(skill / "steps.md", "1. tag\n")
    fake.add_turns(
        [
            [tool_use("Skill", {"skill": "release", "args": "1.2.3"})],
            [tool_use("Read", {"file_path": str(skill / "steps.md")})],
            [text("Released.")],
        ]
    )
    run = run_flags("--output-format", "json", prompt="release please")
    assert run.code == 0, run.stderr
    (tool,) = [t for t in run.request["tools"] if t["name"] == "Skill"]
    assert "<name>release</name>\n<description>Cut a release</description>" in tool["description"]
    results = [
        b
        for m in fake.message_requests[-1].body["messages"]
        for b in m["content"]
        if b.get("type") == "tool_result"
    ]
    assert results[0]["content"].startswith("Launching skill: release")
    assert f"Bump 1.2.3. See {skill.resolve()}/steps.md" in results[0]["content"]
    assert "1. tag" in json.dumps(results[1]["content"]) and not results[1].get("is_error")


def test_a_plugin_dir_brings_namespaced_commands_and_hooks(
    run_flags, fake, repo: Path, tmp_path: Path
) -> None:
    plugin = tmp_path / "code-review"
    hook = {
        "PostToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "touch hooked.txt"}]}]
    }
    write_plugin(plugin, hooks=hook)
    fake.add_turns([[tool_use("Write", {"file_path": str(repo / "a.txt"), "content": "a\n"})], [text("ok")]])
    run = run_flags(
        "--plugin-dir", str(plugin), "--allowedTools", "Write", prompt="/code-review:code-review 5"
    )
    assert run.code == 0, run.stderr
    assert _prompt(run).startswith("Provide a code review for the given pull request.")
    assert (repo / "hooked.txt").exists()  # the plugin's hook ran


def test_enabled_plugins_in_the_settings_load_from_a_known_marketplace(
    run_flags, fake, repo: Path, tmp_path: Path
) -> None:
    bare, _ = make_marketplace(tmp_path / "markets")
    settings = {
        "enabledPlugins": {"code-review@fixture": True, "missing@fixture": True},
        "extraKnownMarketplaces": {"fixture": {"source": {"source": "git", "url": f"file://{bare}"}}},
    }
    _write(repo / ".claude" / "settings.json", json.dumps(settings))
    fake.add_turns([[text("ok")]])
    run = run_flags(
        prompt="/code-review:code-review", extra_env={"CLAUDE_RUNNER_PLUGIN_CACHE": str(tmp_path / "c")}
    )
    assert run.code == 0, run.stderr
    assert _prompt(run).startswith("Provide a code review")
    assert any(w.startswith("warning: enabledPlugins: missing@fixture is not loaded") for w in run.warnings)
    assert not any("enabledPlugins" in w and "does not use" in w for w in run.warnings)


def test_skill_is_a_tool_the_tools_flag_and_deny_rules_govern(run_flags, fake, repo: Path) -> None:
    _write(
        repo / ".claude" / "skills" / "release" / "SKILL.md", "---\ndescription: Cut a release\n---\nBump."
    )
    fake.add_turns([[text("ok")]])
    run = run_flags("--tools", "Read", prompt="hi")
    assert "Skill" not in {t["name"] for t in run.request["tools"]}
    fake.add_turns([[tool_use("Skill", {"skill": "release"})], [text("ok")]])
    run = run_flags("--disallowedTools", "Skill", prompt="hi")
    results = [
        b
        for m in fake.message_requests[-1].body["messages"]
        for b in m["content"]
        if b.get("type") == "tool_result"
    ]
    assert results[0].get("is_error") and "Bump." not in str(results[0]["content"])
