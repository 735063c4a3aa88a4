import datetime as dt

from runner.agent.prompt import build_system_prompt, find_memory_files


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
