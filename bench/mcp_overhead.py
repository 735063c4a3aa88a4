"""What MCP servers cost a run, against the same run without them.

1. The acknowledgement: `claude-runner github` on a PR comment, with the default branch's
   `.mcp.json` approved and `--mcp-config` in claude_args, against the same job without them.
   Target (issue 17): ratio ~1.0: the SDK is loaded and servers started only after the ack.
2. A `claude-runner run` whose model calls one tool of the Python test server (stdio, the SDK's
   server side), against the same run calling `Read`: the extra seconds are the server's start
   (its interpreter importing the SDK), the SDK's import in the runner, and its stop.
3. The SDK's import time in a fresh interpreter.

    python bench/mcp_overhead.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.testing.fake_github import FakeGitHub
from runner.testing.fake_messages import FakeMessagesAPI, text, tool_use
from tests.ci.github_flow_helpers import OWNER, REPO, make_job, now_iso
from tests.conftest import base_env
from tests.mcp.conftest import echo_server, new_marker


def ack_seconds(root: Path, index: int, with_mcp: bool) -> float:
    """Seconds from Popen to the POST of the tracking comment."""
    work = root / f"ack{index}-{with_mcp}"
    with (
        FakeMessagesAPI() as model,
        FakeGitHub(OWNER, REPO, default_branch="master", web_url=f"file://{work / 'remotes'}") as github,
    ):
        job = make_job(work, github, model)
        github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=job.remote_branches()["fix-calc"])
        inputs = {}
        if with_mcp:
            servers = {"echo": echo_server(new_marker())}
            github.add_file(".mcp.json", json.dumps({"mcpServers": servers}), ref="master")
            github.add_file(
                ".claude/settings.json", json.dumps({"enableAllProjectMcpServers": True}), ref="master"
            )
            inputs["claude_args"] = (
                "--mcp-config '" + json.dumps({"mcpServers": {"e2": servers["echo"]}}) + "'"
            )
        model.add_turns([[text("ok")]])
        payload = job.payload("issue_comment")
        payload["issue"]["number"] = 5
        payload["issue"]["pull_request"] = {"url": "x"}
        payload["comment"]["body"] = "@claude explain this change"
        payload["comment"]["created_at"] = payload["comment"]["updated_at"] = now_iso()
        started = time.time()
        proc = job.start("issue_comment", payload, **inputs)
        proc.communicate(timeout=120)
        (post,) = [r for r in github.requests if r.method == "POST" and r.path.endswith("/issues/5/comments")]
        return post.timestamp - started


def run_seconds(root: Path, with_mcp: bool) -> float:
    """Wall time of one `claude-runner run` calling one tool."""
    repo = root / f"repo-{time.monotonic_ns()}"
    repo.mkdir()
    (repo / "a.txt").write_text("a\n")
    with FakeMessagesAPI() as fake:
        call = (
            tool_use("mcp__echo__echo", {"text": "x"})
            if with_mcp
            else tool_use("Read", {"file_path": "a.txt"})
        )
        fake.add_turns([[call], [text("done")]])
        args = [sys.executable, "-m", "runner", "run", "-p", "x", "--allowedTools", "mcp__echo"]
        if with_mcp:
            args += ["--mcp-config", json.dumps({"mcpServers": {"echo": echo_server(new_marker())}})]
        started = time.monotonic()
        subprocess.run(args, cwd=repo, env=base_env(fake), capture_output=True, check=True, timeout=120)
        return time.monotonic() - started


def import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import mcp.client.session; print(time.perf_counter() - t)"
    return float(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    )


def main() -> None:
    """Alternate the runs with and without MCP; print the medians and ratios."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    acks: dict[bool, list[float]] = {False: [], True: []}
    runs: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for with_mcp in (False, True):
                acks[with_mcp].append(ack_seconds(Path(tmp), i, with_mcp))
                runs[with_mcp].append(run_seconds(Path(tmp), with_mcp))
    ack = {k: statistics.median(v) for k, v in acks.items()}
    run = {k: statistics.median(v) for k, v in runs.items()}
    print(f"ack: {ack[False]:.3f} s without MCP, {ack[True]:.3f} s with (ratio {ack[True] / ack[False]:.2f})")
    extra = run[True] - run[False]
    print(f"run: {run[False]:.2f} s without MCP, {run[True]:.2f} s with one stdio server (+{extra:.2f} s)")
    print(f"mcp SDK import: {statistics.median(import_seconds() for _ in range(args.runs)):.3f} s")


if __name__ == "__main__":
    main()
