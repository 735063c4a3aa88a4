"""What a commit can hold: files too large for the host are left out; edits inside submodules are seen."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import git
from tests.gitrepos import clone, commit, isolate_git, make_origin, sh

BOT = ("claude[bot]", "41898282+claude[bot]@users.noreply.github.com")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path, monkeypatch)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    origin = make_origin(
        tmp_path, {"app.py": "print('hi')\n", "data.bin": "small\n", ".gitignore": "*.log\n"}
    )
    return clone(origin, tmp_path / "ws")


def test_oversized_files_are_found_and_left_out_of_the_commit(ws: Path) -> None:
    (ws / "app.py").write_text("print('hello')\n")
    (ws / "big new.bin").write_bytes(b"x" * 2048)
    (ws / "data.bin").write_bytes(b"y" * 4096)  # a tracked file grown past the limit
    (ws / "huge.log").write_bytes(b"z" * 8192)  # ignored: never committed anyway
    (ws / "link").symlink_to("big new.bin")  # a link is stored as a link: its target's size is not its own
    sh(ws, "add", "big new.bin")  # the agent staged it itself

    large = git.oversized_files(ws, 1024)
    assert large == [git.LargeFile("big new.bin", 2048), git.LargeFile("data.bin", 4096)]

    sha = git.commit_all(ws, "work", author_name=BOT[0], author_email=BOT[1], exclude=[f.path for f in large])
    assert sha is not None
    committed = set(sh(ws, "show", "--name-only", "--format=", "HEAD").splitlines())
    assert committed == {"app.py", "link"}
    # Left out, not lost: both are still in the checkout as the agent left them.
    assert (ws / "big new.bin").stat().st_size == 2048 and (ws / "data.bin").stat().st_size == 4096
    assert sh(ws, "show", "HEAD:data.bin") == "small"


def test_nothing_is_too_large_under_the_default_limit(ws: Path) -> None:
    (ws / "big.bin").write_bytes(b"x" * 2048)
    assert git.oversized_files(ws) == []
    assert git.DEFAULT_MAX_FILE_BYTES == 100 * 1024 * 1024


def test_stage_takes_paths_literally(ws: Path) -> None:
    (ws / "[a].txt").write_text("bracket\n")
    (ws / "a.txt").write_text("plain\n")
    (ws / "*.txt").write_text("star\n")
    git.stage(ws, exclude=["[a].txt", "*.txt"])
    staged = sh(ws, "diff", "--cached", "--name-only").splitlines()
    assert staged == ["a.txt"]  # neither exclusion was read as a pattern


@pytest.fixture
def with_submodule(tmp_path: Path) -> Path:
    lib_origin = tmp_path / "lib.git"
    sh(tmp_path, "init", "-q", "--bare", "-b", "main", str(lib_origin))
    lib_seed = clone(lib_origin, tmp_path / "lib-seed")
    commit(lib_seed, {"lib.py": "X = 1\n"}, "lib")
    sh(lib_seed, "push", "-q", "origin", "HEAD:main")
    origin = make_origin(tmp_path, {"app.py": "import lib\n"})
    seed = tmp_path / "seed"
    sh(seed, "submodule", "add", "-q", str(lib_origin), "vendor/lib")
    sh(seed, "commit", "-qm", "add lib")
    sh(seed, "push", "-q", "origin", "HEAD:main")
    ws = clone(origin, tmp_path / "ws")
    sh(ws, "submodule", "update", "-q", "--init")
    return ws


def test_edits_inside_a_submodule_are_reported(with_submodule: Path) -> None:
    ws = with_submodule
    assert git.submodule_changes(ws) == []
    (ws / "vendor" / "lib" / "lib.py").write_text("X = 2\n")
    (ws / "vendor" / "lib" / "new.py").write_text("Y = 1\n")
    (ws / "app.py").write_text("import lib  # uses X\n")
    assert git.submodule_changes(ws) == [git.SubmoduleChange("vendor/lib", modified=True, untracked=True)]
    git.commit_all(ws, "work", author_name=BOT[0], author_email=BOT[1])
    # The parent's commit holds only its own file: which is why the change must be reported.
    assert sh(ws, "show", "--name-only", "--format=", "HEAD").splitlines() == ["app.py"]


def test_only_new_files_inside_a_submodule_are_reported_too(with_submodule: Path) -> None:
    (with_submodule / "vendor" / "lib" / "notes.md").write_text("todo\n")
    assert git.submodule_changes(with_submodule) == [
        git.SubmoduleChange("vendor/lib", modified=False, untracked=True)
    ]
