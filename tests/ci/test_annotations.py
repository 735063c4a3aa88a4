"""Failures stand out: GitHub annotations escaped per the workflow-command rules, GitLab sections."""

from __future__ import annotations

from runner.ci.annotations import github_annotation, gitlab_error_section


def test_github_annotation_escapes_percent_and_line_breaks() -> None:
    line = github_annotation("error", "100% broken\r\nsee: log, please", title="a:b,c")
    assert line == "::error title=a%3Ab%2Cc::100%25 broken%0D%0Asee: log, please"
    assert "\n" not in line and "\r" not in line


def test_a_message_cannot_inject_another_workflow_command() -> None:
    line = github_annotation("warning", "x\n::add-mask::y")
    assert line.splitlines() == [line] and line.endswith("::x%0A::add-mask::y")


def test_gitlab_error_section_is_one_named_section_with_the_error_line() -> None:
    start, error, end = gitlab_error_section("push refused", now=lambda: 1700000000)
    assert start.startswith("\x1b[0Ksection_start:1700000000:claude_runner_error\r\x1b[0K")
    assert error == "error: push refused"
    assert end == "\x1b[0Ksection_end:1700000000:claude_runner_error\r\x1b[0K"
