"""No traceback, ever: every command under injected failures prints one line with a fix and exits
with its documented code (runner/errors.py, README "Exit codes")."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from runner.errors import EXIT_CODES, EXIT_INTERNAL, EXIT_INTERRUPTED, OutputError
from runner.testing.fake_messages import text
from tests.conftest import base_env

SHIM = Path(__file__).parent / "shim"  # sitecustomize.py: INJECT_MISSING, INJECT_BUG, INJECT_SIGINT


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, env: dict[str, str], cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**env, "PYTHONPATH": os.pathsep.join([str(SHIM), env.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert proc.returncode in EXIT_CODES, proc.returncode
    return errors[0]


# The module each command needs first: a bug injected there must still be one line, exit 70.
COMMANDS = {
    "run": (["run", "-p", "hi"], "runner.agent.headless"),
    "github": (["github"], "runner.ci.github"),
    "gitlab": (["gitlab"], "runner.ci.gitlab"),
    "finalize": (["finalize", "--platform", "github"], "runner.settings.finalize"),
    "webhook": (["webhook", "--port", "0"], "runner.webhook.server"),
    "explain": (["explain", "--event-name", "push", "--event-path", "e.json"], "runner.triggers"),
    "doctor": (["doctor", "--no-call"], "runner.providers.doctor"),
    "demo": (["demo"], "runner.demo.report"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_bug_in_any_command_is_one_line_asking_for_a_report(command, fake, tmp_path) -> None:
    args, module = COMMANDS[command]
    proc = cli(*args, env={**base_env(fake), "INJECT_BUG": module}, cwd=tmp_path)
    line = one_error_line(proc)
    assert proc.returncode == EXIT_INTERNAL
    assert line.startswith("error: internal error: RuntimeError: injected failure") and "report it" in line


def test_a_full_disk_for_the_transcript_still_prints_the_answer_first(fake, repo) -> None:
    fake.add_turns([[text("The answer you paid for.")]])
    proc = cli("run", "-p", "hi", "--transcript", "/dev/full", env=base_env(fake), cwd=repo)
    assert proc.stdout == "The answer you paid for.\n"
    line = one_error_line(proc)
    assert proc.returncode == OutputError.exit_code
    assert (
        "--transcript: could not write /dev/full: No space left on device" in line and " — free disk" in line
    )


def test_an_unreachable_model_api_is_one_line_with_doctors_fix(fake, repo) -> None:
    env = {**base_env(fake), "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{closed_port()}"}
    proc = cli("run", "-p", "hi", "--max-retries", "1", env=env, cwd=repo)
    line = one_error_line(proc)
    assert proc.returncode == 6 and proc.stdout == ""
    assert "Connection refused" in line and line.endswith(
        "— check the network and the base URL (ANTHROPIC_BASE_URL, or the provider's region)"
    )


def test_a_rejected_key_is_one_line_with_the_key_to_check_and_exit_4(fake, repo) -> None:
    fake.queue_fault("authentication")
    proc = cli("run", "-p", "hi", env=base_env(fake), cwd=repo)
    line = one_error_line(proc)
    assert proc.returncode == 4 and "check ANTHROPIC_API_KEY (a valid, active key" in line


def test_ctrl_c_while_the_sdk_loads_is_one_line_and_exit_130(fake, repo) -> None:
    proc = cli("run", "-p", "hi", env={**base_env(fake), "INJECT_SIGINT": "anthropic"}, cwd=repo)
    line = one_error_line(proc)
    assert proc.returncode == EXIT_INTERRUPTED and line.startswith("error: interrupted")
    assert fake.message_requests == []


def test_a_missing_provider_extra_names_the_pip_extra(fake, repo) -> None:
    env = {
        **base_env(fake),
        "INJECT_MISSING": "boto3",
        "CLAUDE_CODE_USE_BEDROCK": "1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }
    proc = cli("run", "-p", "hi", env=env, cwd=repo)
    line = one_error_line(proc)
    assert proc.returncode == 2
    assert line == "error: boto3 is not installed — pip install 'claude-runner[bedrock]'"


def test_doctor_with_the_network_down_names_the_fix_and_exits_6(fake, tmp_path) -> None:
    env = {**base_env(fake), "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{closed_port()}"}
    proc = cli("doctor", env=env, cwd=tmp_path)
    assert proc.returncode == 6 and "Traceback" not in proc.stderr + proc.stdout
    (failed,) = [line for line in proc.stdout.splitlines() if line.startswith("✗")]
    assert "Connection refused" in failed and failed.endswith(
        "— check the network and the base URL (ANTHROPIC_BASE_URL, or the provider's region)"
    )


def test_a_404_prints_its_status_once_with_the_model_fix(fake, repo) -> None:
    fake.queue_fault("not_found")
    proc = cli("run", "-p", "hi", env=base_env(fake), cwd=repo)
    line = one_error_line(proc)
    assert proc.returncode == 5
    assert line.count("404") == 1 and "404 not_found_error: " in line and "{" not in line
    assert line.endswith("(--model, ANTHROPIC_MODEL, ANTHROPIC_DEFAULT_*_MODEL)")
