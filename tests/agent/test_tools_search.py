"""Glob, Grep and LS on a real tree, through the real rg binary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.agent.tools import glob_walk, rg, search
from runner.agent.tools.base import ToolContext, ToolError
from runner.agent.tools.mtimes import newest_first
from runner.agent.tools.search import LS, Glob, Grep


def touch(path: Path, text: str = "", mtime: float | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = Path(os.path.realpath(tmp_path / "ws"))
    touch(root / "src" / "app.py", "import os\n\ndef main():\n    return os.getcwd()\n", 1_000_000)
    touch(root / "src" / "util.py", "def helper():\n    return 'Main'\n", 3_000_000)
    touch(root / "src" / "web" / "page.ts", "export const main = 1;\n", 2_000_000)
    touch(root / "README.md", "# Demo\nmain entry point\n", 500_000)
    touch(root / ".github" / "workflows" / "ci.yml", "run: main\n", 400_000)
    touch(root / ".git" / "config", "main = in git\n")
    touch(root / ".gitignore", "build/\n", 100)
    touch(root / "build" / "out.py", "main = 'generated'\n", 4_000_000)
    touch(tmp_path / "outside" / "secret.py", "main = 'secret'\n")
    return root


@pytest.fixture
def ctx(ws: Path) -> ToolContext:
    return ToolContext(cwd=ws, subprocess_env={"PATH": os.environ.get("PATH", "")})


def run(tool: object, ctx: ToolContext, **args: object) -> str:
    assert isinstance(tool, (Glob, Grep, LS))
    result = tool.run(args, ctx)
    assert not result.is_error and isinstance(result.content, str)
    return result.content


# --- Glob -----------------------------------------------------------------------------------


def test_glob_lists_newest_first_including_ignored_but_not_git(ctx: ToolContext) -> None:
    # Like Claude Code's Glob: .gitignore'd and hidden files are listed, .git never is.
    assert run(Glob(), ctx, pattern="**/*.py") == "build/out.py\nsrc/util.py\nsrc/app.py"
    assert run(Glob(), ctx, pattern="*.{ts,yml}") == "src/web/page.ts\n.github/workflows/ci.yml"


def test_glob_path_and_absolute_pattern(ws: Path, ctx: ToolContext) -> None:
    assert run(Glob(), ctx, pattern="*.py", path="src") == "src/util.py\nsrc/app.py"
    assert run(Glob(), ctx, pattern=f"{ws}/src/*.py") == "src/util.py\nsrc/app.py"
    assert run(Glob(), ctx, pattern="nothing*.rs") == "No files found"


def test_glob_is_confined(tmp_path: Path, ws: Path, ctx: ToolContext) -> None:
    (ws / "escape").symlink_to(tmp_path / "outside", target_is_directory=True)
    assert "secret.py" not in run(Glob(), ctx, pattern="**/*.py")  # symlinked dirs are not followed
    with pytest.raises(ToolError, match="outside the workspace"):
        Glob().run({"pattern": "*.py", "path": str(tmp_path / "outside")}, ctx)
    with pytest.raises(ToolError, match="outside the workspace"):
        Glob().run({"pattern": str(tmp_path / "outside" / "*.py")}, ctx)


def test_glob_caps_results_with_a_note(ws: Path, ctx: ToolContext) -> None:
    for i in range(130):
        touch(ws / "many" / f"f{i:03}.txt", mtime=10_000 + i)
    lines = run(Glob(), ctx, pattern="many/*.txt").split("\n")
    assert len(lines) == 101
    assert lines[0] == "many/f129.txt" and lines[99] == "many/f030.txt"
    assert lines[100] == "[the 100 newest of 130 files; use a narrower pattern or path]"


# --- Grep -----------------------------------------------------------------------------------


def test_grep_files_with_matches_is_the_default_newest_first(ctx: ToolContext) -> None:
    # build/ is .gitignore'd, .git is excluded, .github (hidden) is searched.
    assert run(Grep(), ctx, pattern="main") == (
        "Found 4 files\nsrc/web/page.ts\nsrc/app.py\nREADME.md\n.github/workflows/ci.yml"
    )


def test_grep_content_mode_with_line_numbers_and_case(ctx: ToolContext) -> None:
    assert run(Grep(), ctx, pattern="main", output_mode="content", glob="*.py") == "src/app.py:3:def main():"
    out = run(Grep(), ctx, pattern="MAIN", output_mode="content", glob="*.py", **{"-i": True})
    assert out == "src/app.py:3:def main():\nsrc/util.py:2:    return 'Main'"
    out = run(Grep(), ctx, pattern="main", output_mode="content", path="src/app.py", **{"-n": False})
    assert out == "src/app.py:def main():"


def test_grep_context_lines(ctx: ToolContext) -> None:
    out = run(Grep(), ctx, pattern="def main", output_mode="content", path="src/app.py", **{"-C": 1})
    assert out == "src/app.py-2-\nsrc/app.py:3:def main():\nsrc/app.py-4-    return os.getcwd()"
    out = run(Grep(), ctx, pattern="def main", output_mode="content", path="src", **{"-B": 2})
    assert out == "src/app.py-1-import os\nsrc/app.py-2-\nsrc/app.py:3:def main():"
    out = run(Grep(), ctx, pattern="import", output_mode="content", path="src", **{"-A": 1})
    assert out == "src/app.py:1:import os\nsrc/app.py-2-"


def test_grep_count_type_and_head_limit(ctx: ToolContext) -> None:
    assert run(Grep(), ctx, pattern="return", output_mode="count") == (
        "src/app.py:1\nsrc/util.py:1\nFound 2 matching lines in 2 files"
    )
    assert run(Grep(), ctx, pattern="main", type="ts") == "Found 1 file\nsrc/web/page.ts"
    assert run(Grep(), ctx, pattern="main", head_limit=2) == (
        "Found 4 files\nsrc/web/page.ts\nsrc/app.py\n[head_limit 2: 2 more lines not shown]"
    )


def test_grep_multiline(ws: Path, ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="Consider enabling multiline mode"):
        Grep().run({"pattern": r"main\(\):\n\s+return", "output_mode": "content"}, ctx)
    out = run(Grep(), ctx, pattern=r"main\(\):.\s+return", output_mode="content", multiline=True)
    assert out == "src/app.py:3:def main():\nsrc/app.py:4:    return os.getcwd()"


def test_grep_no_match_and_errors(tmp_path: Path, ws: Path, ctx: ToolContext) -> None:
    assert run(Grep(), ctx, pattern="no-such-text-anywhere") == "No matches found"
    assert run(Grep(), ctx, pattern="-leading-dash") == "No matches found"  # not taken as a flag
    with pytest.raises(ToolError, match=r"Grep failed: (?s:.*)regex parse error"):
        Grep().run({"pattern": "(unclosed"}, ctx)
    with pytest.raises(ToolError, match="unrecognized file type: nosuchtype"):
        Grep().run({"pattern": "x", "type": "nosuchtype"}, ctx)
    with pytest.raises(ToolError, match="output_mode must be one of"):
        Grep().run({"pattern": "x", "output_mode": "lines"}, ctx)
    with pytest.raises(ToolError, match="outside the workspace"):
        Grep().run({"pattern": "main", "path": str(tmp_path / "outside")}, ctx)


def test_grep_does_not_follow_symlinks_out(tmp_path: Path, ws: Path, ctx: ToolContext) -> None:
    (ws / "src" / "leak.py").symlink_to(tmp_path / "outside" / "secret.py")
    (ws / "leakdir").symlink_to(tmp_path / "outside", target_is_directory=True)
    assert run(Grep(), ctx, pattern="secret") == "No matches found"


def test_grep_caps_output(ws: Path, ctx: ToolContext) -> None:
    touch(ws / "big.txt", "needle " + "x" * 90 + "\n" * 1 + ("needle line\n" * 5000))
    out = run(Grep(), ctx, pattern="needle", output_mode="content", path="big.txt")
    assert len(out) < 31_000 and out.endswith(
        "[output cut at 30000 characters; narrow the search or use head_limit]"
    )


def test_missing_rg_is_reported_with_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(rg.sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setattr(rg.sysconfig, "get_path", lambda name: str(tmp_path / "bin"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolError, match="install the `ripgrep` Python package"):
        rg.find_rg()


# --- LS -------------------------------------------------------------------------------------


def test_ls_prints_a_tree_without_git(ws: Path, ctx: ToolContext) -> None:
    touch(ws / "node_modules" / "dep" / "index.js")
    assert run(LS(), ctx, path=".") == "\n".join(
        [
            f"- {ws}/",
            "  - .github/",
            "    - workflows/",
            "      - ci.yml",
            "  - build/",
            "    - out.py",
            "  - node_modules/ …",
            "  - src/",
            "    - web/",
            "      - page.ts",
            "    - app.py",
            "    - util.py",
            "  - .gitignore",
            "  - README.md",
            "[directories marked … were not expanded; LS them to see inside]",
        ]
    )


def test_ls_ignore_and_subdirectory(ws: Path, ctx: ToolContext) -> None:
    assert run(LS(), ctx, path="src", ignore=["*.ts", "util.py"]) == f"- {ws}/src/\n  - web/\n  - app.py"


def test_ls_caps_entries(ws: Path, ctx: ToolContext) -> None:
    for i in range(1100):
        touch(ws / "flat" / f"{i:04}")
    out = run(LS(), ctx, path="flat")
    lines = out.split("\n")
    assert len(lines) == 1 + 1000 + 1
    assert lines[-1] == "[stopped at 1000 entries; LS a subdirectory or use Glob]"


def test_ls_errors(tmp_path: Path, ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match=r"README\.md is not a directory; use Read for files"):
        LS().run({"path": "README.md"}, ctx)
    with pytest.raises(ToolError, match="outside the workspace"):
        LS().run({"path": str(tmp_path)}, ctx)


def test_glob_leaves_out_a_file_removed_after_rg_listed_it(tmp_path: Path) -> None:
    # rg lists, then Glob stamps each path: one gone by then is not shown nor counted.
    touch(tmp_path / "a.py", mtime=2_000)
    touch(tmp_path / "b.py", mtime=2_000)
    touch(tmp_path / "c.py", mtime=1_000)
    # rg's newest-first list with a file gone since: the two newest are the two that exist.
    mtimes, paths = glob_walk._head(b"b.py\0gone.py\0a.py\0c.py\0", bytes(tmp_path) + b"/", limit=2)
    assert b"gone.py" not in paths
    assert newest_first(mtimes, paths)[:2] == [b"a.py", b"b.py"]  # a tie: by path


def test_glob_reads_rg_output_as_it_comes(
    ws: Path, ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small reads from rg split lines across chunks: every path still arrives whole, once.
    for i in range(300):
        touch(ws / "deep" / f"dir{i % 7}" / f"name_{i:04}.txt", mtime=50_000 + i)
    real_read = os.read
    monkeypatch.setattr(search.os, "read", lambda fd, n: real_read(fd, 37))
    lines = run(Glob(), ctx, pattern="deep/**/*.txt").split("\n")
    assert lines[0] == "deep/dir5/name_0299.txt" and lines[99] == "deep/dir4/name_0200.txt"
    assert lines[100] == "[the 100 newest of 300 files; use a narrower pattern or path]"


# --- names, ties and sizes at the edges ------------------------------------------------------


def test_names_with_a_newline_or_a_colon_are_one_entry(ws: Path, ctx: ToolContext) -> None:
    touch(ws / "odd" / "new\nline.py", "needle\n", 9_000_000)
    touch(ws / "odd" / "a:b.py", "needle\nneedle\n", 8_000_000)
    assert run(Glob(), ctx, pattern="odd/*.py") == "odd/new\nline.py\nodd/a:b.py"
    assert run(Grep(), ctx, pattern="needle") == "Found 2 files\nodd/new\nline.py\nodd/a:b.py"
    # Shown as rg prints them; the summary counts files, not printed lines.
    assert run(Grep(), ctx, pattern="needle", output_mode="count") == (
        "odd/a:b.py:2\nodd/new\nline.py:1\nFound 3 matching lines in 2 files"
    )
    assert run(Grep(), ctx, pattern="needle", output_mode="content") == (
        "odd/a:b.py:1:needle\nodd/a:b.py:2:needle\nodd/new\nline.py:1:needle"
    )


def test_grep_orders_files_as_rg_walks_them_with_context_separators(ws: Path, ctx: ToolContext) -> None:
    # rg searches in parallel; the output is put back in the order of a walk by name: a
    # directory's files before its next sibling ("p/z" before "p-b", "/" sorts first).
    for name in ("p.txt", "p-b/x.txt", "p/z.txt", "p/a/deep.txt"):
        touch(ws / "tree" / name, "one\nhit\ntwo\nthree\nfour\nhit\n")
    out = run(Grep(), ctx, pattern="hit", output_mode="content", path="tree", **{"-C": 1})
    walk = ["tree/p/a/deep.txt", "tree/p/z.txt", "tree/p-b/x.txt", "tree/p.txt"]
    assert out == "\n--\n".join(f"{f}-1-one\n{f}:2:hit\n{f}-3-two\n--\n{f}-5-four\n{f}:6:hit" for f in walk)
    counts = run(Grep(), ctx, pattern="hit", output_mode="count", path="tree")
    assert counts == "\n".join([*(f"{f}:2" for f in walk), "Found 8 matching lines in 4 files"])


def test_grep_keeps_rgs_note_on_a_binary_file_with_the_file(ws: Path, ctx: ToolContext) -> None:
    touch(ws / "bin" / "a.txt", "hit\n")
    (ws / "bin" / "b.dat").write_bytes(b"hit\n" + b"y" * 70_000 + b"\0hit\n")
    touch(ws / "bin" / "c.txt", "hit\n")
    out = run(Grep(), ctx, pattern="hit", output_mode="content", path="bin").split("\n")
    assert out[0] == "bin/a.txt:1:hit" and out[1] == "bin/b.dat:1:hit"
    assert (
        out[2].startswith("bin/b.dat: WARNING: stopped searching binary file") and out[3] == "bin/c.txt:1:hit"
    )


def test_grep_head_limit_on_a_huge_match_count(ws: Path, ctx: ToolContext) -> None:
    touch(ws / "huge" / "b.txt", "hit\n" * 20_000)
    touch(ws / "huge" / "a.txt", "hit\n" * 5)
    out = run(Grep(), ctx, pattern="hit", output_mode="content", path="huge", head_limit=6)
    assert out == "\n".join(
        [
            *(f"huge/a.txt:{i}:hit" for i in range(1, 6)),
            "huge/b.txt:1:hit",
            "[head_limit 6: 19999 more lines not shown]",
        ]
    )
    out = run(Grep(), ctx, pattern="hit", output_mode="count", path="huge", head_limit=1)
    assert (
        out == "huge/a.txt:5\nFound 20005 matching lines in 2 files\n[head_limit 1: 1 more lines not shown]"
    )


def test_grep_output_past_the_cap_keeps_the_first_files_by_path(
    ws: Path, ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past the cap on rg's output, rg walks in path order itself: the lines kept are those of
    # the first files, not of whichever files a parallel search finished first.
    for i in range(40):
        touch(ws / "many" / f"f{i:02}.txt", f"hit {i:02} " + "x" * 30 + "\n")
    monkeypatch.setattr(rg, "RG_MAX_BYTES", 400)  # room for 7 of the 40 lines (54 bytes each)
    out = run(Grep(), ctx, pattern="hit", output_mode="content", path="many")
    assert out.split("\n") == [
        *(f"many/f{i:02}.txt:1:hit {i:02} " + "x" * 30 for i in range(7)),
        "[rg output was cut; narrow the search]",
    ]


def test_glob_breaks_mtime_ties_by_path_across_the_tree(ws: Path, ctx: ToolContext) -> None:
    # 150 files with one mtime in several top-level directories (listed by separate rg processes):
    # the 100 shown are the first by path, whoever listed them.
    names = [f"{top}/f{i:03}.log" for top in ("t1", "t2", "t3") for i in range(50)]
    for name in names:
        touch(ws / name, mtime=7_000_000)
    touch(ws / "t3" / "newest.log", mtime=7_000_001)
    lines = run(Glob(), ctx, pattern="**/*.log").split("\n")
    assert lines[0] == "t3/newest.log"
    assert lines[1:100] == sorted(names)[:99]
    assert lines[100] == "[the 100 newest of 151 files; use a narrower pattern or path]"


def test_glob_counts_each_file_once_whatever_the_top_level_names(ws: Path, ctx: ToolContext) -> None:
    # Plain top-level names (the tree is split between rg processes) and names rg would read as
    # glob syntax, "[1]" and "*" (not split): each file is listed and counted once.
    for tree, tops in (("plain", ("a", "a b", "a-1", "sq1")), ("syntax", ("sq[1]", "star*", "sq1", "a"))):
        for top in tops:
            for i in range(30):
                touch(ws / tree / top / f"f{i:02}.log", mtime=8_000_000 + i)
        touch(ws / tree / "f.log", mtime=9_000_000)
        lines = run(Glob(), ctx, pattern="**/*.log", path=tree).split("\n")
        assert lines[0] == f"{tree}/f.log" and len(set(lines)) == len(lines) == 101
        assert lines[-1] == "[the 100 newest of 121 files; use a narrower pattern or path]"
        assert sorted(lines[1:5]) == sorted(f"{tree}/{top}/f29.log" for top in tops)
