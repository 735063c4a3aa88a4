"""Every flag of Claude Code's CLI reference: the run exits 0, and the flag's effect (or its one
warning line) is visible. The flags are parsed by the real `run` command; the run is the real
`run_headless` against the fake Messages API, in-process (a subprocess per flag would take minutes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.settings.run_flags import UNSUPPORTED_FLAGS
from runner.testing.fake_messages import FakeMessagesAPI, text, tool_use
from tests.cli.claude_cli_reference import CLI_REFERENCE_FLAGS
from tests.cli.conftest import Run


def write_turn(repo: Path) -> list[Any]:
    write = tool_use("Write", {"file_path": str(repo / "new.txt"), "content": "made\n"})
    return [[write], [text("Wrote it.")]]


def _transcript_of_an_earlier_run(run_flags: Callable[..., Run], fake: FakeMessagesAPI, repo: Path) -> Path:
    fake.add_turns([[text("The answer is 42.")]])
    path = repo / ".claude-runner" / "sessions" / "earlier.jsonl"
    assert run_flags("--transcript", str(path), prompt="What is the answer?").code == 0
    return path


# flag -> (extra arguments, what to check). A check takes the Run; "warn" means the one warning line.
EFFECTS: dict[str, tuple[list[str], Any]] = {}


def effect(flag: str, *args: str) -> Callable[[Callable[[Run], None]], Callable[[Run], None]]:
    def register(check: Callable[[Run], None]) -> Callable[[Run], None]:
        EFFECTS[flag] = (list(args), check)
        return check

    return register


@effect("--add-dir", "/tmp")
def _add_dir(run: Run) -> None:
    assert "/tmp" in run.request["system"][0]["text"]


@effect("--allowedTools", "Write")
def _allowed(run: Run) -> None:
    assert (run.repo / "new.txt").read_text() == "made\n"


@effect("--allowed-tools", "Write")
def _allowed_alias(run: Run) -> None:
    assert (run.repo / "new.txt").exists()


@effect("--disallowedTools", "Write", "--permission-mode", "acceptEdits")
def _disallowed(run: Run) -> None:
    assert not (run.repo / "new.txt").exists()


@effect("--disallowed-tools", "Write", "--permission-mode", "acceptEdits")
def _disallowed_alias(run: Run) -> None:
    assert not (run.repo / "new.txt").exists()


@effect("--dangerously-skip-permissions")
def _skip_permissions(run: Run) -> None:
    assert (run.repo / "new.txt").exists()


@effect("--permission-mode", "acceptEdits")
def _permission_mode(run: Run) -> None:
    assert (run.repo / "new.txt").exists()


@effect("--append-system-prompt", "Answer in French.")
def _append(run: Run) -> None:
    assert "Answer in French." in run.request["system"][0]["text"]


@effect("--system-prompt", "You are a linter.")
def _system(run: Run) -> None:
    assert run.request["system"][0]["text"].startswith("You are a linter.")


@effect("--system-prompt-file", "prompt-file.md")
def _system_file(run: Run) -> None:
    assert run.request["system"][0]["text"].startswith("From a file.")


@effect("--append-system-prompt-file", "prompt-file.md")
def _append_file(run: Run) -> None:
    system = run.request["system"][0]["text"]
    assert "From a file." in system and not system.startswith("From a file.")


@effect("--betas", "interleaved-thinking-2025-05-14,files-api-2025-04-14")
def _betas(run: Run) -> None:
    headers = {k.lower(): v for k, v in run.fake.message_requests[run.first].headers.items()}
    # The flag's betas first; the runner may add its own (server-side compaction) after them.
    sent = headers["anthropic-beta"].split(",")
    assert sent[:2] == ["interleaved-thinking-2025-05-14", "files-api-2025-04-14"]


@effect("--effort", "low")
def _effort(run: Run) -> None:
    assert run.request["output_config"] == {"effort": "low"} and not run.warnings


@effect("--fallback-model", "haiku")
def _fallback(run: Run) -> None:
    assert run.code == 0 and not run.warnings  # used only when the model is overloaded or unknown


@effect("--mcp-config", '{"mcpServers": {}}')
def _mcp_config(run: Run) -> None:
    assert not run.warnings and not any(t["name"].startswith("mcp__") for t in run.request["tools"])


@effect("--strict-mcp-config")
def _strict_mcp(run: Run) -> None:
    assert not run.warnings


@effect("--debug")
def _debug(run: Run) -> None:
    assert "[DEBUG] api: response from" in run.stderr and "[DEBUG] settings: sources:" in run.stderr


@effect("-d", "hooks,settings")
def _debug_filtered(run: Run) -> None:
    assert "[DEBUG] settings:" in run.stderr and "[DEBUG] api:" not in run.stderr


@effect("--debug-file", "debug.log")
def _debug_file(run: Run) -> None:
    assert "[DEBUG] api: response from" in (run.repo / "debug.log").read_text()
    assert "[DEBUG]" not in run.stderr


@effect("--verbose")
def _verbose(run: Run) -> None:
    assert "[DEBUG] api: response from" in run.stderr and "[DEBUG] settings" not in run.stderr


@effect("--json-schema", '{"type": "object", "required": ["n"]}')
def _json_schema(run: Run) -> None:
    assert "StructuredOutput" in [t["name"] for t in run.request["tools"]]


@effect("--max-budget-usd", "5")
def _budget(run: Run) -> None:
    assert run.result["total_cost_usd"] < 5 and run.result["subtype"] == "success"


@effect("--max-turns", "2")
def _max_turns(run: Run) -> None:
    # Exactly at the limit: it stops before a third call (the limit itself: tests/agent/test_run_e2e.py).
    assert run.result["num_turns"] == 2 and len(run.fake.message_requests) == 2


@effect("--model", "opus")
def _model(run: Run) -> None:
    assert "opus" in run.request["model"]


@effect("--output-format", "json")
def _output_format(run: Run) -> None:
    assert run.result["type"] == "result"


@effect("-p", "say hi")
def _print(run: Run) -> None:
    assert run.request["messages"][0]["content"][0]["text"] == "say hi"


@effect("--print", "say hi")
def _print_long(run: Run) -> None:
    assert run.request["messages"][0]["content"][0]["text"] == "say hi"


@effect("--settings", '{"permissions": {"allow": ["Write"]}}')
def _settings(run: Run) -> None:
    assert (run.repo / "new.txt").exists()


@effect("--setting-sources", "user")
def _setting_sources(run: Run) -> None:
    # The project's settings (model: opus, written by the test) are not read.
    assert "opus" not in run.request["model"]


@effect("--tools", "Read,Grep")
def _tools(run: Run) -> None:
    assert [t["name"] for t in run.request["tools"]] == ["Read", "Grep"]


@effect("--session-id", "8f14e45f-ceea-467f-a0e6-7b5e8d4a1c2b")
def _session_id(run: Run) -> None:
    assert run.result["session_id"] == "8f14e45f-ceea-467f-a0e6-7b5e8d4a1c2b"


@effect("--continue")
def _continue(run: Run) -> None:
    assert any("--continue: no transcript of an earlier session" in w for w in run.warnings)


@effect("-c")
def _continue_short(run: Run) -> None:
    assert any("--continue: no transcript" in w for w in run.warnings)


@effect("--resume", "0b0e9d1c-51a7-4f55-9d3c-2b8e3f1c9a10")
def _resume(run: Run) -> None:
    assert any("--resume: no transcript of session 0b0e9d1c" in w for w in run.warnings)


@effect("-r", "0b0e9d1c-51a7-4f55-9d3c-2b8e3f1c9a10")
def _resume_short(run: Run) -> None:
    assert any("--resume: no transcript" in w for w in run.warnings)


@effect("--fork-session", "--resume", ".claude-runner/sessions/earlier.jsonl")
def _fork(run: Run) -> None:
    earlier = json.loads((run.repo / ".claude-runner/sessions/earlier.jsonl").read_text().splitlines()[0])
    assert run.result["session_id"] != earlier["session_id"]
    assert len(run.request["messages"]) == 3  # still resumed: question, answer, new prompt


@effect("--agents", '{"reviewer": {"description": "Reviews code", "prompt": "You review."}}')
def _agents(run: Run) -> None:
    # The agent is offered to the model: the Agent tool's description lists it with its description.
    agent_tool = next(t for t in run.request["tools"] if t["name"] == "Agent")
    assert "reviewer" in agent_tool["description"] and "Reviews code" in agent_tool["description"]


@effect("--disable-slash-commands")
def _no_slash(run: Run) -> None:
    assert run.request["messages"][0]["content"][0]["text"] == "hello"


@effect("--no-session-persistence")
def _no_persistence(run: Run) -> None:
    assert not (run.repo / ".claude-runner").exists() and not run.warnings


def _flag_names(entry: str) -> list[str]:
    return entry.split("/")


def _cases() -> list[tuple[str, list[str], Any]]:
    cases = []
    for entry in CLI_REFERENCE_FLAGS:
        for name in _flag_names(entry):
            if name in EFFECTS:
                args, check = EFFECTS[name]
                cases.append((name, [name, *args], check))
            else:
                long = _flag_names(entry)[0]
                takes = UNSUPPORTED_FLAGS.get(long)
                value = ["x"] if takes is True else []
                cases.append((name, [name, *value], "warn"))
    return cases


def test_every_reference_flag_is_implemented_or_warned() -> None:
    names = {n for entry in CLI_REFERENCE_FLAGS for n in _flag_names(entry)}
    known = set(EFFECTS) | set(UNSUPPORTED_FLAGS) | {"-n", "-w"}
    assert names - known == set(), "flags of the CLI reference with neither an effect nor a warning"


@pytest.mark.parametrize(("flag", "argv", "check"), _cases(), ids=[c[0] for c in _cases()])
def test_flag(flag: str, argv: list[str], check: Any, run_flags, fake: FakeMessagesAPI, repo: Path) -> None:
    (repo / "prompt-file.md").write_text("From a file.\n")
    if flag == "--setting-sources":
        (repo / ".claude").mkdir(exist_ok=True)
        (repo / ".claude" / "settings.json").write_text('{"model": "opus"}')
    if "--resume" in argv and ".claude-runner/sessions/earlier.jsonl" in argv:
        _transcript_of_an_earlier_run(run_flags, fake, repo)
    if "--json-schema" in argv:
        fake.add_turns([[tool_use("StructuredOutput", {"n": 1})]])
    else:
        fake.add_turns(write_turn(repo))
    if "--output-format" not in argv:
        argv = [*argv, "--output-format", "json"]
    run = run_flags(*argv)
    assert run.code == 0, run.stderr
    if check == "warn":
        long = next(_flag_names(e)[0] for e in CLI_REFERENCE_FLAGS if flag in _flag_names(e))
        assert run.warnings == [f"warning: {long} is not supported by claude-runner yet; it is ignored"]
        assert run.stderr.count(long) == 1
    else:
        check(run)


def test_a_uuid_is_required_for_session_id(run_flags) -> None:
    with pytest.raises(Exception, match="--session-id must be a UUID"):
        run_flags("--session-id", "not-a-uuid")
