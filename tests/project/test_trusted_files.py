"""Which named files come from the trusted tree, and what a refusal says."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import SettingsError
from runner.project.trusted_files import TrustedTree, read_named_file, read_settings_value, repository_path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (".claude/ci.json", ".claude/ci.json"),
        ("./.claude/../prices.json", "prices.json"),
        ("sub/../../outside.json", None),
        ("/elsewhere/x.json", None),
    ],
)
def test_repository_path_decides_inside_or_outside_by_the_words(tmp_path: Path, value, expected):
    assert repository_path(value, tmp_path) == expected


def test_an_absolute_path_into_the_checkout_is_inside(tmp_path: Path):
    assert repository_path(tmp_path / "a" / "b.json", tmp_path) == "a/b.json"


def test_a_path_through_the_checkouts_real_name_is_inside(tmp_path: Path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    assert repository_path(real / "x.json", tmp_path / "link") == "x.json"


def _tree(files: dict[str, str], workspace: Path) -> TrustedTree:
    return TrustedTree("main", workspace, files.get)


def test_inside_the_checkout_the_tree_wins_over_the_disk(tmp_path: Path):
    (tmp_path / "s.json").write_text('{"from": "head"}')
    tree = _tree({"s.json": '{"from": "main"}'}, tmp_path)
    assert read_named_file("s.json", "--settings", tree, tmp_path) == '{"from": "main"}'


def test_a_file_only_the_checkout_has_is_refused_in_one_line(tmp_path: Path):
    (tmp_path / "s.json").write_text("{}")
    with pytest.raises(SettingsError) as caught:
        read_named_file("s.json", "--settings", _tree({}, tmp_path), tmp_path)
    assert caught.value.message.startswith("--settings s.json: not on the default branch main")
    assert "\n" not in caught.value.one_line()


def test_a_file_outside_the_checkout_is_read_from_disk(tmp_path: Path):
    outside = tmp_path / "runner_temp" / "s.json"
    outside.parent.mkdir()
    outside.write_text('{"ok": 1}')
    workspace = tmp_path / "ws"
    workspace.mkdir()
    assert read_named_file(str(outside), "--settings", _tree({}, workspace), workspace) == '{"ok": 1}'


def test_without_a_tree_files_are_read_from_the_workspace(tmp_path: Path):
    (tmp_path / "p.json").write_text("[]")
    assert read_named_file("p.json", "--price-table", None, tmp_path) == "[]"
    with pytest.raises(SettingsError, match=r"missing\.json: cannot read it"):
        read_named_file("missing.json", "--price-table", None, tmp_path)


def test_inline_settings_are_not_a_path(tmp_path: Path):
    assert read_settings_value(' {"a": 1}', "--settings", _tree({}, tmp_path), tmp_path) == '{"a": 1}'
