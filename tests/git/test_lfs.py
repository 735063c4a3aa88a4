"""Git LFS: the runner commits LFS files as pointers and uploads their objects itself (hooks never run)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner import git
from tests.gitrepos import clone, isolate_git, make_origin, path_without, sh

BOT = ("claude[bot]", "41898282+claude[bot]@users.noreply.github.com")
needs_lfs = pytest.mark.skipif(shutil.which("git-lfs") is None, reason="git-lfs is not installed")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path, monkeypatch)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    return make_origin(
        tmp_path, {".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n", "a.py": "a\n"}
    )


def test_lfs_paths_follow_gitattributes(origin: Path, tmp_path: Path) -> None:
    ws = clone(origin, tmp_path / "ws")
    (ws / "sub").mkdir()
    (ws / "sub" / ".gitattributes").write_text("*.psd filter=lfs\n")
    paths = ["model.bin", "a.py", "sub/art.psd", "art.psd", "dir with space/x.bin"]
    assert git.lfs_paths(ws, paths) == ["model.bin", "sub/art.psd", "dir with space/x.bin"]
    assert git.lfs_paths(ws, []) == []


@needs_lfs
def test_commit_stores_a_pointer_and_lfs_push_uploads_the_object(origin: Path, tmp_path: Path) -> None:
    ws = clone(origin, tmp_path / "ws")
    assert git.lfs_installed(ws)
    start = sh(ws, "rev-parse", "HEAD")
    (ws / "model.bin").write_bytes(b"weights " * 100)
    git.commit_all(ws, "model", author_name=BOT[0], author_email=BOT[1], add_config=git.LFS_FILTER_CONFIG)
    pointer = sh(ws, "show", "HEAD:model.bin")
    assert pointer.startswith("version https://git-lfs.github.com/spec/v1")
    git.push(ws, "claude/model", remote_url=str(origin), token=None, protected=["main"])

    oids = git.pointer_oids(ws, git.lfs_paths(ws, git.range_names(ws, start)))
    assert len(oids) == 1 and f"oid sha256:{oids[0]}" in pointer
    git.lfs_push(ws, oids, remote_url=str(origin), token=None)
    stored = origin / "lfs" / "objects" / oids[0][:2] / oids[0][2:4] / oids[0]
    assert stored.read_bytes() == b"weights " * 100


def test_without_git_lfs_the_runner_can_tell(
    origin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = clone(origin, tmp_path / "ws")
    monkeypatch.setenv("PATH", path_without("git-lfs", tmp_path))
    assert not git.lfs_installed(ws)
    assert git.lfs_paths(ws, ["model.bin"]) == ["model.bin"]  # attributes still say LFS
