"""What the demo reads of a run's stages from the job log and the fake's requests (pure)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from runner.demo.stages import change_url, first_posted_body, tool_call_lines

LOG = """allowed: Codertocat has admin access
::group::Claude
Claude starts: model m, 17 tools, permission mode acceptEdits
turn 1: m, 0 in, 82 out tokens, $0.0088 so far
  Read /w/calc.py → ok (67 bytes)
    | def add(a, b):  → not a call: a line of show_full_output
  Bash false → failed: exit 1
Claude finished (1 turns, $0.0088, 0.2 s)
::endgroup::
"""


def test_tool_calls_are_the_live_logs_call_lines_with_the_checkout_left_out():
    assert tool_call_lines(LOG, Path("/w")) == ["Read calc.py → ok (67 bytes)", "Bash false → failed: exit 1"]


def test_the_working_stage_is_the_first_body_posted():
    posts = [SimpleNamespace(body={"body": "working…"}), SimpleNamespace(body={"body": "later"})]
    assert first_posted_body(posts) == "working…"
    assert first_posted_body([]) == ""


def test_change_urls_follow_each_hosts_pattern():
    assert change_url("https://g.example", "o/r", 3, "github") == "https://g.example/o/r/pull/3"
    assert change_url("https://l.example", "g/p", 3, "gitlab") == "https://l.example/g/p/-/merge_requests/3"
