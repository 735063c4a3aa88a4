"""The live log: what a person watching the CI log sees while a run goes on."""

from __future__ import annotations

import json

from runner.agent.live_log import LiveLog, retry_line
from runner.ci.gitlab import SECTION_END, SECTION_START
from runner.flow.job import Job
from runner.sanitize import REDACTED, Redactor
from runner.testing.fake_messages import text, tool_use

SECRET = "sk-live-log-secret-0123456789"


def events_of_a_real_run(fake, repo, run_cli) -> list[dict]:
    """The events of a run against the fake API: one 529 retry, a Read, a failing Bash, an answer."""
    (repo / "notes.txt").write_text(f"token {SECRET}\n")
    fake.queue_fault("overloaded")
    fake.add_turns(
        [
            [text("Looking."), tool_use("Read", {"file_path": str(repo / "notes.txt")})],
            [tool_use("Bash", {"command": "echo broken >&2; exit 3", "description": "fail"})],
            [text("Done.")],
        ]
    )
    out = run_cli(
        "run", "-p", "look", "--output-format", "stream-json", "--allowedTools", "Read,Bash", cwd=repo
    )
    assert out.code == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def test_one_line_per_model_call_tool_call_and_retry(fake, repo, run_cli) -> None:
    lines: list[str] = []
    live = LiveLog(lines.append, Redactor([SECRET]), full=True)
    for event in events_of_a_real_run(fake, repo, run_cli):
        live(event)
    log = "\n".join(lines)
    assert lines[0].startswith("Claude starts: model ")
    assert "model API: 529 overloaded, retrying in " in log and "attempt 1 of " in log
    turns = [line for line in lines if line.startswith("turn ")]
    assert [t.split(":")[0] for t in turns] == ["turn 1", "turn 2", "turn 3"]
    assert all(" out tokens" in t and t.endswith(" so far") for t in turns)
    assert "read from cache" in turns[1]
    # Cost so far grows with each turn.
    costs = [float(t.rsplit("$", 1)[1].split()[0]) for t in turns]
    assert costs == sorted(costs) and costs[-1] > 0
    # The input is clipped to one short line, so only its start is certain (the temp path varies).
    path_start = str(repo / "notes.txt")[:60]
    assert any(line.startswith(f"  Read {path_start}") and "→ ok (" in line for line in lines)
    assert any(line.startswith("  Bash echo broken") and "→ failed: " in line for line in lines)
    # show_full_output: the tool's whole output, redacted.
    assert f"    | 1\ttoken {REDACTED}" in lines
    assert SECRET not in log
    assert lines[-1].startswith("Claude finished (3 turns, $")


def test_quiet_log_names_tools_but_never_their_inputs_or_outputs(fake, repo, run_cli) -> None:
    lines: list[str] = []
    live = LiveLog(lines.append, Redactor(), quiet=True, full=True)
    for event in events_of_a_real_run(fake, repo, run_cli):
        live(event)
    log = "\n".join(lines)
    assert "  Read → ok (" in log and "  Bash → failed" in log
    assert "notes.txt" not in log and "broken" not in log and SECRET not in log


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_heartbeat_says_what_the_run_waits_for_after_ten_silent_seconds() -> None:
    clock, lines = FakeClock(), []
    live = LiveLog(lines.append, Redactor(), clock=clock)
    live({"type": "system", "subtype": "init", "tools": ["Bash"], "model": "m", "permissionMode": "default"})
    clock.now += 9
    assert live.tick() is None
    clock.now += 3
    assert live.tick() == "still waiting for the model (turn 1, 12 s)"
    assert live.tick() is None  # the heartbeat itself counts as a line
    message = {
        "model": "claude-sonnet-4-5",
        "usage": {"input_tokens": 10, "output_tokens": 5},
        "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "sleep 60"}}],
    }
    live({"type": "assistant", "message": message})
    clock.now += 25
    assert live.tick() == "still running Bash (25 s)"
    live(
        {
            "type": "user",
            "message": {"content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x"}]},
        }
    )
    clock.now += 10
    assert live.tick() == "still waiting for the model (turn 2, 10 s)"


def test_heartbeat_thread_writes_while_nothing_else_does() -> None:
    import threading

    written = threading.Event()
    lines: list[str] = []

    def write(line: str) -> None:
        lines.append(line)
        written.set()

    with LiveLog(write, Redactor(), heartbeat_s=0.05):
        assert written.wait(10)
    assert lines[0].startswith("still waiting for the model (turn 1, ")


def test_retry_line_without_a_response() -> None:
    event = {
        "error_status": None,
        "error": "server_error",
        "retry_delay_ms": 4000,
        "attempt": 2,
        "max_retries": 8,
    }
    assert retry_line(event) == "model API: connection failed, retrying in 4 s, attempt 2 of 8"


def test_gitlab_groups_are_collapsed_sections() -> None:
    lines: list[str] = []
    job = Job(
        workspace=None,
        temp_dir=None,
        repo_url="",
        log=lines.append,
        group_start=SECTION_START,
        group_end=SECTION_END,
    )  # type: ignore[arg-type]
    with job.group("Claude (review)"):
        lines.append("inside")
    start, inside, end = lines
    assert start.startswith("\x1b[0Ksection_start:") and start.endswith(
        "claude_review[collapsed=true]\r\x1b[0KClaude (review)"
    )
    assert end.startswith("\x1b[0Ksection_end:") and end.endswith(":claude_review\r\x1b[0K")
    assert inside == "inside"


def test_run_without_verbose_prints_no_live_log(fake, repo, run_cli) -> None:
    fake.add_turns([[text("Hi.")]])
    out = run_cli("run", "-p", "look", cwd=repo)
    assert out.code == 0 and out.stdout == "Hi.\n" and out.stderr == ""
