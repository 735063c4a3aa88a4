import datetime as dt

from runner.agent.prompt import build_system_prompt, find_memory_files, trusted_memory


def test_claude_md_files_from_repo_root_down_to_cwd(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "CLAUDE.md").write_text("root rules")
    (repo / "pkg" / "sub").mkdir(parents=True)
    (repo / "pkg" / "CLAUDE.md").write_text("pkg rules")
    (repo / "pkg" / "sub" / ".claude").mkdir()
    (repo / "pkg" / "sub" / ".claude" / "CLAUDE.md").write_text("sub rules")
    (tmp_path / "CLAUDE.md").write_text("outside the repo: never read")
    (repo / "other").mkdir()
    (repo / "other" / "CLAUDE.md").write_text("sibling: never read")
    files = find_memory_files(repo / "pkg" / "sub")
    assert [f.text for f in files] == ["root rules", "pkg rules", "sub rules"]


def test_system_prompt_order_default_append_memory(tmp_path):
    (tmp_path / "CLAUDE.md").write_text("Use tabs.")
    prompt = build_system_prompt(tmp_path, append="Be brief.", today=dt.date(2026, 1, 2))
    assert prompt.index("non-interactively") < prompt.index("Be brief.") < prompt.index("Use tabs.")
    assert "2026-01-02" in prompt and str(tmp_path) in prompt


def test_system_prompt_replacement_keeps_project_instructions(tmp_path):
    (tmp_path / "CLAUDE.md").write_text("Use tabs.")
    prompt = build_system_prompt(tmp_path, replace="You review code.")
    assert prompt.startswith("You review code.")
    assert "non-interactively" not in prompt and "Use tabs." in prompt


def test_huge_claude_md_is_cut(tmp_path):
    (tmp_path / "CLAUDE.md").write_text("x" * 100_000)
    (text,) = [f.text for f in find_memory_files(tmp_path)]
    assert len(text) < 41_000 and text.endswith("characters]")


def test_claude_md_imports_are_resolved_relative_to_the_file_inside_the_repository(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "docs").mkdir()
    (repo / ".claude").mkdir()
    (repo / "CLAUDE.md").write_text(
        "Root. See @docs/style.md and @missing.md.\n\n```\n@docs/in-code.md\n```\n"
    )
    (repo / "docs" / "style.md").write_text(
        "Style: tabs. Also @./testing.md and `@nope.md` and @../CLAUDE.md"
    )
    (repo / "docs" / "testing.md").write_text("Tests: pytest. Loop back to @style.md")
    (repo / "docs" / "in-code.md").write_text("never: inside a code block")
    (repo / ".claude" / "CLAUDE.md").write_text(
        "Dot. @../docs/testing.md @/etc/passwd @~/.ssh/id_rsa @../../secret"
    )
    (tmp_path / "secret").write_text("never: outside the repository")
    (repo / "docs" / "link.md").symlink_to(tmp_path / "secret")
    files = find_memory_files(repo)
    names = [f.path.relative_to(repo).as_posix() for f in files]
    # each file once, imports right after what imported them: testing.md is not repeated
    assert names == ["CLAUDE.md", "docs/style.md", "docs/testing.md", ".claude/CLAUDE.md"]
    assert not any("never" in f.text for f in files)


def test_imports_stop_at_five_hops(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "CLAUDE.md").write_text("@f1.md")
    for i in range(1, 9):
        (tmp_path / f"f{i}.md").write_text(f"level {i} @f{i + 1}.md")
    texts = [f.text for f in find_memory_files(tmp_path)]
    assert texts[-1] == "level 5 @f6.md" and len(texts) == 6


def test_trusted_memory_reads_imports_at_the_trusted_ref_only():
    tree = {"CLAUDE.md": "Use @docs/rules.md", "docs/rules.md": "no tabs", ".claude/CLAUDE.md": None}
    asked: list[str] = []

    def read(path: str) -> str | None:
        asked.append(path)
        return tree.get(path)

    files = trusted_memory({"CLAUDE.md": tree["CLAUDE.md"], ".claude/CLAUDE.md": None}, "main", read)
    assert [(str(f.path), f.text) for f in files] == [
        ("main:CLAUDE.md", "Use @docs/rules.md"),
        ("main:docs/rules.md", "no tabs"),
    ]
    assert asked == ["docs/rules.md"]


def test_claude_md_is_framed_as_the_projects_authoritative_instructions(tmp_path):
    (tmp_path / "CLAUDE.md").write_text("Use tabs.")
    prompt = build_system_prompt(tmp_path)
    assert (
        f"Codebase instructions from {tmp_path / 'CLAUDE.md'}: the project's own rules. They override"
        in prompt
    )


def test_default_prompt_guidance_and_the_local_git_rule(tmp_path):
    local = build_system_prompt(tmp_path, memory=[])
    for line in (
        "- Do what was asked, no more",
        "Write and Edit refuse an existing file not read in this session",
        "a failed check is reported with its output",
        "- Make independent tool calls in parallel",
        "- Your last message is what the requester reads: answer a question directly",
        "- Commit, push or create branches only when asked.",
    ):
        assert line in local
    flow = build_system_prompt(tmp_path, memory=[], local_git=False)
    assert "Commit, push" not in flow and flow.count("\n") == local.count("\n") - 1
