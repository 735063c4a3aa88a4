"""Pure tests of runner/review/selection.py: exclusion, ranking and packing into a budget."""

from __future__ import annotations

import tracemalloc

from runner.flow.context import estimate_tokens
from runner.flow.suggestions import parse_patch
from runner.platforms.base import ChangedFile
from runner.review.selection import DEFAULT_EXCLUDES, rank_tier, render_diff, select_files


def changed(path: str, lines: int = 1, status: str = "modified", patch: str | None = "") -> ChangedFile:
    if patch == "":
        patch = f"@@ -1,0 +1,{lines} @@\n" + "".join(f"+line {n} of {path}\n" for n in range(lines))
    return ChangedFile(path, status, lines, 0, patch)


def paths(files: tuple[ChangedFile, ...]) -> list[str]:
    return [f.path for f in files]


def test_default_excludes_lock_vendored_and_generated_files():
    files = [
        changed("src/app.py"),
        changed("web/package-lock.json"),
        changed("go.sum"),
        changed("vendor/lib/a.go"),
        changed("svc/vendor/b.go"),
        changed("ui/node_modules/x/index.js"),
        changed("static/app.min.js"),
        changed("api/v1/api_pb2.py"),
        changed("dist/bundle.js"),
        changed("src/dist/keep.py"),  # only the root dist/ is build output
        changed("ui/__snapshots__/a.snap"),
    ]
    sel = select_files(files, budget_tokens=100_000)
    assert paths(sel.included) == ["src/app.py", "src/dist/keep.py"]
    why = dict(sel.excluded)
    assert why["web/package-lock.json"] == "lock file" and why["svc/vendor/b.go"] == "vendored"
    assert why["static/app.min.js"] == "generated"
    assert "package-lock.json" in DEFAULT_EXCLUDES


def test_includes_override_excludes_and_custom_patterns_say_which():
    files = [changed("go.sum"), changed("gen/x.py"), changed("src/a.py")]
    sel = select_files(
        files, budget_tokens=10_000, excludes=(*DEFAULT_EXCLUDES, "gen/"), includes=("go.sum",)
    )
    assert paths(sel.included) == ["go.sum", "src/a.py"]
    assert sel.excluded == (("gen/x.py", "matches gen/"),)
    assert select_files(files, budget_tokens=10_000, excludes=()).excluded == ()


def test_ranking_source_tests_docs_deleted_then_size():
    files = [
        changed("README.md", 50),
        changed("tests/test_a.py", 40),
        changed("src/small.py", 1),
        changed("src/big.py", 30),
        changed("src/gone.py", 100, status="removed"),
        changed("web/button.test.ts", 5),
        changed("config/app.yaml", 5),
        changed("Makefile", 2),
    ]
    sel = select_files(files, budget_tokens=100_000)
    assert paths(sel.included) == [
        "src/big.py", "Makefile", "src/small.py", "tests/test_a.py", "web/button.test.ts",
        "README.md", "config/app.yaml", "src/gone.py",
    ]  # fmt: skip
    assert rank_tier(changed("LICENSE")) == 2


def test_budget_packing_skips_what_does_not_fit_and_keeps_filling():
    big, small1, small2 = changed("src/big.py", 200), changed("src/s1.py", 3), changed("src/s2.py", 2)
    one = estimate_tokens(render_diff(select_files([small1], budget_tokens=10**6)))
    two = estimate_tokens(render_diff(select_files([small2], budget_tokens=10**6)))
    sel = select_files([big, small1, small2], budget_tokens=one + two + 1)
    assert paths(sel.included) == ["src/s1.py", "src/s2.py"] and paths(sel.not_fitting) == ["src/big.py"]
    assert estimate_tokens(render_diff(sel)) <= sel.diff_tokens <= one + two + 1
    assert select_files([small1], budget_tokens=0).not_fitting == (small1,)


def test_files_without_a_patch_do_not_fit():
    sel = select_files([changed("huge.py", 10, patch=None), changed("a.py")], budget_tokens=10_000)
    assert paths(sel.included) == ["a.py"] and paths(sel.not_fitting) == ["huge.py"]


def test_render_diff_is_a_parseable_unified_diff():
    files = [
        changed("src/a.py", 2),
        changed("src/new.py", 1, status="added"),
        ChangedFile("src/b.py", "renamed", 1, 1, "@@ -1 +1 @@\n-x\n+y", previous_path="src/old.py"),
    ]
    text = render_diff(select_files(files, budget_tokens=10_000))
    assert "diff --git a/src/old.py b/src/b.py\n--- a/src/old.py\n+++ b/src/b.py\n@@ -1 +1 @@" in text
    assert "--- /dev/null\n+++ b/src/new.py" in text
    parsed = parse_patch(text)
    assert sorted(p.path for p in parsed) == ["src/a.py", "src/b.py", "src/new.py"]
    assert all(len(p.hunks) == 1 for p in parsed)


def five_thousand_changed_files():
    """5,000 changed files of 20 added lines: sources, tests, docs, vendored and generated code."""
    kinds = [
        "src/pkg{}/mod{}.py",
        "tests/test_{}_{}.py",
        "docs/{}/{}.md",
        "vendor/{}/{}.go",
        "gen/{}_{}_pb2.py",
    ]
    return [changed(kinds[n % 5].format(n // 100, n), 20) for n in range(5_000)]


def test_five_thousand_files_and_a_hundred_thousand_lines_in_budget():
    files = five_thousand_changed_files()
    assert sum(f.additions for f in files) == 100_000
    budget = 150_000
    tracemalloc.start()
    sel = select_files(files, budget_tokens=budget)
    diff = render_diff(sel)
    peak = tracemalloc.get_traced_memory()[1]  # allocations, not time: the same on any machine
    tracemalloc.stop()
    assert peak < 50 * 2**20  # how long it takes: bench/speed.py
    assert estimate_tokens(diff) <= sel.diff_tokens <= budget
    assert len(sel.excluded) == 2_000 and sel.not_fitting
    assert len(sel.included) + len(sel.not_fitting) + len(sel.excluded) == 5_000
    assert all(f.path.startswith("src/") for f in sel.included[:100])  # source ranked first
