"""Time from process start to the tracking comment posted, for `claude-runner github`.

The fake GitHub and the fake Messages API run in this process on loopback; each run starts
`claude-runner github` for a PR comment and reads, from the fake's request log, when the
"Claude is working…" comment arrived. Target: median <= 0.5 s.

    python bench/ack_latency.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.testing.fake_github import FakeGitHub
from runner.testing.fake_messages import FakeMessagesAPI, text
from tests.ci.github_flow_helpers import OWNER, REPO, make_job, now_iso

TARGET_S = 0.5


def one_run(root: Path, index: int) -> float:
    """Seconds from Popen to the POST of the tracking comment."""
    work = root / f"run{index}"
    with (
        FakeMessagesAPI() as model,
        FakeGitHub(OWNER, REPO, default_branch="master", web_url=f"file://{work / 'remotes'}") as github,
    ):
        job = make_job(work, github, model)
        github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=job.remote_branches()["fix-calc"])
        model.add_turns([[text("ok")]])
        payload = job.payload("issue_comment")
        payload["issue"]["number"] = 5
        payload["issue"]["pull_request"] = {"url": "x"}
        payload["comment"]["body"] = "@claude explain this change"
        payload["comment"]["created_at"] = payload["comment"]["updated_at"] = now_iso()
        started = time.time()
        proc = job.start("issue_comment", payload)
        proc.communicate(timeout=60)
        (post,) = [r for r in github.requests if r.method == "POST" and r.path.endswith("/issues/5/comments")]
        return post.timestamp - started


def main() -> None:
    """Run, print the median and each sample."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        samples = [one_run(Path(tmp), i) for i in range(args.runs)]
    median = statistics.median(samples)
    print(
        f"runs={args.runs} ack_median_s={median:.3f} min={min(samples):.3f} max={max(samples):.3f} "
        f"target<={TARGET_S} ok={'yes' if median <= TARGET_S else 'NO'}"
    )


if __name__ == "__main__":
    main()
