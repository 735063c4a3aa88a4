"""The workspace as CI checks it out: a shallow clone whose base moved on still gives the change's diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.flow.workspace import WorkspacePlan, change_diff, prepare
from runner.platforms.base import PushTarget
from tests.gitrepos import clone, commit, isolate_git, make_origin, sh


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path, monkeypatch)


def test_the_diff_of_a_pull_request_in_a_shallow_checkout_whose_base_moved_on(tmp_path: Path) -> None:
    origin = make_origin(tmp_path, {"calc.py": "def add(a, b):\n    return a - b\n"})
    seed = tmp_path / "seed"
    sh(seed, "checkout", "-q", "-b", "fix-calc")
    commit(seed, {"calc.py": "def add(a, b):\n    return a + b\n"}, "fix add")
    sh(seed, "checkout", "-q", "main")
    for i in range(4):  # the base moves on after the pull request forked
        commit(seed, {"CHANGELOG.md": f"{i}\n"}, f"release {i}")
    sh(seed, "push", "-q", "origin", "main", "fix-calc")

    ws = clone(origin, tmp_path / "ws", shallow=True)  # actions/checkout, fetch-depth: 1
    target = PushTarget(origin.as_uri())
    plan = WorkspacePlan("fix-calc", "main", False, True, "the pull request's branch")
    prepare(plan, ws, target)
    diff = change_diff(plan, ws, target, "main")
    assert "-    return a - b\n+    return a + b" in diff
    assert "CHANGELOG.md" not in diff  # the base's own later commits are not the change's
