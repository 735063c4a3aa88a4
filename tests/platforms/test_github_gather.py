"""Gathering a pull request in a few round trips: independent reads and pages past the first at
once, against the fake GitHub with a simulated round trip (``faults.latency``)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

import pytest

from runner.errors import PlatformError
from runner.platforms import github_gather
from runner.platforms.github import GitHubAuth, GitHubPlatform
from runner.platforms.github_client import GitHubClient
from runner.platforms.github_gather import gather_thread
from runner.testing.fake_github import FakeGitHub
from runner.testing.faults import round_trip_levels

TOKEN = "ghp_fake_token"
BIG = 7


def big_pull_request(fake: FakeGitHub, number: int = BIG, *, files: int = 3000, comments: int = 1000) -> None:
    """A pull request of ``files`` changed files and ``comments`` conversation comments, with 150
    review comments and 120 reviews (every list longer than a page), some comments minimized."""
    fake.add_user("reviewer", permission="write")
    changed = [
        {"filename": f"src/pkg{i // 100}/mod_{i:04}.py", "patch": "@@ -1 +1 @@\n-a\n+b", "status": "modified"}
        for i in range(files)
    ]
    fake.add_pull(number, head_ref="big", files=changed)
    start = 1_700_000_000
    for i in range(comments):
        made = fake.add_comment(number, f"comment {i}", user="octocat", created_at=start + 3 * i)
        if i % 97 == 5:
            fake.minimize_comment(made.id, reason="OFF_TOPIC")
    for i in range(150):
        fake.add_review_comment(number, f"inline {i}", user="reviewer", created_at=start + 3 * i + 1)
    for i in range(120):
        fake.add_review(number, user="reviewer", body=f"review {i}", submitted_at=start + 3 * i + 2)


def platform(fake: FakeGitHub) -> GitHubPlatform:
    return GitHubPlatform(
        "octo-org/hello-world", GitHubAuth(TOKEN), api_url=fake.api_url, server_url=fake.web_url
    )


@pytest.fixture
def github():
    with FakeGitHub("octo-org", "hello-world") as fake:
        yield fake


class RoundPool:
    """The gather's requests run in rounds, deterministically, on the test's thread: each round
    takes up to ``workers`` queued tasks (most urgent first, as the real pool does), and what they
    submit waits for the next round. A round lasts as many round trips as its longest task makes
    (a comment page and its GraphQL lookup: two), so the sum is an upper bound on the levels a
    real pool of ``workers`` threads would take with the same latency for every request."""

    def __init__(self, client: GitHubClient, workers: int) -> None:
        self.client, self.workers = client, workers
        self.queue: list[tuple[int, int, Callable[[], Any], Future[Any]]] = []
        self.order = itertools.count()
        self.levels = 0
        self.rounds: list[int] = []  # tasks run in each round

    def submit(self, fn: Callable[[], Any], urgency: int = github_gather.PAGE) -> Future[Any]:
        future: Future[Any] = Future()
        heapq.heappush(self.queue, (urgency, next(self.order), fn, future))
        return future

    def drain(self) -> None:
        while self.queue:
            batch = [heapq.heappop(self.queue) for _ in range(min(self.workers, len(self.queue)))]
            longest = 0
            for _, _, fn, future in batch:
                before = self.client.requests
                future.set_result(fn())
                longest = max(longest, self.client.requests - before)
            self.levels += longest
            self.rounds.append(len(batch))

    def close(self) -> None:
        pass


def test_a_3000_file_1000_comment_pull_request_takes_at_most_6_round_trips(github: FakeGitHub) -> None:
    big_pull_request(github)
    # One request at a time: the same reads, as many round trips as requests.
    one_by_one = gather_thread(platform(github).client, "octo-org/hello-world", BIG, True, workers=1)
    client = platform(github).client
    rounds = RoundPool(client, github_gather.WORKERS)
    thread = gather_thread(client, "octo-org/hello-world", BIG, True, pool=rounds)
    assert rounds.levels <= 6 and max(rounds.rounds) <= github_gather.WORKERS
    assert thread.api_requests >= 49  # 30 pages of files, 10 of comments, their flags, ...
    # Complete, and in the order a sequential gather gives.
    assert [f.path for f in thread.files] == [f"src/pkg{i // 100}/mod_{i:04}.py" for i in range(3000)]
    kinds = [c.kind for c in thread.comments]
    assert (kinds.count("comment"), kinds.count("review_comment"), kinds.count("review")) == (1000, 150, 120)
    assert sum(c.minimized for c in thread.comments) == len(range(5, 1000, 97))
    assert replace(thread, api_requests=0) == replace(one_by_one, api_requests=0)


def test_the_threads_send_each_round_together(github: FakeGitHub) -> None:
    # With a simulated round trip, requests sent together overlap at the fake: fewer levels than
    # requests. (How few is the benchmark's to say: bench/gather.py; here only that they overlap.)
    big_pull_request(github, files=450, comments=250)
    github.faults.latency(0.2)
    first = len(github.requests)
    thread = platform(github).fetch_thread(BIG, is_pull_request=True)
    spans = [(r.started, r.ended) for r in github.requests[first:]]
    assert thread.api_requests == len(spans) >= 14
    assert round_trip_levels(spans) < len(spans)
    assert len(thread.files) == 450 and sum(c.kind == "comment" for c in thread.comments) == 250


def test_round_trip_levels_count_requests_made_in_sequence() -> None:
    # Two sent together, then one after both answered, then one more after it: three levels.
    assert round_trip_levels([(0.0, 1.0), (0.01, 1.0), (1.02, 2.0), (2.1, 3.0)]) == 3
    assert round_trip_levels([(0.0, 1.0), (0.5, 1.5), (0.9, 1.9)]) == 1
    assert round_trip_levels([]) == 0


def test_pages_are_followed_one_by_one_when_github_gives_no_last_page(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    big_pull_request(github, files=250, comments=30)
    monkeypatch.setattr(github_gather, "last_page", lambda header: None)
    thread = platform(github).fetch_thread(BIG, is_pull_request=True)
    assert [f.path for f in thread.files] == [f"src/pkg{i // 100}/mod_{i:04}.py" for i in range(250)]
    pages = sorted(r.query.get("page", "1") for r in github.requests_to("GET", "list_files"))
    assert pages == ["1", "2", "3"]


def test_a_page_that_fails_once_is_retried_and_nothing_is_missing(github: FakeGitHub) -> None:
    big_pull_request(github, files=450, comments=250)
    github.faults.fail("list_files", 502)
    github.faults.reset("list_comments")
    thread = platform(github).fetch_thread(BIG, is_pull_request=True)
    assert len(thread.files) == 450 and sum(c.kind == "comment" for c in thread.comments) == 250
    assert sorted(route for route, _ in github.faults.hits) == ["list_comments", "list_files"]


def test_a_page_github_refuses_fails_the_gather_in_one_line(github: FakeGitHub) -> None:
    big_pull_request(github, files=450, comments=10)
    github.faults.fail("list_files", 404, times=None, message="Not Found")
    with pytest.raises(PlatformError, match=r"^GitHub could not list files: 404 Not Found$"):
        platform(github).fetch_thread(BIG, is_pull_request=True)


def test_a_comment_deleted_before_its_flags_are_read_is_left_out(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    github.add_issue(30)
    made = [github.add_comment(30, f"comment {i}") for i in range(150)]
    gh = platform(github)
    ask = gh.client.graphql

    def delete_then_ask(what, query, variables, **kwargs):  # type: ignore[no-untyped-def]
        if "MinimizedComments" in query:  # REST listed it; it is deleted before GraphQL is asked
            with github.lock:
                github.issue_comments.pop(made[120].id)
        return ask(what, query, variables, **kwargs)

    monkeypatch.setattr(gh.client, "graphql", delete_then_ask)
    thread = gh.fetch_thread(30, is_pull_request=False)
    assert [c.id for c in thread.comments] == [c.id for c in made if c is not made[120]]
