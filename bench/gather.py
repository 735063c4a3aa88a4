"""Gathering a 3,000-file, 1,000-comment pull request with a simulated 50 ms round trip (issue #17,
target 2: at most 6 sequential round-trip levels, bounded concurrency, the same completeness).

Against the fake GitHub with ``faults.latency(0.05)``, each side gathers the same pull request:

- ``sequential``: the adapter as it was (commit f251004): issue, GraphQL comment pages by cursor,
  pull request, reviews, review comments and files, one request after another;
- ``concurrent (N workers)``: ``runner/platforms/github_gather.py`` with N requests in flight.

Levels are counted from the requests' start and end times as the fake saw them
(``faults.round_trip_levels``). The results are checked to be the same items in the same order.

    python bench/gather.py [--latency 0.05] [--runs 3] [--gitlab] [--json]

``--gitlab`` adds the same for a merge request of 3,000 files and 1,000 notes on the fake GitLab:
sequential (``parallel.together`` one call at a time, as before) against concurrent.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.platforms import gitlab, gitlab_client
from runner.platforms.base import ThreadData
from runner.platforms.github import GitHubAuth, GitHubPlatform
from runner.platforms.github_data import (
    COMMENTS_QUERY,
    graphql_comment,
    label_names,
    login_of,
    pull_fields,
    rest_changed_file,
    rest_review,
    rest_review_comment,
)
from runner.platforms.github_gather import WORKERS, gather_thread
from runner.platforms.gitlab import GitLabPlatform
from runner.platforms.parallel import IN_FLIGHT
from runner.testing.fake_github import FakeGitHub
from runner.testing.fake_gitlab import FakeGitLab
from runner.testing.faults import round_trip_levels
from tests.platforms.test_github_gather import BIG, big_pull_request

REPO = "octo-org/hello-world"
GITLAB_TOKEN = "glpat-bench"


def sequential(gh: GitHubPlatform, number: int) -> ThreadData:
    """The gather as it was before #17: every request after the previous one's answer."""
    client, repo = gh.client, f"/repos/{REPO}"
    before = client.requests
    issue = client.get("read the issue", f"{repo}/issues/{number}")
    owner, name = REPO.split("/")
    variables: dict[str, Any] = {"owner": owner, "name": name, "number": number, "after": None}
    comments = []
    while True:
        page = client.graphql("list comments", COMMENTS_QUERY, variables)["repository"]["issueOrPullRequest"]
        comments += [graphql_comment(n) for n in page["comments"]["nodes"]]
        if not page["comments"]["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = page["comments"]["pageInfo"]["endCursor"]
    pull = f"{repo}/pulls/{number}"
    fields = pull_fields(client.get("read the pull request", pull), REPO)
    comments += [rest_review(r) for r in client.pages("list reviews", f"{pull}/reviews")]
    comments += [rest_review_comment(c) for c in client.pages("list comments", f"{pull}/comments")]
    files = [rest_changed_file(f) for f in client.pages("list files", f"{pull}/files")]
    comments.sort(key=lambda c: c.created_at or datetime.min.replace(tzinfo=UTC))
    return ThreadData(
        number=number, is_pull_request=True, title=issue.get("title") or "", body=issue.get("body") or "",
        author=login_of(issue.get("user")), state=issue.get("state") or "open",
        labels=label_names(issue.get("labels")), comments=tuple(comments), files=tuple(files),
        api_requests=client.requests - before, **fields,
    )  # fmt: skip


def serve(conn: Connection, latency: float) -> None:
    """The fake GitHub in a process of its own (its work does not slow the client's threads)."""
    with FakeGitHub("octo-org", "hello-world") as fake:
        big_pull_request(fake)
        fake.faults.latency(latency)
        conn.send((fake.api_url, fake.web_url))
        while True:
            command, first = conn.recv()
            if command == "stop":
                return
            conn.send([(r.started, r.ended) for r in fake.requests[first:]])


class Remote:
    """The client's side of ``serve``: where the fake is, and the requests' times."""

    def __init__(self, latency: float, target: Any = None) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=target or serve, args=(child, latency), daemon=True)
        self.process.start()
        self.api_url, self.web_url = self.conn.recv()
        self.seen = 0

    def spans(self) -> list[tuple[float, float]]:
        """The (start, end) of every request since the last call."""
        self.conn.send(("spans", self.seen))
        spans: list[tuple[float, float]] = self.conn.recv()
        self.seen += len(spans)
        return spans

    def stop(self) -> None:
        self.conn.send(("stop", 0))
        self.process.join(10)


def serve_gitlab(conn: Connection, latency: float) -> None:
    """The fake GitLab in a process of its own: a merge request of 3,000 files and 1,000 notes."""
    with FakeGitLab("group/project", tokens={GITLAB_TOKEN: "project_1_bot"}) as fake:
        fake.add_user("alice", "developer")
        fake.add_branch("big", "b" * 40)
        diffs = [{"new_path": f"src/f{i:04}.py", "diff": "@@ -1 +1 @@\n-a\n+b\n"} for i in range(3000)]
        fake.add_merge_request("Big", iid=BIG, source_branch="big", diffs=diffs)
        for i in range(1000):
            fake.add_note("merge_request", BIG, f"note {i}", author="alice")
        fake.faults.latency(latency)
        conn.send((fake.base_url, fake.base_url))
        while True:
            command, first = conn.recv()
            if command == "stop":
                return
            conn.send([(r.started, r.ended) for r in fake.requests[first:]])


def one_at_a_time(calls: Any, workers: int = 1) -> list[Any]:
    """``parallel.together`` as it was before #17: one call after another."""
    return [call() for call in calls]


def gitlab_rows(latency: float, runs: int) -> dict[str, dict[str, Any]]:
    fake = Remote(latency, serve_gitlab)
    rows: dict[str, dict[str, Any]] = {}
    try:

        def gather(gl: Any) -> ThreadData:
            return GitLabPlatform("group/project", url=fake.api_url, token=GITLAB_TOKEN).fetch_thread(
                BIG, True
            )

        serial = mock.patch.object(gitlab_client, "together", one_at_a_time)
        with serial, mock.patch.object(gitlab, "together", one_at_a_time):
            rows["GitLab sequential"], reference = measure(fake, gather, runs, platform=False)
        rows[f"GitLab concurrent ({IN_FLIGHT} in flight)"], thread = measure(
            fake, gather, runs, platform=False
        )
        assert replace(thread, api_requests=0) == replace(reference, api_requests=0)
    finally:
        fake.stop()
    return rows


def measure(
    fake: Remote, gather: Any, runs: int, *, platform: bool = True
) -> tuple[dict[str, Any], ThreadData]:
    times, levels, thread = [], [], None
    for _ in range(runs):
        gh = (
            GitHubPlatform(REPO, GitHubAuth("ghp_fake_token"), api_url=fake.api_url, server_url=fake.web_url)
            if platform
            else None
        )
        fake.spans()
        start = time.perf_counter()
        thread = gather(gh)
        times.append(time.perf_counter() - start)
        levels.append(round_trip_levels(fake.spans()))
    assert thread is not None
    row = {"wall_s": round(statistics.median(times), 3), "levels": statistics.median_low(levels)}
    row.update(worst_levels=max(levels), best_levels=min(levels), requests=thread.api_requests)
    return row, thread


def main() -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--gitlab", action="store_true", help="also a 3,000-file, 1,000-note merge request")
    opts = parser.parse_args()
    fake = Remote(opts.latency)
    try:
        rows: dict[str, dict[str, Any]] = {}
        rows["sequential"], reference = measure(fake, lambda gh: sequential(gh, BIG), opts.runs)
        for workers in (8, WORKERS):

            def concurrent(gh: GitHubPlatform, n: int = workers) -> ThreadData:
                return gather_thread(gh.client, REPO, BIG, True, workers=n)

            rows[f"concurrent ({workers} workers)"], thread = measure(fake, concurrent, opts.runs)
            if replace(thread, api_requests=0) != replace(reference, api_requests=0):
                print(f"FAIL: {workers} workers gathered something else than the sequential gather")
                return 1
    finally:
        fake.stop()
    base = rows["sequential"]["wall_s"]
    for row in rows.values():
        row["speed-up"] = round(base / row["wall_s"], 1)
    if opts.gitlab:
        lab = gitlab_rows(opts.latency, opts.runs)
        for row in lab.values():
            row["speed-up"] = round(lab["GitLab sequential"]["wall_s"] / row["wall_s"], 1)
        rows.update(lab)
    met = rows[f"concurrent ({WORKERS} workers)"]["levels"] <= 6
    if opts.json:
        print(json.dumps({"latency_s": opts.latency, "runs": opts.runs, "rows": rows, "met": met}, indent=2))
    else:
        what = "3,000 files, 1,000 comments (+150 review comments, 120 reviews)"
        print(f"{what}; {opts.latency * 1000:.0f} ms round trip; medians of {opts.runs} runs")
        for name, row in rows.items():
            print(
                f"{name:<34} {row['levels']:3} levels ({row['best_levels']}-{row['worst_levels']})  "
                f"{row['requests']:3} requests  {row['wall_s'] * 1000:7.0f} ms  ({row['speed-up']}x)"
            )
        verdict = "PASS" if met else "FAIL"
        print(f"{verdict}: at most 6 round-trip levels with the default {WORKERS} workers")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
