"""`claude-runner github` with telemetry on: the job's phases, the agent's calls inside the
"running" phase, one trace, received by a collector on loopback."""

from __future__ import annotations

import itertools
import subprocess

import pytest

from runner.testing.fake_github import FakeGitHub
from runner.testing.fake_messages import FakeMessagesAPI
from runner.testing.otlp_collector import FakeCollector
from tests.ci.github_flow_helpers import OWNER, REPO, make_job
from tests.ci.test_github_flow import fix_turns, pr_comment_payload


@pytest.fixture
def job(tmp_path):
    origin = tmp_path / "remotes" / OWNER / f"{REPO}.git"

    def branch_lookup(name):
        out = subprocess.run(
            ["git", "ls-remote", "--heads", str(origin), name], capture_output=True, text=True
        )
        return out.stdout.split("\t")[0] or None

    with FakeMessagesAPI() as model, FakeCollector() as collector:
        github = FakeGitHub(
            OWNER,
            REPO,
            default_branch="master",
            branch_lookup=branch_lookup,
            web_url=f"file://{tmp_path / 'remotes'}",
        )
        with github:
            made = make_job(tmp_path, github, model)
            made.env_extra.update(
                CLAUDE_CODE_ENABLE_TELEMETRY="1",
                OTEL_TRACES_EXPORTER="otlp",
                OTEL_METRICS_EXPORTER="otlp",
                OTEL_EXPORTER_OTLP_ENDPOINT=collector.base_url,
            )
            made.collector = collector  # type: ignore[attr-defined]
            yield made


def test_a_mention_job_exports_its_phases_and_the_agent_inside_them(job):
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, title="Fix calc")
    job.model.add_turns(fix_turns(job))
    proc, outputs, _ = job.run("issue_comment", pr_comment_payload(job, 5))
    assert proc.returncode == 0, proc.stderr
    assert outputs["conclusion"] == "success"
    spans = job.collector.spans
    (root,) = [s for s in spans if s.name == "claude_runner.job"]
    assert root.parent_span_id == "" and {s.trace_id for s in spans} == {root.trace_id}
    assert root.attributes == {"platform": "github", "repository": root.attributes["repository"], "number": 5}
    phases = sorted((s for s in spans if s.name == "claude_runner.phase"), key=lambda s: s.start_ns)
    assert [p.attributes["phase"] for p in phases] == [
        "acknowledged",
        "gathering",
        "running",
        "publishing",
        "finishing",
        "finalised",
    ]
    assert {p.parent_span_id for p in phases} == {root.span_id}
    for before, after in itertools.pairwise(phases):
        assert before.end_ns <= after.start_ns
    running = phases[2]
    (interaction,) = [s for s in spans if s.name == "claude_code.interaction"]
    assert interaction.parent_span_id == running.span_id
    assert running.start_ns <= interaction.start_ns <= interaction.end_ns <= running.end_ns
    calls = [s for s in spans if s.name == "claude_code.llm_request"]
    tools = sorted(s.attributes["tool_name"] for s in spans if s.name == "claude_code.tool")
    assert len(calls) == 3 and tools == ["Edit", "Read", "update_progress"]
    assert {s.parent_span_id for s in calls} == {interaction.span_id}
    # The metrics name the phases and the run's tokens.
    durations = {p.attributes["phase"] for p in job.collector.metric("claude_runner.phase.duration")}
    assert durations == {p.attributes["phase"] for p in phases}
    assert sum(p.value for p in job.collector.metric("claude_code.token.usage")) > 0
    # The job's tokens went nowhere near the collector.
    assert all("ghp_fake_token" not in str(s.attributes) for s in spans)
