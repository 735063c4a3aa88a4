"""Agent definition files and --agents JSON parse as Claude Code reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.agent.agent_defs import load_agent_dir, parse_agent_file, parse_agents_json

REVIEWER = """---
name: code-reviewer
description: Reviews code for quality. Use PROACTIVELY after edits.
tools: Read, Grep,  Glob
model: haiku
permissionMode: plan
---

You are a careful reviewer.

Point at lines.
"""


def test_a_full_agent_file_gives_every_field() -> None:
    agent = parse_agent_file(REVIEWER, source="x.md")
    assert agent.name == "code-reviewer"
    assert agent.description.startswith("Reviews code")
    assert agent.tools == ("Read", "Grep", "Glob")
    assert agent.model == "haiku"
    assert agent.permission_mode == "plan"
    assert agent.prompt == "You are a careful reviewer.\n\nPoint at lines."
    assert agent.source == "x.md"


def test_absent_tools_and_inherit_model_mean_the_parents() -> None:
    agent = parse_agent_file("---\nname: a\ndescription: d\nmodel: inherit\n---\nbody\n", source="s")
    assert agent.tools is None and agent.model is None and agent.permission_mode is None


def test_yaml_lists_quotes_and_block_descriptions() -> None:
    text = "---\nname: 'b'\ndescription: >\n  first line\n  second\ntools:\n  - Read\n  - Bash\n---\nbody"
    agent = parse_agent_file(text, source="s", namespace="plug")
    assert agent.name == "plug:b"
    assert agent.description == "first line second"
    assert agent.tools == ("Read", "Bash")
    assert parse_agent_file("---\nname: c\ndescription: d\ntools: []\n---\nb", source="s").tools == ()
    listed = parse_agent_file("---\nname: c\ndescription: d\ntools: [Read, Edit]\n---\nb", source="s")
    assert listed.tools == ("Read", "Edit")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no header\n", "no frontmatter"),
        ("---\nname: a\ndescription: d\n", "never closed"),
        ("---\ndescription: d\n---\nbody", "needs a name"),
        ("---\nname: a\n---\nbody", "needs a description"),
        ("---\nname: a\ndescription: d\n---\n", "no system prompt"),
        ("---\nname: a b\ndescription: d\n---\nbody", "may hold only"),
        ("---\nname: a\ndescription: d\npermissionMode: yolo\n---\nbody", "permissionMode 'yolo'"),
    ],
)
def test_bad_files_say_what_to_fix_in_one_line(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as info:
        parse_agent_file(text, source="s")
    assert "\n" not in str(info.value)


def test_a_directory_loads_good_files_and_warns_once_per_bad_one(tmp_path: Path) -> None:
    (tmp_path / "review.md").write_text(REVIEWER)
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "helper.md").write_text("---\nname: helper\ndescription: d\n---\nHelp.")
    (tmp_path / "broken.md").write_text("just text")
    (tmp_path / "twin.md").write_text(REVIEWER)
    (tmp_path / "notes.txt").write_text("ignored")
    warnings: list[str] = []
    agents = load_agent_dir(tmp_path, namespace=None, warn=warnings.append)
    assert sorted(a.name for a in agents) == ["code-reviewer", "helper"]
    assert len(warnings) == 2
    assert any("broken.md" in w and "no frontmatter" in w for w in warnings)
    assert any("twin.md" in w and "already defined" in w for w in warnings)
    assert load_agent_dir(tmp_path / "missing", warn=warnings.append) == []


def test_agents_json_uses_the_prompt_key() -> None:
    (agent,) = parse_agents_json('{"rev": {"description": "d", "prompt": "Review.", "tools": ["Read"]}}')
    assert (agent.name, agent.prompt, agent.tools, agent.source) == ("rev", "Review.", ("Read",), "--agents")
    with pytest.raises(ValueError, match="needs a non-empty prompt"):
        parse_agents_json('{"rev": {"description": "d"}}')
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_agents_json("{")
