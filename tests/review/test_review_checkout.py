"""A review in a checkout as CI makes it: shallow (fetch-depth: 1), the base moved on since the fork."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import git
from runner.platforms.base import PushTarget, ThreadData
from runner.review.checkout import checkout_head, files_between, review_merge_base
from tests.gitrepos import clone, commit, isolate_git, make_origin, sh


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path, monkeypatch)


def test_the_merge_base_is_found_in_a_shallow_checkout_whose_base_moved_on(tmp_path: Path) -> None:
    origin = make_origin(tmp_path, {"calc.py": "def add(a, b):\n    return a - b\n"})
    seed = tmp_path / "seed"
    fork_point = sh(seed, "rev-parse", "HEAD").strip()
    sh(seed, "checkout", "-q", "-b", "fix-calc")
    commit(seed, {"calc.py": "def add(a, b):\n    return a + b\n"}, "fix add")
    sh(seed, "checkout", "-q", "main")
    for i in range(4):  # the base moves on after the pull request forked
        commit(seed, {"CHANGELOG.md": f"{i}\n"}, f"release {i}")
    sh(seed, "push", "-q", "origin", "main", "fix-calc")

    ws = clone(origin, tmp_path / "ws", shallow=True)  # actions/checkout, fetch-depth: 1
    assert git.is_shallow(ws)
    target = PushTarget(origin.as_uri())
    thread = ThreadData(5, True, "Fix add", "", "alice", "open", head_ref="fix-calc", base_ref="main")
    head_sha, base_ref = checkout_head(ws, target, thread, None)
    merge_base = review_merge_base(ws, target, thread, None, base_ref)
    assert merge_base == fork_point
    assert [f.path for f in files_between(ws, merge_base, head_sha)] == ["calc.py"]
