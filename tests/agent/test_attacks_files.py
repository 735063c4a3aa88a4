"""Attacks on the file tools, run for real: Read, Write, Edit and MultiEdit against links and races.

Each call goes through the permission decision the mention flow makes (acceptEdits) and, to show
that the tools hold on their own, through one that allows everything (bypassPermissions). After
each attempt nothing outside the workspace changed, ``.git`` is as it was, and a secret's text is
not in the answer. The races swap a directory for a symbolic link between the path check and the
open, deterministically, by wrapping the check.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.agent.tools import fdio
from tests.agent.attacks import SECRET, World, call, make_world, policy

MODES = ("acceptEdits", "bypassPermissions")


@pytest.fixture
def world(tmp_path: Path) -> World:
    w = make_world(tmp_path)
    (w.ws / "out").symlink_to(w.out, target_is_directory=True)
    (w.ws / "hooks").symlink_to(w.ws / ".git" / "hooks", target_is_directory=True)
    (w.ws / "dotgit").symlink_to(w.ws / ".git", target_is_directory=True)
    (w.ws / "dangling").symlink_to(w.out / "created-through-link")
    (w.ws / "secret-link").symlink_to(w.secret)
    (w.ws / "keep-link").symlink_to(w.out / "keep.txt")
    (w.ws / "nested" / ".git").mkdir(parents=True)
    (w.ws / "nested" / ".git" / "config").write_text("[core]\n")
    return w


def write(path: str) -> tuple[str, dict[str, Any]]:
    return "Write", {"file_path": path, "content": "[core]\n\tpager = planted\n"}


def edit(path: str, old: str = "keep", new: str = "planted") -> tuple[str, dict[str, Any]]:
    return "Edit", {"file_path": path, "old_string": old, "new_string": new}


def multi(path: str, old: str = "keep") -> tuple[str, dict[str, Any]]:
    return "MultiEdit", {"file_path": path, "edits": [{"old_string": old, "new_string": "planted"}]}


def read(path: str) -> tuple[str, dict[str, Any]]:
    return "Read", {"file_path": path}


ATTACKS: list[tuple[str, dict[str, Any]]] = [
    write(".git/config"),
    write(".git/hooks/pre-commit"),
    write("hooks/pre-commit"),
    write("dotgit/config"),
    write("dotgit/hooks/post-checkout"),
    write(".GIT/config"),
    write("nested/.git/config"),
    write("out/new.txt"),
    write("out/keep.txt"),
    write("dangling"),
    write("keep-link"),
    write("../outside/new.txt"),
    write("{OUT}/new.txt"),
    write("~/new.txt"),
    write("sub/../../outside/new.txt"),
    write("out/../outside/new.txt"),
    write("dotgit/../../outside/new.txt"),
    edit(".git/config", "[core]", "[core]\n\tpager = planted"),
    edit("dotgit/config", "[core]", "[core]\n\tpager = planted"),
    edit("hooks/pre-commit.sample", "#!/bin/sh", "#!/bin/sh\ntouch planted"),
    edit("keep-link"),
    edit("out/keep.txt"),
    edit("{OUT}/keep.txt"),
    edit("out/new.txt", "", "planted"),
    edit("dangling", "", "planted"),
    edit("nested/.git/config", "[core]", "[alias]"),
    multi("keep-link"),
    multi("out/keep.txt"),
    multi(".git/config", "[core]"),
    multi("hooks/pre-commit.sample", "#!/bin/sh"),
    multi("dangling", ""),
    read("{SECRET}"),
    read("../outside/secret.txt"),
    read("secret-link"),
    read("out/secret.txt"),
    read("~/../outside/secret.txt"),
    read("dotgit/../../outside/secret.txt"),
]


def _snapshot(w: World) -> dict[str, str]:
    seen = w.snapshot()
    for extra in (".GIT", ".claude", "nested/.git/config", ".git/hooks/pre-commit.sample"):
        path = w.ws / extra
        seen[extra] = path.read_text() if path.is_file() else ("dir" if path.is_dir() else "absent")
    seen["beside"] = str(sorted(p.name for p in w.root.iterdir()))
    return seen


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("tool", "args"), ATTACKS)
def test_file_attack_has_no_effect(world: World, mode: str, tool: str, args: dict[str, Any]) -> None:
    args = {k: world.fmt(v) if isinstance(v, str) else v for k, v in args.items()}
    before = _snapshot(world)
    outcome = call(world, policy(world, mode=mode), tool, args)
    assert outcome.result is None or outcome.result.is_error, outcome.text
    assert _snapshot(world) == before
    assert SECRET not in outcome.text
    assert not (world.out / "created-through-link").exists()


@pytest.mark.parametrize(
    "path", [".claude/settings.json", "src/.claude/settings.local.json", "out/.claude/x"]
)
def test_accept_edits_does_not_reach_claude_settings(world: World, path: str) -> None:
    """The mention flow's mode: edits inside the workspace, but not the agent's own settings."""
    outcome = call(world, policy(world, mode="acceptEdits"), *write(path))
    assert outcome.result is None
    assert not (world.ws / ".claude").exists() and not (world.ws / "src").exists()
    assert not (world.out / ".claude").exists()


# --- legitimate links inside the workspace are still followed -----------------------------------


def test_links_inside_the_workspace_still_work(world: World) -> None:
    (world.ws / "src").mkdir()
    (world.ws / "src" / "app.py").write_text("x = 1\n")
    (world.ws / "alias").symlink_to(world.ws / "src", target_is_directory=True)
    (world.ws / "app-link.py").symlink_to(world.ws / "src" / "app.py")
    pol = policy(world, mode="acceptEdits")
    assert "1\tx = 1" in call(world, pol, "Read", {"file_path": "app-link.py"}).text
    out = call(world, pol, "Edit", {"file_path": "app-link.py", "old_string": "x = 1", "new_string": "x = 2"})
    assert out.result is not None and not out.result.is_error, out.text
    assert (world.ws / "src" / "app.py").read_text() == "x = 2\n"
    assert (world.ws / "app-link.py").is_symlink()  # the edit went to the target, the link stays
    out = call(world, pol, "Write", {"file_path": "alias/new/deep.py", "content": "y = 1\n"})
    assert out.result is not None and not out.result.is_error, out.text
    assert (world.ws / "src" / "new" / "deep.py").read_text() == "y = 1\n"


# --- races: a directory swapped for a link between the check and the open ----------------------


def swap_after_check(
    monkeypatch: pytest.MonkeyPatch, directory: Path, link_to: Path
) -> Callable[..., tuple[Path, Path]]:
    """Make the path check succeed on the real directory, then replace it with a link."""
    real_locate = fdio.locate

    def locate(*args: Any, **kwargs: Any) -> tuple[Path, Path]:
        found = real_locate(*args, **kwargs)
        if directory.is_dir() and not directory.is_symlink():
            shutil.rmtree(directory)
            directory.symlink_to(link_to, target_is_directory=True)
        return found

    monkeypatch.setattr(fdio, "locate", locate)
    return locate


@pytest.mark.parametrize("mode", MODES)
def test_write_race_into_a_directory_outside(
    world: World, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    (world.ws / "sub").mkdir()
    swap_after_check(monkeypatch, world.ws / "sub", world.out)
    before = sorted(p.name for p in world.out.iterdir())
    out = call(world, policy(world, mode=mode), "Write", {"file_path": "sub/new.txt", "content": "planted"})
    assert out.result is not None and out.result.is_error
    assert "changed while it was being opened" in out.text
    assert sorted(p.name for p in world.out.iterdir()) == before
    assert not (world.out / "new.txt").exists()


@pytest.mark.parametrize("mode", MODES)
def test_write_race_into_git_hooks(world: World, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    (world.ws / "sub").mkdir()
    swap_after_check(monkeypatch, world.ws / "sub", world.ws / ".git" / "hooks")
    out = call(
        world, policy(world, mode=mode), "Write", {"file_path": "sub/pre-commit", "content": "#!/bin/sh"}
    )
    assert out.result is not None and out.result.is_error
    assert not (world.ws / ".git" / "hooks" / "pre-commit").exists()


@pytest.mark.parametrize("mode", MODES)
def test_edit_race_onto_a_file_outside(world: World, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    (world.ws / "sub").mkdir()
    (world.ws / "sub" / "keep.txt").write_text("keep me\n")
    swap_after_check(monkeypatch, world.ws / "sub", world.out)
    args = {"file_path": "sub/keep.txt", "old_string": "keep", "new_string": "planted"}
    out = call(world, policy(world, mode=mode), "Edit", args)
    assert out.result is not None and out.result.is_error
    assert (world.out / "keep.txt").read_text() == "keep me\n"


@pytest.mark.parametrize("mode", MODES)
def test_read_race_onto_a_secret(world: World, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    (world.ws / "sub").mkdir()
    (world.ws / "sub" / "secret.txt").write_text("harmless\n")
    swap_after_check(monkeypatch, world.ws / "sub", world.out)
    out = call(world, policy(world, mode=mode), "Read", {"file_path": "sub/secret.txt"})
    assert out.result is not None and out.result.is_error
    assert SECRET not in out.text


def test_file_swapped_for_a_link_is_not_followed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last component swapped: Edit refuses to open the link; Write replaces the link, not its target."""
    (world.ws / "f.txt").write_text("keep\n")
    real_locate = fdio.locate

    def locate(*args: Any, **kwargs: Any) -> tuple[Path, Path]:
        found = real_locate(*args, **kwargs)
        if not (world.ws / "f.txt").is_symlink():
            (world.ws / "f.txt").unlink()
            (world.ws / "f.txt").symlink_to(world.out / "keep.txt")
        return found

    monkeypatch.setattr(fdio, "locate", locate)
    pol = policy(world, mode="acceptEdits")
    out = call(world, pol, "Edit", {"file_path": "f.txt", "old_string": "keep", "new_string": "planted"})
    assert out.result is not None and out.result.is_error
    assert (world.out / "keep.txt").read_text() == "keep me\n"
    (world.ws / "f.txt").unlink()
    (world.ws / "f.txt").write_text("keep\n")
    out = call(world, pol, "Write", {"file_path": "f.txt", "content": "planted"})
    assert (world.out / "keep.txt").read_text() == "keep me\n"
    assert not (world.ws / "f.txt").is_symlink() or out.result is None or out.result.is_error


def test_without_a_swap_the_same_writes_succeed(world: World) -> None:
    """The races above fail because of the swap, not because the paths are refused anyway."""
    (world.ws / "sub").mkdir()
    (world.ws / "sub" / "keep.txt").write_text("keep me\n")
    pol = policy(world, mode="acceptEdits")
    call(world, pol, "Read", {"file_path": "sub/keep.txt"})
    out = call(world, pol, "Write", {"file_path": "sub/new.txt", "content": "fine"})
    assert out.result is not None and not out.result.is_error, out.text
    out = call(world, pol, "Edit", {"file_path": "sub/keep.txt", "old_string": "keep", "new_string": "kept"})
    assert out.result is not None and not out.result.is_error, out.text
    assert (world.ws / "sub" / "keep.txt").read_text() == "kept me\n"
    assert set(os.listdir(world.ws / "sub")) == {"keep.txt", "new.txt"}
