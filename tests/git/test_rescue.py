"""What keeps commits a push could not deliver: how a failed push is told apart, rebase, patch, bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import git
from runner.errors import GitError
from tests.gitrepos import (
    clone,
    commit,
    isolate_git,
    make_origin,
    push_from_elsewhere,
    reject_pushes,
    remote_heads,
    sh,
)

BOT = ("claude[bot]", "41898282+claude[bot]@users.noreply.github.com")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path, monkeypatch)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    return make_origin(tmp_path, {"a.txt": "one\ntwo\nthree\n", "b.txt": "b\n"})


@pytest.fixture
def ws(tmp_path: Path, origin: Path) -> Path:
    return clone(origin, tmp_path / "ws")


def push(ws: Path, origin: Path, branch: str = "main") -> None:
    git.push(ws, branch, remote_url=str(origin), token=None, protected=[])


def test_someone_elses_push_is_a_non_fast_forward(ws: Path, origin: Path) -> None:
    push_from_elsewhere(origin, "main", {"b.txt": "theirs\n"}, "theirs")
    commit(ws, {"a.txt": "ONE\ntwo\nthree\n"}, "ours")
    with pytest.raises(git.NonFastForward, match="someone pushed meanwhile"):
        push(ws, origin)


def test_a_hook_rejection_is_a_plain_failure_with_the_remotes_reason(ws: Path, origin: Path) -> None:
    reject_pushes(origin, message="GH006: Protected branch update failed")
    commit(ws, {"a.txt": "ONE\ntwo\nthree\n"}, "ours")
    with pytest.raises(GitError) as caught:
        push(ws, origin)
    assert not isinstance(caught.value, git.NonFastForward)
    assert "pre-receive hook declined" in caught.value.message
    assert "GH006: Protected branch update failed" in caught.value.message


def test_a_missing_remote_is_a_plain_failure(ws: Path, tmp_path: Path) -> None:
    commit(ws, {"a.txt": "x\n"}, "ours")
    with pytest.raises(GitError) as caught:
        git.push(ws, "main", remote_url=str(tmp_path / "no-such-repo.git"), token=None, protected=[])
    assert not isinstance(caught.value, git.NonFastForward)


def test_rebase_onto_a_moved_branch_keeps_both_changes(ws: Path, origin: Path) -> None:
    start = sh(ws, "rev-parse", "HEAD")
    theirs = push_from_elsewhere(origin, "main", {"b.txt": "theirs\n"}, "theirs")
    commit(ws, {"a.txt": "ONE\ntwo\nthree\n"}, "ours")
    onto = git.fetch(ws, "main", remote_url=str(origin))
    assert git.rebase_onto(ws, onto, start, name=BOT[0], email=BOT[1])
    assert sh(ws, "log", "--format=%s", "-2").splitlines() == ["ours", "theirs"]
    assert sh(ws, "rev-parse", "HEAD~1") == theirs
    assert sh(ws, "log", "-1", "--format=%an|%cn") == f"Dev|{BOT[0]}"  # author kept, committer the bot
    push(ws, origin)
    assert remote_heads(origin)["main"] == sh(ws, "rev-parse", "HEAD")


def test_a_conflicting_rebase_is_undone(ws: Path, origin: Path) -> None:
    start = sh(ws, "rev-parse", "HEAD")
    push_from_elsewhere(origin, "main", {"a.txt": "uno\ntwo\nthree\n"}, "theirs")
    ours = commit(ws, {"a.txt": "ONE\ntwo\nthree\n"}, "ours")
    (ws / "left-out.bin").write_text("not committed\n")
    onto = git.fetch(ws, "main", remote_url=str(origin))
    assert not git.rebase_onto(ws, onto, start, name=BOT[0], email=BOT[1])
    assert sh(ws, "rev-parse", "HEAD") == ours
    assert sh(ws, "status", "--porcelain") == "?? left-out.bin"  # no rebase in progress, nothing lost
    assert (ws / "a.txt").read_text() == "ONE\ntwo\nthree\n"


def test_patch_and_bundle_reproduce_the_commits(ws: Path, origin: Path, tmp_path: Path) -> None:
    start = sh(ws, "rev-parse", "HEAD")
    commit(ws, {"a.txt": "ONE\ntwo\nthree\n"}, "first")
    (ws / "image.png").write_bytes(bytes(range(256)) * 4)
    commit(ws, {"new/ü.txt": "new\n"}, "second")
    patch = git.write_patch(ws, start, tmp_path / "kept" / "work.patch")
    bundle = git.write_bundle(ws, start, tmp_path / "kept" / "work.bundle")

    applied = clone(origin, tmp_path / "applied")
    sh(applied, "am", "-q", str(patch))
    assert sh(applied, "log", "--format=%s", "-2").splitlines() == ["second", "first"]
    assert sh(applied, "rev-parse", "HEAD^{tree}") == sh(ws, "rev-parse", "HEAD^{tree}")

    fetched = clone(origin, tmp_path / "fetched")
    sh(fetched, "fetch", "-q", str(bundle), "HEAD")
    assert sh(fetched, "rev-parse", "FETCH_HEAD") == sh(ws, "rev-parse", "HEAD")
