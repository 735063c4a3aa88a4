"""`claude-runner run` end to end: the real CLI in a subprocess, the fake API, a real git repo."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

from runner.testing.fake_messages import fault, text, tool_use, turn
from tests.agent.test_tools_bash import running
from tests.conftest import base_env

CHECK = "python3 -c 'import calc; assert calc.add(2, 3) == 5; print(\"ok\")'"


def fix_script(repo):
    return [
        [text("Let me look."), tool_use("Read", {"file_path": str(repo / "calc.py")})],
        [
            tool_use(
                "Edit", {"file_path": str(repo / "calc.py"), "old_string": "a - b", "new_string": "a + b"}
            )
        ],
        [tool_use("Bash", {"command": CHECK, "description": "check"})],
        [text("Fixed add() to return the sum.")],
    ]


def test_read_edit_check_task_completes(fake, repo, run_cli):
    fake.add_turns(fix_script(repo))
    out = run_cli(
        "run",
        "-p",
        "Fix the bug in add()",
        "--output-format",
        "json",
        "--allowedTools",
        "Read,Edit,Bash",
        cwd=repo,
    )
    assert out.code == 0, out.stderr
    result = out.result
    assert result["type"] == "result" and result["subtype"] == "success" and not result["is_error"]
    assert result["result"] == "Fixed add() to return the sum."
    assert result["num_turns"] == 4
    assert result["permission_denials"] == []
    assert result["total_cost_usd"] > 0 and result["usage"]["output_tokens"] > 0
    assert set(result) >= {"duration_ms", "duration_api_ms", "session_id", "usage", "modelUsage"}
    assert "a + b" in (repo / "calc.py").read_text()
    # The Bash check really ran and its output went back to the model.
    last_request = fake.message_requests[-1].body
    tool_results = [
        b for m in last_request["messages"] for b in m["content"] if b.get("type") == "tool_result"
    ]
    assert "ok" in json.dumps(tool_results[-1]["content"])
    # Streaming is the default, and from the second request on the prefix is read from the cache.
    assert all(r.stream for r in fake.message_requests)
    assert [r.usage["cache_read_input_tokens"] > 0 for r in fake.message_requests] == [
        False,
        True,
        True,
        True,
    ]


def test_cache_breakpoints_on_prefix_and_tail(fake, repo, run_cli):
    fake.add_turns(fix_script(repo))
    run_cli("run", "-p", "Fix it", "--allowedTools", "Read,Edit,Bash", cwd=repo)
    body = fake.message_requests[2].body
    assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    marked = [i for i, m in enumerate(body["messages"]) if "cache_control" in m["content"][-1]]
    assert marked == [len(body["messages"]) - 2, len(body["messages"]) - 1]


def test_several_tool_calls_in_one_turn(fake, repo, run_cli):
    (repo / "b.txt").write_text("bee\n")
    fake.add_turns(
        [
            [
                tool_use("Read", {"file_path": str(repo / "calc.py")}),
                tool_use("Read", {"file_path": "b.txt"}),
                tool_use("Read", {"file_path": "missing.txt"}),
            ],
            [text("Read them.")],
        ]
    )
    out = run_cli("run", "-p", "read", "--output-format", "stream-json", cwd=repo)
    assert out.code == 0, out.stderr
    user_events = [e for e in out.events if e["type"] == "user"]
    (results,) = [e["message"]["content"] for e in user_events]
    assert [r.get("is_error", False) for r in results] == [False, False, True]
    assert "bee" in json.dumps(results[1]["content"]) and "does not exist" in json.dumps(
        results[2]["content"]
    )


def test_turn_limit_is_exact(fake, repo, run_cli):
    fake.add_turns([[tool_use("LS", {"path": str(repo)})]] * 6)
    out = run_cli("run", "-p", "loop", "--output-format", "json", "--max-turns", "3", cwd=repo)
    assert out.code == 1
    assert out.result["subtype"] == "error_max_turns" and out.result["is_error"] is True
    assert out.result["num_turns"] == 3
    assert len(fake.message_requests) == 3


# How soon after the limit these runs end is a benchmark (bench/timeouts.py), not a test: here the
# model and the command would outlast the test's own timeout, so a result at all is the limit's doing.
# The limit, 3 s, leaves a loaded machine ample time to reach the model (and the command) first.


def test_timeout_while_waiting_on_the_model(fake, repo, run_cli):
    fake.add_turns([turn(text("slow"), delay_s=600)])
    out = run_cli("run", "-p", "x", "--output-format", "json", "--timeout-minutes", "0.05", cwd=repo)
    assert out.result["subtype"] == "error_timeout", out.stdout + out.stderr
    assert out.code == 1
    assert "3-second time limit" in out.result["errors"][0]
    assert len(fake.message_requests) == 1  # the limit struck while the request was waiting


def test_timeout_while_a_command_runs_kills_it(fake, repo, run_cli):
    # `exec` keeps the shell's pid, so the pid printed is the sleeping process itself.
    fake.add_turns([[tool_use("Bash", {"command": "echo pid=$$; exec sleep 600"})], [text("never")]])
    out = run_cli(
        "run",
        "-p",
        "x",
        "--output-format",
        "stream-json",
        "--timeout-minutes",
        "0.05",
        "--allowedTools",
        "Bash",
        cwd=repo,
    )
    assert out.result["subtype"] == "error_timeout", out.stdout + out.stderr
    assert out.code == 1
    assert len(fake.message_requests) == 1
    (result,) = [b for e in out.events if e["type"] == "user" for b in e["message"]["content"]]
    content = json.dumps(result["content"])
    assert result["is_error"] and "timed out" in content and "(the run's remaining time)" in content
    (pid,) = [int(p) for p in re.findall(r"pid=(\d+)", content)]
    assert not running(pid)


def test_budget_stop(fake, repo, run_cli, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"claude-sonnet-5-5": {"input": 100000, "output": 100000}}))
    fake.add_turns([[tool_use("LS", {})]] * 5)
    out = run_cli(
        "run",
        "-p",
        "x",
        "--output-format",
        "json",
        "--max-budget-usd",
        "0.5",
        "--price-table",
        str(prices),
        cwd=repo,
    )
    assert out.code == 1
    assert out.result["subtype"] == "error_max_budget"
    assert out.result["total_cost_usd"] >= 0.5
    assert len(fake.message_requests) == 1


def test_recovers_from_429_529_500_and_a_dropped_stream(fake, repo, run_cli):
    fake.queue_fault(fault("rate_limit", retry_after=0.05), "overloaded", "api_error", "drop")
    fake.add_turns([[text("Recovered.")]])
    out = run_cli("run", "-p", "x", "--output-format", "stream-json", cwd=repo)
    assert out.code == 0, out.stderr
    retries = [e for e in out.events if e.get("subtype") == "api_retry"]
    assert [r["error_status"] for r in retries] == [429, 529, 500, None]
    assert [r["error"] for r in retries] == ["rate_limit", "server_error", "server_error", "server_error"]
    assert retries[0]["retry_delay_ms"] == 50  # retry-after honoured
    assert out.events[-1]["result"] == "Recovered."
    assert out.events[0]["subtype"] == "init"


def test_gives_up_after_max_retries(fake, repo, run_cli):
    fake.queue_fault(*["overloaded"] * 3)
    fake.add_turns([[text("never")]])
    out = run_cli("run", "-p", "x", "--output-format", "json", "--max-retries", "2", cwd=repo)
    assert out.code == 6
    assert out.result["subtype"] == "error_during_execution"
    assert "529" in out.result["errors"][0]


def test_rejected_key_and_unknown_model_exit_codes(fake, repo, run_cli):
    fake.queue_fault("authentication")
    out = run_cli("run", "-p", "x", "--output-format", "json", cwd=repo)
    assert out.code == 4 and "authentication_error" in out.result["errors"][0]
    fake.queue_fault("not_found")
    out = run_cli("run", "-p", "x", "--output-format", "json", "--model", "claude-nope-1", cwd=repo)
    assert out.code == 5 and out.result["is_error"]


def test_permission_denials_are_returned_and_listed(fake, repo, run_cli):
    fake.add_turns(
        [
            [tool_use("Bash", {"command": "git diff && curl http://example.invalid"})],
            [tool_use("Bash", {"command": "git diff"})],
            [text("done")],
        ]
    )
    out = run_cli("run", "-p", "x", "--output-format", "json", "--allowedTools", "Bash(git diff:*)", cwd=repo)
    assert out.code == 0
    denials = out.result["permission_denials"]
    assert len(denials) == 1 and denials[0]["tool_name"] == "Bash"
    assert denials[0]["tool_input"] == {"command": "git diff && curl http://example.invalid"}
    sent = fake.message_requests[1].body["messages"][-1]["content"][0]
    assert sent["is_error"] is True and "denied" in json.dumps(sent["content"]).lower()


def test_tools_that_can_never_run_are_not_offered(fake, repo, run_cli):
    fake.add_turns([[text("hi")]])
    run_cli("run", "-p", "x", "--permission-mode", "plan", cwd=repo)
    offered = [t["name"] for t in fake.message_requests[0].body["tools"]]
    assert offered == ["Read", "Glob", "Grep", "LS", "TodoWrite", "Agent"]  # subagents stay in plan mode


def test_structured_output(fake, repo, run_cli):
    schema = {"type": "object", "properties": {"verdict": {"enum": ["ok", "bad"]}}, "required": ["verdict"]}
    fake.add_turns(
        [
            [tool_use("StructuredOutput", {"verdict": "maybe"})],
            [tool_use("StructuredOutput", {"verdict": "ok"})],
        ]
    )
    out = run_cli(
        "run", "-p", "judge", "--output-format", "json", "--json-schema", json.dumps(schema), cwd=repo
    )
    assert out.code == 0, out.stderr
    assert out.result["structured_output"] == {"verdict": "ok"}
    first_reply = fake.message_requests[1].body["messages"][-1]["content"][0]
    assert first_reply["is_error"] and "verdict" in json.dumps(first_reply["content"])


def test_claude_md_and_system_prompt_flags_reach_the_model(fake, repo, run_cli):
    (repo / "CLAUDE.md").write_text("Always answer in French.")
    fake.add_turns([[text("Bonjour")]])
    out = run_cli("run", "hello", "--append-system-prompt", "Be terse.", cwd=repo)
    assert out.code == 0 and out.stdout.strip() == "Bonjour"
    system = fake.message_requests[0].body["system"][0]["text"]
    assert system.index("Be terse.") < system.index("Always answer in French.")


def test_transcript_matches_stream_and_secrets_never_leak(fake, repo, run_cli, tmp_path):
    names = [
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "ANTHROPIC_AUTH_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "CI_JOB_TOKEN",
        "GITLAB_ACCESS_TOKEN",
        "MY_SERVICE_PASSWORD",
        "DEPLOY_SECRET",
        "STRIPE_API_KEY",
    ]
    env = base_env(fake)
    secrets = {name: f"value-of-{name.lower()}-4f9a2c" for name in names}
    env.update(secrets)
    secrets["ANTHROPIC_API_KEY"] = env["ANTHROPIC_API_KEY"]
    # A file in the repo that happens to contain a secret: reading it is allowed, printing it is not.
    (repo / "leak.txt").write_text(f"token={secrets['GITHUB_TOKEN']}\n")
    fake.add_turns(
        [
            [tool_use("Bash", {"command": "env; cat /proc/$PPID/environ | tr '\\0' '\\n'"})],
            [tool_use("Read", {"file_path": "leak.txt"})],
            [text(f"The token is {secrets['GITHUB_TOKEN']}")],
        ]
    )
    transcript = tmp_path / "artifacts" / "run.jsonl"
    out = run_cli(
        "run",
        "-p",
        "x",
        "--output-format",
        "stream-json",
        "--allowedTools",
        "Bash",
        "--transcript",
        str(transcript),
        cwd=repo,
        env=env,
    )
    assert out.code == 0, out.stderr
    bash_result = json.dumps(fake.message_requests[1].body["messages"][-1]["content"])
    assert "PATH=" in bash_result  # the command ran and printed an environment
    for name, value in secrets.items():
        assert value not in bash_result, f"{name} reached the Bash tool's environment"
        assert value not in transcript.read_text(), f"{name} is in the transcript"
        assert value not in out.stdout
    assert "[REDACTED]" in transcript.read_text()
    # The transcript is the stream, plus the prompt after the init event (for --resume).
    lines = transcript.read_text().splitlines()
    assert json.loads(lines[1])["message"]["content"] == [{"type": "text", "text": "x"}]
    assert [lines[0], *lines[2:]] == out.stdout.splitlines()


def test_sigterm_still_prints_a_result(fake, repo):
    fake.add_turns([turn(text("slow"), delay_s=30)])
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", "-p", "x", "--output-format", "stream-json"],
        cwd=repo,
        env=base_env(fake),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait for the run to reach the model: a loaded machine may take seconds to start, and a signal
    # sent before the runner installs its handler would only kill it.
    deadline = time.monotonic() + 60
    while not fake.message_requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.message_requests, "the model was never called"
    proc.send_signal(signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=10)
    result = json.loads(stdout.strip().splitlines()[-1])
    assert proc.returncode == 1
    assert result["subtype"] == "error_during_execution" and "SIGTERM" in result["errors"][0]


def test_stop_failure_hooks_fire_on_an_api_error_matched_by_its_type(fake, repo, run_cli):
    log = 'cat >> "$CLAUDE_PROJECT_DIR/failures.jsonl"; echo >> "$CLAUDE_PROJECT_DIR/failures.jsonl"'
    settings = {
        "hooks": {
            "StopFailure": [
                {"matcher": "authentication_failed", "hooks": [{"type": "command", "command": log}]},
                {"matcher": "rate_limit", "hooks": [{"type": "command", "command": "touch wrong-type"}]},
            ],
            "Stop": [{"hooks": [{"type": "command", "command": "touch stop-ran"}]}],
        }
    }
    (repo / ".claude").mkdir(exist_ok=True)
    (repo / ".claude" / "settings.json").write_text(json.dumps(settings))
    fake.queue_fault("authentication")
    out = run_cli("run", "-p", "x", "--output-format", "json", cwd=repo)
    assert out.code == 4
    (failure,) = [json.loads(line) for line in (repo / "failures.jsonl").read_text().splitlines() if line]
    assert failure["hook_event_name"] == "StopFailure" and failure["error_type"] == "authentication_failed"
    assert failure["error"] == "401" and "authentication_error" in failure["error_message"]
    assert not (repo / "wrong-type").exists() and not (repo / "stop-ran").exists()
