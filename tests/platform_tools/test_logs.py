"""A CI log made readable: timestamps and colours off, long logs cut around the failure."""

from __future__ import annotations

from runner.platform_tools.logs import CONTEXT_LINES, TAIL_LINES, WHOLE_LINES, clean_line, trim_log


def test_a_github_line_loses_its_timestamp_and_a_gitlab_line_its_markers():
    assert clean_line("2026-01-05T10:00:02.1234567Z ##[error]boom") == "##[error]boom"
    assert clean_line("\x1b[31;1mERROR: Job failed\x1b[0;m") == "ERROR: Job failed"
    assert clean_line("section_start:1767600000:step_script\r\x1b[0K$ make") == "$ make"
    assert clean_line("Downloading 10%\rDownloading 100%\r") == "Downloading 100%"


def test_a_short_log_is_kept_whole_with_its_failing_lines_marked():
    log = trim_log("a\nb\nFAILED test_x\nc\n")
    assert log.text == "a\nb\nFAILED test_x\nc\n" and log.failure_lines == (3,)
    assert log.kept_lines == log.total_lines == 4


def test_a_long_log_keeps_the_head_the_failure_and_the_tail():
    lines = [f"step {i} ok" for i in range(WHOLE_LINES * 3)]
    failing_at = WHOLE_LINES  # far from the head and the tail
    lines[failing_at] = "AssertionError: 3 != 4"
    log = trim_log("\n".join(lines))
    kept = log.text.splitlines()
    assert "AssertionError: 3 != 4" in kept
    assert f"step {failing_at - CONTEXT_LINES} ok" in kept and f"step {failing_at + CONTEXT_LINES} ok" in kept
    assert f"step {failing_at - CONTEXT_LINES - 1} ok" not in kept
    assert kept[-1] == f"step {len(lines) - 1} ok" and f"step {len(lines) - TAIL_LINES} ok" in kept
    assert any(line.startswith("[... ") and "lines cut by claude-runner" in line for line in kept)
    assert kept[log.failure_lines[0] - 1] == "AssertionError: 3 != 4"
    assert log.kept_lines < log.total_lines // 5
