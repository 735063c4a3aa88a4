"""Merge bases and diffs in the shallow clones CI makes: the history is fetched until the base is found."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import git
from runner.errors import GitError
from tests.gitrepos import clone, commit, isolate_git, make_origin, sh


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path, monkeypatch)


@pytest.fixture
def moved_base(tmp_path: Path) -> tuple[Path, str]:
    """origin: ``feature`` forked from ``main`` after five commits; ``main`` moved on by three.
    Returns the origin and the fork point."""
    origin = make_origin(tmp_path, {"app.py": "v = 0\n"})
    seed = tmp_path / "seed"
    for i in range(5):
        commit(seed, {"history.txt": f"{i}\n"}, f"main {i}")
    fork = sh(seed, "rev-parse", "HEAD")
    sh(seed, "checkout", "-q", "-b", "feature")
    commit(seed, {"feature.py": "def f():\n    return 1\n"}, "feature 1")
    commit(seed, {"feature.py": "def f():\n    return 2\n"}, "feature 2")
    sh(seed, "checkout", "-q", "main")
    for i in range(3):
        commit(seed, {"later.txt": f"{i}\n"}, f"main later {i}")
    sh(seed, "push", "-q", "origin", "main", "feature")
    return origin, fork


def shallow_checkout(origin: Path, tmp_path: Path) -> Path:
    """actions/checkout's default (fetch-depth: 1) of ``feature``; then ``main`` fetched by the runner."""
    ws = clone(origin, tmp_path / "ws", "-b", "feature", shallow=True)
    git.fetch(ws, "main", remote_url=origin.as_uri())
    return ws


REFS = ["refs/heads/main", "refs/heads/feature"]


def test_a_shallow_clone_has_no_merge_base_until_history_is_fetched(moved_base, tmp_path: Path) -> None:
    origin, fork = moved_base
    ws = shallow_checkout(origin, tmp_path)
    assert git.is_shallow(ws)
    with pytest.raises(GitError, match="no merge base"):
        git.merge_base(ws, "refs/remotes/origin/main")  # the failure this guards against

    found = git.find_merge_base(ws, "refs/remotes/origin/main", refs=REFS, remote_url=str(origin))
    assert found == fork
    diff = git.merge_base_diff(ws, "refs/remotes/origin/main")
    assert "+    return 2" in diff and "later.txt" not in diff and "history.txt" not in diff
    assert git.diff_names(ws, "refs/remotes/origin/main") == ["feature.py"]


def test_history_is_fetched_in_steps_only_as_far_as_needed(moved_base, tmp_path: Path) -> None:
    origin, fork = moved_base
    ws = shallow_checkout(origin, tmp_path)
    main = "refs/remotes/origin/main"
    assert git.find_merge_base(ws, main, refs=REFS, remote_url=origin.as_uri(), steps=(2, 4)) == fork
    assert git.is_shallow(ws)  # found in the second step: the older history was never fetched


def test_when_the_steps_run_out_the_rest_of_the_history_is_fetched(moved_base, tmp_path: Path) -> None:
    origin, fork = moved_base
    ws = shallow_checkout(origin, tmp_path)
    main = "refs/remotes/origin/main"
    assert git.find_merge_base(ws, main, refs=REFS, remote_url=origin.as_uri(), steps=(1,)) == fork
    assert not git.is_shallow(ws)  # --unshallow


def test_unrelated_histories_still_fail_clearly(tmp_path: Path) -> None:
    origin = make_origin(tmp_path, {"a.txt": "a\n"})
    ws = clone(origin, tmp_path / "ws")
    sh(ws, "checkout", "-q", "--orphan", "island")
    commit(ws, {"b.txt": "b\n"}, "unrelated")
    with pytest.raises(GitError, match="no merge base"):
        git.find_merge_base(ws, "origin/main", refs=["refs/heads/main"], remote_url=str(origin))


def test_range_diff_reproduces_the_change_with_git_apply(tmp_path: Path) -> None:
    origin = make_origin(tmp_path, {"a.txt": "one\ntwo\n"})
    ws = clone(origin, tmp_path / "ws")
    start = sh(ws, "rev-parse", "HEAD")
    commit(ws, {"a.txt": "one\n2\n", "new dir/ü.txt": "new\n"}, "change")
    (ws / "bin.dat").write_bytes(bytes(range(256)))
    sh(ws, "add", ".")
    sh(ws, "commit", "-qm", "binary")
    patch = git.range_diff(ws, start)
    assert set(git.range_names(ws, start)) == {"a.txt", "new dir/ü.txt", "bin.dat"}

    other = clone(origin, tmp_path / "other")
    sh(other, "apply", "--index", "-", input=patch)
    assert (other / "a.txt").read_text() == "one\n2\n"
    assert (other / "new dir" / "ü.txt").read_text() == "new\n"
    assert (other / "bin.dat").read_bytes() == bytes(range(256))
