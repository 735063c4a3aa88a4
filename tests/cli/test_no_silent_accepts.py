"""What used to be accepted silently is now an error or a warning that says what to fix."""

from __future__ import annotations

from runner.testing.fake_messages import text
from tests.cli.test_no_traceback import cli, one_error_line
from tests.conftest import base_env


def test_run_dash_reads_the_prompt_from_stdin(fake, repo) -> None:
    fake.add_turns([[text("ok")]])
    proc = cli("run", "-", env=base_env(fake), cwd=repo, stdin="the prompt from stdin\n")
    assert proc.returncode == 0, proc.stderr
    (request,) = fake.message_requests
    assert request.body["messages"][0]["content"][0]["text"] == "the prompt from stdin\n"


def test_an_unknown_tool_in_allowed_tools_is_named_in_a_warning(fake, repo) -> None:
    fake.add_turns([[text("ok")]])
    proc = cli(
        "run", "-p", "hi", "--allowedTools", "Read,Bsh(ls),mcp__srv__tool", env=base_env(fake), cwd=repo
    )
    assert proc.returncode == 0, proc.stderr
    (warning,) = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert "no tool is named 'Bsh'" in warning and "'Bsh(ls)' matches nothing" in warning
    assert "Bash" in warning and "mcp__" not in warning


def test_max_output_tokens_zero_is_an_error(fake, repo) -> None:
    proc = cli("run", "-p", "hi", "--max-output-tokens", "0", env=base_env(fake), cwd=repo)
    assert one_error_line(proc) == "error: --max-output-tokens must be greater than 0 (got 0)"
    assert proc.returncode == 2 and fake.message_requests == []


def test_a_gitlab_url_without_a_scheme_stops_the_listener_before_it_listens(fake, tmp_path) -> None:
    env = {
        **base_env(fake),
        "GITLAB_WEBHOOK_SECRET": "s3cret",
        "GITLAB_ACCESS_TOKEN": "glpat-example",
        "GITLAB_URL": "gitlab.example.com",
        "WEBHOOK_STORE": str(tmp_path / "hooks.sqlite3"),
    }
    proc = cli("webhook", "--port", "0", env=env, cwd=tmp_path)
    line = one_error_line(proc)
    assert proc.returncode == 2
    assert (
        line
        == "error: GITLAB_URL has no scheme (got 'gitlab.example.com') — write it in full, e.g. https://gitlab.example.com"
    )


def test_a_missing_ci_project_dir_is_named(fake, tmp_path) -> None:
    env = {
        **base_env(fake),
        "GITLAB_CI": "true",
        "CI_SERVER_URL": "https://gitlab.example.com",
        "CI_PROJECT_ID": "1",
        "CI_PROJECT_PATH": "group/project",
        "CI_JOB_TOKEN": "job-token",
        "CI_PROJECT_DIR": str(tmp_path / "gone"),
        "AI_FLOW_INPUT": "@claude hi",
    }
    proc = cli("gitlab", env=env, cwd=tmp_path)
    line = one_error_line(proc)
    assert proc.returncode == 7
    assert line.startswith(
        f"error: CI_PROJECT_DIR ({tmp_path / 'gone'}) does not exist or is not a directory — "
    )


def test_append_system_prompt_at_a_file_is_literal_with_a_warning(fake, repo) -> None:
    (repo / "notes.md").write_text("Always answer in French.\n")
    fake.add_turns([[text("ok")]])
    proc = cli("run", "-p", "hi", "--append-system-prompt", "@notes.md", env=base_env(fake), cwd=repo)
    assert proc.returncode == 0, proc.stderr
    (warning,) = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert "'@notes.md' is appended as this text" in warning and '"$(cat notes.md)"' in warning
    system = fake.message_requests[0].body["system"][-1]["text"]
    assert system.rstrip().endswith("@notes.md") and "French" not in system


def test_an_event_file_that_is_not_utf8_is_named_with_the_bad_byte(fake, tmp_path) -> None:
    event = tmp_path / "event.json"
    event.write_bytes(b'{"action": "\xff"}')
    proc = cli(
        "explain",
        "--event-name",
        "issue_comment",
        "--event-path",
        str(event),
        env=base_env(fake),
        cwd=tmp_path,
    )
    line = one_error_line(proc)
    assert proc.returncode == 2
    assert line == (
        f"error: event file {event} is not UTF-8 (byte 0xff at offset 12) — save the payload as UTF-8 JSON,"
        " as GitHub and GitLab send it"
    )
