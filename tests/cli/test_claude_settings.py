"""Claude Code's settings files as a team has them: sources and precedence, the keys we apply, the
ones we name as unused; and a session resumed from an earlier run's transcript."""

from __future__ import annotations

import json
from pathlib import Path

from runner.testing.fake_messages import FakeMessagesAPI, text, tool_use


def write_settings(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_sources_precedence_user_project_local_then_flag(run_flags, fake, repo, tmp_path) -> None:
    config = tmp_path / "claude-config"
    write_settings(config / "settings.json", {"model": "haiku", "permissions": {"allow": ["Write"]}})
    write_settings(repo / ".claude" / "settings.json", {"model": "opus"})
    fake.add_turns([[tool_use("Write", {"file_path": str(repo / "a.txt"), "content": "x"})], [text("ok")]])
    run = run_flags()
    assert run.code == 0, run.stderr
    assert "opus" in run.request["model"]  # project beats user
    assert (repo / "a.txt").exists()  # permissions add up: the user's allow rule still counts
    fake.add_turns([[text("ok")]])
    write_settings(repo / ".claude" / "settings.local.json", {"model": "haiku"})
    assert "haiku" in run_flags().request["model"]  # local beats project
    fake.add_turns([[text("ok")]])
    assert "sonnet" in run_flags("--settings", '{"model": "sonnet"}').request["model"]  # the flag beats all
    fake.add_turns([[text("ok")]])
    assert "opus" in run_flags("--setting-sources", "user,project").request["model"]  # local not read


def test_model_flag_and_variable_beat_the_settings(run_flags, fake, repo) -> None:
    write_settings(repo / ".claude" / "settings.json", {"model": "opus"})
    fake.add_turns([[text("ok")], [text("ok")]])
    assert "haiku" in run_flags("--model", "haiku").request["model"]
    assert "haiku" in run_flags(extra_env={"ANTHROPIC_MODEL": "haiku"}).request["model"]


def test_unused_keys_are_named_once(run_flags, fake, repo) -> None:
    write_settings(
        repo / ".claude" / "settings.json", {"statusLine": {"type": "command"}, "cleanupPeriodDays": 5}
    )
    fake.add_turns([[text("ok")]])
    run = run_flags()
    assert run.code == 0
    (line,) = [w for w in run.warnings if "does not use" in w]
    assert "cleanupPeriodDays" in line and "statusLine" in line and run.stderr.count("statusLine") == 1


def test_output_style_changes_the_system_prompt(run_flags, fake, repo, tmp_path) -> None:
    write_settings(repo / ".claude" / "settings.json", {"outputStyle": "Explanatory"})
    fake.add_turns([[text("ok")], [text("ok")], [text("ok")]])
    assert "Output style: Explanatory" in run_flags().request["system"][0]["text"]
    style = tmp_path / "claude-config" / "output-styles" / "terse.md"
    style.parent.mkdir(parents=True)
    style.write_text("---\nname: Terse\ndescription: short\n---\nAnswer in one sentence.\n")
    write_settings(repo / ".claude" / "settings.json", {"outputStyle": "Terse"})
    assert "Answer in one sentence." in run_flags().request["system"][0]["text"]
    write_settings(repo / ".claude" / "settings.json", {"outputStyle": "Pirate"})
    run = run_flags()
    assert run.code == 0 and any("outputStyle 'Pirate' was not found" in w for w in run.warnings)


def test_settings_hooks_run_in_the_cli_too(run_flags, fake, repo) -> None:
    hook = {"hooks": [{"type": "command", "command": "echo 'Remember: tabs, not spaces.'"}]}
    write_settings(repo / ".claude" / "settings.json", {"hooks": {"UserPromptSubmit": [hook]}})
    fake.add_turns([[text("ok")]])
    content = run_flags().request["messages"][0]["content"]
    assert [b["text"] for b in content] == ["hello", "Remember: tabs, not spaces."]
    write_settings(repo / ".claude" / "settings.local.json", {"disableAllHooks": True})
    fake.add_turns([[text("ok")]])
    run = run_flags()
    assert [b["text"] for b in run.request["messages"][0]["content"]] == ["hello"]


def test_resume_and_continue_rebuild_the_conversation(run_flags, fake: FakeMessagesAPI, repo) -> None:
    transcript = repo / ".claude-runner" / "sessions" / "s.jsonl"
    fake.add_turns([[tool_use("LS", {"path": str(repo)})], [text("There is calc.py.")]])
    first = run_flags("--transcript", str(transcript), "--output-format", "json", prompt="What is here?")
    session = first.result["session_id"]
    fake.add_turns([[text("It adds.")], [text("Still adds.")]])
    resumed = run_flags("--resume", session, "--output-format", "json", prompt="What does it do?")
    messages = resumed.request["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[0]["content"][0]["text"] == "What is here?"
    assert messages[3]["content"][0]["text"] == "There is calc.py."
    assert messages[4]["content"][-1]["text"] == "What does it do?"
    assert resumed.result["session_id"] == session and not resumed.warnings
    again = run_flags("--continue", prompt="And now?")
    assert len(again.request["messages"]) == 5  # the newest transcript is the first run's: same history
