"""User mistakes: one line saying what to fix, a distinct exit code, never a traceback."""

from __future__ import annotations

import pytest

from tests.conftest import base_env


def assert_one_line_error(out, code, *needles):
    assert out.code == code, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith(("error:", "Error:")), out.stderr
    for needle in needles:
        assert needle in out.stderr


def test_missing_credentials(fake, repo, run_cli):
    env = base_env(fake)
    del env["ANTHROPIC_API_KEY"]
    out = run_cli("run", "-p", "x", cwd=repo, env=env)
    assert_one_line_error(out, 4, "ANTHROPIC_API_KEY")
    assert fake.requests == []


def test_unknown_model(fake, repo, run_cli):
    env = base_env(fake)
    del env["ANTHROPIC_BASE_URL"]  # the Anthropic API itself: ids are checked before any call
    out = run_cli("run", "-p", "x", "--model", "gpt-4o", cwd=repo, env=env)
    assert_one_line_error(out, 5, "gpt-4o", "not a recognized model")


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--max-turns", "0"], "--max-turns"),
        (["--max-turns", "many"], "many"),
        (["--permission-mode", "yolo"], "--permission-mode"),
        (["--allowedTools", "Bash(git diff"], "Bash(git diff"),
        (["--json-schema", "{not json"], "--json-schema"),
        (["--output-format", "xml"], "xml"),
    ],
)
def test_bad_flags(fake, repo, run_cli, args, needle):
    out = run_cli("run", "-p", "x", *args, cwd=repo)
    assert_one_line_error(out, 2, needle)
    assert fake.requests == []


def test_empty_prompt(repo, run_cli):
    out = run_cli("run", cwd=repo, stdin="")
    assert_one_line_error(out, 2, "prompt")


def test_unreadable_settings(fake, repo, run_cli):
    (repo / ".claude").mkdir()
    (repo / ".claude" / "settings.json").write_text('{"permissions": {"allow": "Bash"}}')
    out = run_cli("run", "-p", "x", cwd=repo)
    assert_one_line_error(out, 3, "settings.json", "permissions.allow")
    (repo / ".claude" / "settings.json").write_text('{"permissions": ')
    out = run_cli("run", "-p", "x", cwd=repo)
    assert_one_line_error(out, 3, "settings.json")


def test_missing_workspace(repo, run_cli):
    out = run_cli("run", "-p", "x", "--cwd", str(repo / "nope"), cwd=repo)
    assert_one_line_error(out, 7, "nope")


def test_bad_custom_headers(fake, repo, run_cli):
    env = base_env(fake)
    env["ANTHROPIC_CUSTOM_HEADERS"] = "X-Team: a\nnot a header"
    out = run_cli("run", "-p", "x", cwd=repo, env=env)
    assert_one_line_error(out, 2, "ANTHROPIC_CUSTOM_HEADERS line 2")
