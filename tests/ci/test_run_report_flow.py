"""The run report end to end: in the step summary of `claude-runner github`, and in
claude-report.md next to the checkout for `claude-runner gitlab` (the job's artifact). The real
command in a subprocess against the fakes; the markdown rendered by markdown-it-py, the timeline
parsed by Mermaid."""

from __future__ import annotations

from markdown_it import MarkdownIt

from runner.testing.fake_messages import text, tool_use
from tests.ci.github_flow_helpers import git
from tests.ci.test_github_commits_and_inputs import job, run_fix  # noqa: F401 (job: a fixture)
from tests.ci.test_gitlab_flow import PATH, fix, world, world_env  # noqa: F401 (world: a fixture)
from tests.mermaid_check import mermaid_parse

MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
PHASES = ["starting", "acknowledged", "gathering", "running", "publishing", "finishing", "finalised"]


def headings(markdown: str) -> list[str]:
    tokens = MD.parse(markdown)
    return [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.level == 0]


def timeline(markdown: str) -> dict:
    (fence,) = [t for t in MD.parse(markdown) if t.type == "fence" and t.info == "mermaid"]
    (parsed,) = mermaid_parse([fence.content])
    assert parsed["ok"], parsed
    return parsed


def test_the_step_summary_carries_the_run_report_with_its_timeline(job):  # noqa: F811
    proc, _, summary = run_fix(job)
    assert proc.returncode == 0, proc.stderr
    assert headings(summary) == [
        "Claude ✅ finished",
        "Run report",
        "Tool calls: 3 (0 failed, 0 denied)",
        "Tokens and cost per model",
        "Time per phase",
        "Timeline",
    ]
    assert "turn 2: `Edit`" in summary and "the step's `transcript_file` output" in summary
    parsed = timeline(summary)
    assert parsed["sections"] == ["Phases", "Model calls", "Tool calls"]
    tasks = parsed["tasks"]
    assert [t["task"] for t in tasks if t["section"] == "Phases"] == PHASES
    assert [t["id"] for t in tasks if t["section"] == "Model calls"] == ["m1", "m2", "m3"]
    starts = [t["start"] for t in tasks if t["section"] == "Phases"]
    assert starts == sorted(starts)
    running = next(t for t in tasks if t["task"] == "running")
    calls = [t for t in tasks if t["section"] != "Phases"]
    assert all(running["start"] <= t["start"] <= t["end"] <= running["end"] for t in calls)


def test_gitlab_writes_the_report_next_to_the_checkout_and_keeps_the_log_short(world):  # noqa: F811
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    world.model.add_turns(
        [
            [tool_use("Bash", {"command": "rm -rf / ```mermaid"})],  # not allowed: denied
            *fix(world)[:2],
            [text("Fixed `add()`.\n\n```\nan unclosed fence")],
        ]
    )
    proc = world.run(world.note_payload("MergeRequest", 5, "@claude fix the bug in calc.py"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = (world.workspace / "claude-report.md").read_text()
    assert headings(report) == [
        "Claude ✅ finished",
        "Run report",
        "Tool calls: 3 (0 failed, 1 denied)",
        "Denied: 1",
        "Tokens and cost per model",
        "Time per phase",
        "Timeline",
    ]
    assert "turn 1: `Bash` ````rm -rf / ```mermaid```` → ⛔ denied" in report
    assert "turn 2: `Read` `" in report and "turn 3: `Edit` `" in report  # the path, maybe shortened
    # (the fake's job URL is a file:// one, which markdown-it will not make a link)
    artifact = f"{world.gitlab.web_url}/{PATH}/-/jobs/99/artifacts/file/claude-execution.jsonl"
    assert f"[the transcript]({artifact})" in report
    assert len(timeline(report)["tasks"]) == len(PHASES) + 4 + 3
    # The log gets the short summary; the report never lands in the pushed commit.
    assert "Fixed `add()`." in proc.stdout and "### Run report" not in proc.stdout + proc.stderr
    files = git("--git-dir", str(world.origin), "show", "--name-only", "--format=", "feature", cwd=world.root)
    assert files.split() == ["calc.py"]


def test_a_confidential_issues_report_names_tools_but_not_inputs_or_turns(world):  # noqa: F811
    world.gitlab.add_issue("Secret", iid=7, description="x", author="alice", confidential=True)
    world.model.add_turns(fix(world))
    proc = world.run(world.note_payload("Issue", 7, "@claude please fix this"), DISPLAY_REPORT="true")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = (world.workspace / "claude-report.md").read_text()
    assert "turn 1: `Read` → ok" in report and "turn 2: `Edit` → ok" in report
    assert "calc.py" not in report and "a + b" not in report and "Fixed" not in report
    assert "### Every turn" not in report and "it is confidential" in report
