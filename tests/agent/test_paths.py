"""Path confinement: what the file tools may touch, checked with real files and symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.agent.tools.base import ToolContext, ToolError
from runner.agent.tools.paths import display_path, resolve_in_roots


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / ".git" / "config").write_text("[core]\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("s3cret\n")
    return Path(os.path.realpath(root))


@pytest.fixture
def ctx(ws: Path) -> ToolContext:
    return ToolContext(cwd=ws)


def test_relative_and_absolute_paths_inside_resolve(ws: Path, ctx: ToolContext) -> None:
    assert resolve_in_roots("src/app.py", ctx) == ws / "src" / "app.py"
    assert resolve_in_roots(str(ws / "src" / "app.py"), ctx) == ws / "src" / "app.py"
    assert resolve_in_roots("src/../src/./app.py", ctx) == ws / "src" / "app.py"
    assert resolve_in_roots(".", ctx) == ws


def test_new_file_resolves_through_its_parent(ws: Path, ctx: ToolContext) -> None:
    assert resolve_in_roots("new/dir/file.txt", ctx, for_write=True) == ws / "new" / "dir" / "file.txt"


def test_dotdot_escape_is_refused(ws: Path, ctx: ToolContext) -> None:
    with pytest.raises(ToolError) as err:
        resolve_in_roots("../outside/secret.txt", ctx)
    message = str(err.value)
    assert message.startswith("path ../outside/secret.txt is outside the workspace ")
    assert "only files under the workspace and --add-dir directories can be read" in message
    with pytest.raises(ToolError, match="can be written"):
        resolve_in_roots("src/../../outside/new.txt", ctx, for_write=True)


@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/environ", "/"])
def test_absolute_paths_elsewhere_are_refused(ctx: ToolContext, target: str) -> None:
    with pytest.raises(ToolError, match=f"path {target} is outside the workspace"):
        resolve_in_roots(target, ctx)


def test_sibling_directory_sharing_a_prefix_is_outside(tmp_path: Path, ws: Path, ctx: ToolContext) -> None:
    sibling = tmp_path / "ws2"
    sibling.mkdir()
    (sibling / "f").write_text("x")
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_roots(str(sibling / "f"), ctx)


def test_symlinked_file_pointing_out_is_refused(tmp_path: Path, ws: Path, ctx: ToolContext) -> None:
    (ws / "link.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    with pytest.raises(ToolError) as err:
        resolve_in_roots("link.txt", ctx)
    assert f"resolves to {os.path.realpath(tmp_path / 'outside' / 'secret.txt')}" in str(err.value)


def test_symlinked_dir_pointing_out_is_refused_for_read_and_write(
    tmp_path: Path, ws: Path, ctx: ToolContext
) -> None:
    (ws / "linkdir").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_roots("linkdir/secret.txt", ctx)
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_roots("linkdir/new.txt", ctx, for_write=True)


def test_dangling_symlink_pointing_out_is_refused_for_write(
    tmp_path: Path, ws: Path, ctx: ToolContext
) -> None:
    (ws / "dangling").symlink_to(tmp_path / "outside" / "created-by-agent.txt")
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_roots("dangling", ctx, for_write=True)


def test_symlink_inside_the_workspace_resolves_to_its_target(ws: Path, ctx: ToolContext) -> None:
    (ws / "alias.py").symlink_to(ws / "src" / "app.py")
    assert resolve_in_roots("alias.py", ctx) == ws / "src" / "app.py"


@pytest.mark.parametrize(
    "target", [".git/config", ".git/hooks/pre-commit", ".git", "sub/.git/HEAD", "sub/.git"]
)
def test_writes_into_git_are_refused_at_any_depth(ctx: ToolContext, target: str) -> None:
    with pytest.raises(ToolError) as err:
        resolve_in_roots(target, ctx, for_write=True)
    assert str(err.value).startswith(f"refusing to write {target}: it is inside .git")


def test_write_into_git_through_a_symlink_is_refused(ws: Path, ctx: ToolContext) -> None:
    (ws / "gitlink").symlink_to(ws / ".git", target_is_directory=True)
    (ws / "hook").symlink_to(ws / ".git" / "hooks" / "pre-commit")
    for target in ("gitlink/config", "hook"):
        with pytest.raises(ToolError, match=r"inside \.git"):
            resolve_in_roots(target, ctx, for_write=True)


def test_git_is_readable_and_gitignore_writable(ws: Path, ctx: ToolContext) -> None:
    assert resolve_in_roots(".git/config", ctx) == ws / ".git" / "config"
    assert resolve_in_roots(".gitignore", ctx, for_write=True) == ws / ".gitignore"
    assert resolve_in_roots("src/.github/x.yml", ctx, for_write=True) == ws / "src" / ".github" / "x.yml"


def test_add_dirs_are_roots_too(tmp_path: Path, ws: Path) -> None:
    extra = Path(os.path.realpath(tmp_path / "outside"))
    ctx = ToolContext(cwd=ws, add_dirs=(extra,))
    assert resolve_in_roots(str(extra / "secret.txt"), ctx) == extra / "secret.txt"
    assert resolve_in_roots("../outside/secret.txt", ctx) == extra / "secret.txt"
    with pytest.raises(ToolError, match=r"\(or --add-dir .*outside\)"):
        resolve_in_roots("/etc/hosts", ctx)


def test_empty_and_nul_paths_are_refused(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="the path is empty"):
        resolve_in_roots("  ", ctx)
    with pytest.raises(ToolError, match="NUL"):
        resolve_in_roots("a\0b", ctx)


def test_display_path_is_relative_inside_and_absolute_outside(
    tmp_path: Path, ws: Path, ctx: ToolContext
) -> None:
    assert display_path(ws / "src" / "app.py", ctx) == "src/app.py"
    assert display_path(ws, ctx) == "."
    assert display_path(tmp_path / "outside", ctx) == str(tmp_path / "outside")
