"""Gathering a merge request: its reads and the pages of its lists past the first at once, as
GitLab counts them (``x-total-pages``), against the fake GitLab."""

from __future__ import annotations

import pytest

from runner.errors import PlatformError
from runner.platforms.gitlab import GitLabPlatform
from runner.testing.fake_gitlab import FakeGitLab
from runner.testing.faults import round_trip_levels

TOKEN = "glpat-runner"


@pytest.fixture
def fake():
    with FakeGitLab("group/project", tokens={TOKEN: "project_278964_bot_abc"}) as fake:
        fake.add_user("alice", "developer")
        fake.add_branch("fix", "f" * 40)
        yield fake


def big_merge_request(fake: FakeGitLab, files: int = 450, notes: int = 250) -> None:
    diffs = [{"new_path": f"src/f{i:04}.py", "diff": "@@ -1 +1 @@\n-a\n+b\n"} for i in range(files)]
    fake.add_merge_request("Big", iid=12, source_branch="fix", diffs=diffs)
    for i in range(notes):
        fake.add_note("merge_request", 12, f"note {i}", author="alice")


def platform(fake: FakeGitLab) -> GitLabPlatform:
    return GitLabPlatform("group/project", url=fake.base_url, token=TOKEN)


def test_the_pages_past_the_first_are_asked_for_together_and_nothing_is_missing(fake: FakeGitLab) -> None:
    big_merge_request(fake)
    fake.faults.latency(0.2)
    thread = platform(fake).fetch_thread(12, is_pull_request=True)
    assert [f.path for f in thread.files] == [f"src/f{i:04}.py" for i in range(450)]
    assert [c.body for c in thread.comments] == [f"note {i}" for i in range(250)]
    listed = sorted(int(r.query.get("page", 1)) for r in fake.requests if r.route == "list_diffs")
    assert listed == [1, 2, 3, 4, 5]
    spans = [(r.started, r.ended) for r in fake.requests]
    assert thread.api_requests == len(spans)
    assert round_trip_levels(spans) < len(spans)  # requests overlapped (how much: the benchmark's)


def test_without_a_page_count_pages_are_followed_until_one_is_not_full(
    fake: FakeGitLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GitLab leaves out x-total and x-total-pages past 10,000 items.
    big_merge_request(fake, files=250, notes=3)
    paginate = fake._paginate

    def uncounted(*args, **kwargs):  # type: ignore[no-untyped-def]
        items, headers = paginate(*args, **kwargs)
        return items, {k: v for k, v in headers.items() if k not in ("X-Total", "X-Total-Pages")}

    monkeypatch.setattr(fake, "_paginate", uncounted)
    thread = platform(fake).fetch_thread(12, is_pull_request=True)
    assert [f.path for f in thread.files] == [f"src/f{i:04}.py" for i in range(250)]
    listed = [int(r.query.get("page", 1)) for r in fake.requests if r.route == "list_diffs"]
    assert listed == [1, 2, 3]


def test_a_page_gitlab_refuses_fails_the_gather_in_one_line(fake: FakeGitLab) -> None:
    big_merge_request(fake, files=450, notes=3)
    fake.faults.fail("list_diffs", 403, times=None)
    with pytest.raises(PlatformError, match="list the changed files"):
        platform(fake).fetch_thread(12, is_pull_request=True)
