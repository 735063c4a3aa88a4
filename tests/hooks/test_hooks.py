"""Hooks: the settings' `hooks` key, matchers, and what a real command's answer does."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runner.agent.tools.base import ToolContext
from runner.errors import SettingsError
from runner.hooks.config import HookCommand, HooksConfig, parse_hooks
from runner.hooks.protocol import HookRun, interpret
from runner.hooks.runner import HookRunner, HookStop, run_command


def hooks(event: str, command: str, matcher: str = "", timeout: float | None = None) -> HooksConfig:
    hook: dict = {"type": "command", "command": command}
    if timeout is not None:
        hook["timeout"] = timeout
    return parse_hooks({event: [{"matcher": matcher, "hooks": [hook]}]}, "test")


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=tmp_path, subprocess_env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})


def runner(config: HooksConfig, lines: list[str] | None = None) -> HookRunner:
    return HookRunner(
        config, "sess-1", Path("/tmp/t.jsonl"), "acceptEdits", log=(lines if lines is not None else []).append
    )


@pytest.mark.parametrize(
    ("matcher", "tool", "runs"),
    [
        ("Bash", "Bash", True),
        ("Bash", "BashOutput", False),  # a name is matched whole
        ("Edit|Write", "Write", True),
        ("Edit|Write", "Read", False),
        ("*", "Read", True),
        ("", "Read", True),
        ("mcp__.*", "mcp__github__get_issue", True),
    ],
)
def test_matchers(matcher: str, tool: str, runs: bool) -> None:
    assert bool(hooks("PreToolUse", "true", matcher).commands("PreToolUse", tool)) is runs


def test_unknown_events_and_other_hook_types_warn_and_bad_shapes_fail() -> None:
    config = parse_hooks(
        {
            "Notification": [{"hooks": [{"type": "command", "command": "true"}]}],
            "Stop": [{"hooks": [{"type": "prompt", "prompt": "check"}]}],
        },
        "s.json",
    )
    assert not config.commands("Stop")
    assert any("hooks.Notification is ignored" in w for w in config.warnings)
    assert any("prompt hooks are not supported" in w for w in config.warnings)
    with pytest.raises(SettingsError, match=r"hooks\.PreToolUse\[0\] must be an object with a hooks list"):
        parse_hooks({"PreToolUse": [{"matcher": "Bash"}]}, "s.json")
    with pytest.raises(SettingsError, match="timeout must be a number"):
        parse_hooks({"Stop": [{"hooks": [{"command": "x", "timeout": "1m"}]}]}, "s.json")


def test_the_hook_reads_claude_codes_input_on_stdin(ctx: ToolContext, tmp_path: Path) -> None:
    config = hooks("PreToolUse", 'cat > "$CLAUDE_PROJECT_DIR/input.json"', "Bash")
    runner(config).before_tool("Bash", {"command": "ls"}, "toolu_1", ctx)
    data = json.loads((tmp_path / "input.json").read_text())
    assert data == {
        "session_id": "sess-1",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": str(tmp_path),
        "permission_mode": "acceptEdits",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
        "tool_use_id": "toolu_1",
    }


def test_exit_2_blocks_with_stderr_for_the_model(ctx: ToolContext) -> None:
    config = hooks("PreToolUse", "echo 'no network tools' >&2; exit 2")
    verdict = runner(config).before_tool("Bash", {"command": "curl x"}, "t", ctx)
    assert verdict.block and verdict.reason == "no network tools"


def test_ask_is_a_denial_and_allow_and_updated_input_pass_through(ctx: ToolContext) -> None:
    def answer(decision: str) -> str:
        out = {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": decision,
                "permissionDecisionReason": f"said {decision}",
                "updatedInput": {"command": "ls -la"},
            }
        }
        return f"echo '{json.dumps(out)}'"

    asked = runner(hooks("PreToolUse", answer("ask"))).before_tool("Bash", {"command": "ls"}, "t", ctx)
    assert asked.block and not asked.allow and asked.reason == "said ask"
    allowed = runner(hooks("PreToolUse", answer("allow"))).before_tool("Bash", {"command": "ls"}, "t", ctx)
    assert allowed.allow and not allowed.block and allowed.updated_input == {"command": "ls -la"}


def test_a_failing_hook_is_logged_and_does_not_block(ctx: ToolContext) -> None:
    lines: list[str] = []
    verdict = runner(hooks("PreToolUse", "echo broken >&2; exit 1"), lines).before_tool("Bash", {}, "t", ctx)
    assert not verdict.block and any("failed (exit 1): broken" in line for line in lines)


def test_a_hook_that_outlives_its_timeout_is_stopped(ctx: ToolContext) -> None:
    # The timeout is the hook's own setting; the command would otherwise sleep for minutes.
    result = run_command(HookCommand("sleep 300", timeout_s=0.5), "{}", ctx)
    assert result.exit_code is None and "timed out after 0.5 s" in result.failure


def test_continue_false_stops_the_run(ctx: ToolContext) -> None:
    config = hooks("PostToolUse", """echo '{"continue": false, "stopReason": "budget policy"}'""")
    with pytest.raises(HookStop, match="budget policy"):
        runner(config).after_tool("Edit", {}, "t", {"content": "ok"}, ctx)


def test_prompt_hooks_add_context_or_refuse(ctx: ToolContext) -> None:
    config = parse_hooks(
        {
            "SessionStart": [{"hooks": [{"command": "echo 'Branch policy: small commits.'"}]}],
            "UserPromptSubmit": [
                {"hooks": [{"command": "grep -q secret && exit 2 || echo 'Ticket: ABC-1'"}]}
            ],
        },
        "s",
    )
    context, refused = runner(config).start("fix it", resumed=False, ctx=ctx)
    assert refused is None and context == ["Branch policy: small commits.", "Ticket: ABC-1"]
    _, refused = runner(config).start("print the secret", resumed=False, ctx=ctx)
    assert refused is not None


def test_posttooluse_feedback_and_suppressed_output() -> None:
    verdict = interpret(
        "PostToolUse",
        [
            HookRun("lint", 2, "", "line 3: unused import"),
            HookRun(
                "fmt",
                0,
                json.dumps({"suppressOutput": True, "hookSpecificOutput": {"additionalContext": "x"}}),
            ),
        ],
    )
    assert verdict.block and verdict.reason == "line 3: unused import" and verdict.context == ["x"]


def test_a_failed_call_fires_posttoolusefailure_and_not_posttooluse(ctx: ToolContext, tmp_path: Path) -> None:
    log = tmp_path / "fired.jsonl"
    config = parse_hooks(
        {
            "PostToolUse": [{"matcher": "Bash", "hooks": [{"command": f"cat >> {log}; echo >> {log}"}]}],
            "PostToolUseFailure": [
                {
                    "matcher": "Bash",
                    "hooks": [
                        {
                            "command": f"cat >> {log}; echo >> {log}; echo '"
                            + json.dumps(
                                {"hookSpecificOutput": {"additionalContext": "Run make setup first."}}
                            )
                            + "'"
                        }
                    ],
                }
            ],
        },
        "s",
    )
    hooks_of_run = runner(config)
    failed = {"content": "Exit code 127\nmake: not found", "is_error": True}
    note = hooks_of_run.after_tool("Bash", {"command": "make"}, "t1", failed, ctx)
    assert note == "Run make setup first."
    assert (
        hooks_of_run.after_tool("Bash", {"command": "ls"}, "t2", {"content": "a.py", "is_error": False}, ctx)
        is None
    )
    fired = [json.loads(line) for line in log.read_text().splitlines()]
    assert [f["hook_event_name"] for f in fired] == ["PostToolUseFailure", "PostToolUse"]
    assert fired[0]["error"] == "Exit code 127\nmake: not found" and fired[0]["is_interrupt"] is False
    assert fired[0]["tool_input"] == {"command": "make"} and "tool_response" not in fired[0]
    assert fired[1]["tool_response"]["content"] == "a.py"
