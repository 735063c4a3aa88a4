"""Pure tests of runner/flow/suggestions.py: the agent's patch -> suggestions -> placement -> bodies."""

from __future__ import annotations

import subprocess
from pathlib import Path

from runner import git
from runner.flow.suggestions import (
    fallback_diff,
    github_body,
    gitlab_body,
    inline_comment,
    parse_patch,
    place,
    report,
    suggestions_for,
    visible_lines,
)
from runner.platforms.base import ChangedFile

BASE = [f"line {n}" for n in range(1, 21)]


def agent_patch(tmp_path: Path, before: dict[str, str], after: dict[str, str | None]) -> str:
    """The real `git.worktree_diff --unified=0` of editing `before` into `after` (None: delete)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    run = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*run, "init", "-q"], cwd=repo, check=True)
    for path, text in before.items():
        (repo / path).write_text(text)
    subprocess.run([*run, "add", "."], cwd=repo, check=True)
    subprocess.run([*run, "commit", "-qm", "head"], cwd=repo, check=True)
    start = git.head_sha(repo)
    for path, text in after.items():
        if text is None:
            (repo / path).unlink()
        else:
            (repo / path).write_text(text)
    return git.worktree_diff(repo, start, unified=0)


def text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def mr_file(path: str, patch: str, status: str = "modified") -> ChangedFile:
    return ChangedFile(path=path, status=status, patch=patch)


# The change request's own diff of calc.txt: lines 8-12 visible on the new side (10 added).
MR_PATCH = "@@ -8,4 +8,5 @@\n line 8\n line 9\n+line 10\n line 11\n line 12\n"
MR_FILES = [mr_file("calc.txt", MR_PATCH)]


def test_visible_lines_maps_new_lines_with_old_numbers_for_context():
    shown = visible_lines(MR_PATCH)
    assert shown == {
        8: ("line 8", 8),
        9: ("line 9", 9),
        10: ("line 10", None),
        11: ("line 11", 10),
        12: ("line 12", 11),
    }


def test_a_one_line_edit_is_a_suggestion_on_that_line(tmp_path):
    after = BASE.copy()
    after[9] = "line ten"
    (patch,) = parse_patch(agent_patch(tmp_path, {"calc.txt": text(BASE)}, {"calc.txt": text(after)}))
    (s,) = suggestions_for([patch])
    assert (s.path, s.start_line, s.end_line, s.replacement_lines) == ("calc.txt", 10, 10, ("line ten",))
    (placed,), unplaced = place([s], MR_FILES)
    assert unplaced == [] and placed.anchor_old_line is None  # an added line: new_line alone
    assert gitlab_body(placed).endswith("```suggestion:-0+0\nline ten\n```")
    comment = inline_comment(placed, "gitlab")
    assert (comment.path, comment.line, comment.start_line, comment.old_line) == ("calc.txt", 10, None, None)


def test_a_range_is_anchored_on_its_last_line_and_reaches_up(tmp_path):
    after = BASE.copy()
    after[8:11] = ["nine", "ten", "eleven"]
    patches = parse_patch(agent_patch(tmp_path, {"calc.txt": text(BASE)}, {"calc.txt": text(after)}))
    (placed,), _ = place(suggestions_for(patches), MR_FILES)
    assert (placed.start_line, placed.end_line, placed.size) == (9, 11, 3)
    assert "```suggestion:-2+0\nnine\nten\neleven\n```" in gitlab_body(placed)
    gl = inline_comment(placed, "gitlab")
    assert (gl.line, gl.old_line) == (11, 10)  # a context line: GitLab needs both numbers
    gh = inline_comment(placed, "github")
    assert (gh.start_line, gh.line) == (9, 11)
    assert "```suggestion\nnine\nten\neleven\n```" in github_body(placed)


def test_a_deletion_suggests_nothing_in_place_of_the_lines(tmp_path):
    after = BASE[:8] + BASE[10:]  # lines 9 and 10 removed
    patches = parse_patch(agent_patch(tmp_path, {"calc.txt": text(BASE)}, {"calc.txt": text(after)}))
    (s,) = suggestions_for(patches)
    assert (s.start_line, s.end_line, s.replacement_lines) == (9, 10, ())
    (placed,), _ = place([s], MR_FILES)
    assert gitlab_body(placed).endswith("```suggestion:-1+0\n```")


def test_an_insertion_repeats_the_line_it_follows(tmp_path):
    after = [*BASE[:9], "new a", "new b", *BASE[9:]]  # inserted after line 9
    patches = parse_patch(agent_patch(tmp_path, {"calc.txt": text(BASE)}, {"calc.txt": text(after)}))
    (s,) = suggestions_for(patches)
    assert (s.start_line, s.end_line, s.insert) == (9, 9, "after")
    (placed,), _ = place([s], MR_FILES)
    assert placed.replacement_lines == ("line 9", "new a", "new b") and placed.insert is None
    assert "```suggestion:-0+0\nline 9\nnew a\nnew b\n```" in gitlab_body(placed)


def test_an_insertion_at_the_top_goes_before_line_one(tmp_path):
    after = ["# header", *BASE]
    patches = parse_patch(agent_patch(tmp_path, {"calc.txt": text(BASE)}, {"calc.txt": text(after)}))
    (s,) = suggestions_for(patches)
    assert (s.start_line, s.insert) == (1, "before")
    top = [mr_file("calc.txt", "@@ -1,2 +1,3 @@\n line 1\n+line 2\n line 3\n")]
    (placed,), _ = place([s], top)
    assert placed.replacement_lines == ("# header", "line 1")


def test_edits_outside_the_diff_and_new_files_are_left_for_the_comment(tmp_path):
    after = BASE.copy()
    after[1] = "line two"  # line 2: not in the change request's diff
    after[9] = "line ten"
    diff = agent_patch(
        tmp_path, {"calc.txt": text(BASE)}, {"calc.txt": text(after), "new.txt": "brand new\n"}
    )
    patches = parse_patch(diff)
    assert [(p.path, p.suggestable) for p in patches] == [("calc.txt", True), ("new.txt", False)]
    placed, unplaced = place(suggestions_for(patches), MR_FILES)
    assert [s.end_line for s in placed] == [10]
    assert [s.end_line for s in unplaced] == [2]
    fallback = fallback_diff(patches, unplaced)
    assert "-line 2\n+line two" in fallback and "+brand new" in fallback
    assert "line ten" not in fallback  # placed: not repeated
    assert fallback.startswith("diff --git a/calc.txt b/calc.txt")


def test_a_file_missing_from_the_diff_or_changed_since_is_not_placed(tmp_path):
    after = BASE.copy()
    after[9] = "line ten"
    patches = parse_patch(agent_patch(tmp_path, {"calc.txt": text(BASE)}, {"calc.txt": text(after)}))
    sugg = suggestions_for(patches)
    assert place(sugg, [mr_file("other.txt", MR_PATCH)]) == ([], sugg)
    moved = [mr_file("calc.txt", MR_PATCH.replace("+line 10", "+line 10 (rewritten)"))]
    assert place(sugg, moved) == ([], sugg)
    assert place(sugg, [mr_file("calc.txt", MR_PATCH, status="removed")]) == ([], sugg)


def test_deleted_files_are_not_suggested(tmp_path):
    patches = parse_patch(agent_patch(tmp_path, {"calc.txt": text(BASE)}, {"calc.txt": None}))
    assert [(p.path, p.suggestable) for p in patches] == [("calc.txt", False)]
    assert suggestions_for(patches) == []
    assert "deleted file mode" in fallback_diff(patches, [])


def test_renamed_files_are_anchored_with_their_old_path(tmp_path):
    after = BASE.copy()
    after[9] = "line ten"
    patches = parse_patch(agent_patch(tmp_path, {"calc.txt": text(BASE)}, {"calc.txt": text(after)}))
    renamed = [ChangedFile("calc.txt", "renamed", patch=MR_PATCH, previous_path="old_calc.txt")]
    (placed,), _ = place(suggestions_for(patches), renamed)
    assert inline_comment(placed, "gitlab").old_path == "old_calc.txt"


def test_backticks_in_the_replacement_get_a_longer_fence(tmp_path):
    after = BASE.copy()
    after[9] = "```python"
    patches = parse_patch(agent_patch(tmp_path, {"calc.txt": text(BASE)}, {"calc.txt": text(after)}))
    (placed,), _ = place(suggestions_for(patches), MR_FILES)
    assert "````suggestion:-0+0\n```python\n````" in gitlab_body(placed)


def test_a_cut_patch_keeps_its_last_hunk_out_of_suggestions():
    diff = (
        "diff --git a/calc.txt b/calc.txt\nindex 1..2 100644\n--- a/calc.txt\n+++ b/calc.txt\n"
        "@@ -10 +10 @@\n-line 10\n+line ten\n@@ -12,2 +12,2 @@\n-line 12\n"
        "[... diff truncated: 100 of 200 bytes shown ...]\n"
    )
    (patch,) = parse_patch(diff)
    assert [h.complete for h in patch.hunks] == [True, False]
    assert [s.end_line for s in suggestions_for([patch])] == [10]
    assert "@@ -12,2 +12,2 @@" in fallback_diff([patch], [])


def test_a_large_fallback_is_truncated_with_a_note():
    diff = "diff --git a/big b/big\nnew file mode 100644\n--- /dev/null\n+++ b/big\n@@ -0,0 +1,5000 @@\n"
    diff += "".join(f"+row {n}\n" for n in range(5000))
    fallback = fallback_diff(parse_patch(diff), [], max_chars=2000)
    assert len(fallback) < 2100 and fallback.endswith("not shown (the diff is too large for a comment)")


def test_report_counts_suggestions_and_fences_the_rest():
    out = report(posted=3, first_url="https://x/note_1", fallback="+```\n+x", noun="merge request")
    assert "3 suggestions were posted [on the diff](https://x/note_1): apply them" in out
    assert "````diff\n+```\n+x\n````" in out
    assert "nothing was pushed" in report(posted=0, first_url=None, fallback="")
