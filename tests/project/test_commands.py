"""Slash commands and skills as Claude Code names and expands them (runner/project/commands.py,
command_expand.py): names from files, frontmatter, $ARGUMENTS / $1, @file, !`cmd`."""

from __future__ import annotations

from pathlib import Path

from runner.project.command_expand import MAX_FILE_CHARS, expand_command
from runner.project.commands import (
    load_commands,
    load_skills,
    merge_commands,
    parse_command,
    parse_invocation,
)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _expand(body: str, args: str = "", *, files=None, shell=None, trusted: bool = True, warnings=None):
    command = parse_command(body, name="c", source=Path("c.md"), trusted=trusted)
    return expand_command(
        command,
        args,
        read_file=lambda p: (files or {}).get(p),
        run_shell=shell or (lambda cmd: None),
        warn=(warnings if warnings is not None else []).append,
    )


def test_names_come_from_the_file_and_subdirectories_only_group_them(tmp_path: Path) -> None:
    _write(tmp_path / "commands" / "review.md", "---\ndescription: Review it\nargument-hint: [pr]\n---\nBody")
    _write(tmp_path / "commands" / "frontend" / "component.md", "Make a component")
    commands = load_commands(tmp_path / "commands", warn=print)
    assert [c.name for c in commands] == ["component", "review"]
    review = commands[1]
    assert review.description == "Review it" and review.argument_hint == "[pr]" and review.body == "Body"
    assert commands[0].description == "Make a component"  # no description: the first line
    plugin = load_commands(tmp_path / "commands", namespace="tools", warn=print)
    assert {c.name for c in plugin} == {"tools:component", "tools:review"}


def test_frontmatter_lists_and_rules_with_commas_inside_parentheses() -> None:
    command = parse_command(
        "---\nallowed-tools: Bash(git add:*), Bash(git commit -m:*), Read\nmodel: haiku\n---\nx",
        name="commit",
        source=Path("commit.md"),
    )
    assert command.allowed_tools == ("Bash(git add:*)", "Bash(git commit -m:*)", "Read")
    listed = parse_command("---\nallowed-tools:\n  - Read\n  - Grep\n---\nx", name="a", source=Path("a.md"))
    flow = parse_command("---\nallowed-tools: [Read, Grep]\n---\nx", name="a", source=Path("a.md"))
    assert listed.allowed_tools == flow.allowed_tools == ("Read", "Grep") and command.model == "haiku"


def test_skills_are_directories_and_win_over_a_command_of_the_same_name(tmp_path: Path) -> None:
    _write(
        tmp_path / "skills" / "pdf" / "SKILL.md",
        "---\nname: pdf\ndescription: Read PDFs\n---\nUse pdftotext.",
    )
    _write(tmp_path / "commands" / "pdf.md", "The old command")
    warnings: list[str] = []
    merged = merge_commands(
        [
            load_commands(tmp_path / "commands", warn=warnings.append),
            load_skills(tmp_path / "skills", warn=print),
        ],
        warnings.append,
    )
    assert merged["pdf"].is_skill and merged["pdf"].body == "Use pdftotext."
    assert merged["pdf"].skill_dir == tmp_path / "skills" / "pdf"
    assert warnings == []


def test_a_bad_file_is_skipped_with_one_warning(tmp_path: Path) -> None:
    _write(tmp_path / "commands" / "broken.md", "---\ndescription: never closed\n")
    _write(tmp_path / "commands" / "fine.md", "ok")
    warnings: list[str] = []
    assert [c.name for c in load_commands(tmp_path / "commands", warn=warnings.append)] == ["fine"]
    assert (
        len(warnings) == 1
        and "broken.md skipped: the frontmatter opened by --- is never closed" in warnings[0]
    )


def test_invocations() -> None:
    assert parse_invocation("/review 12 high") == ("review", "12 high")
    assert parse_invocation("  /code-review:code-review o/r/pull/5") == (
        "code-review:code-review",
        "o/r/pull/5",
    )
    assert parse_invocation("/fix") == ("fix", "")
    assert parse_invocation("please /review") is None
    assert parse_invocation("/etc/passwd is odd") is None


def test_arguments_all_and_positional_and_appended_when_there_is_no_placeholder() -> None:
    assert _expand("Fix issue $ARGUMENTS now", "#12 in api").text == "Fix issue #12 in api now"
    assert _expand("PR $1 with priority $2 ($3)", '42 "very high"').text == "PR 42 with priority very high ()"
    assert _expand("Review the change.", "o/r/pull/5").text == "Review the change.\n\nARGUMENTS: o/r/pull/5"
    # Text an argument brings in is never substituted again.
    assert _expand("say $ARGUMENTS", "$1 and $ARGUMENTS").text == "say $1 and $ARGUMENTS"


def test_file_references_are_inlined_once_and_unknown_ones_stay() -> None:
    files = {"src/app.py": "print('hi')\n"}
    text = _expand("Look at @src/app.py, then @src/app.py and @nobody.", files=files).text
    assert text.startswith("Look at src/app.py, then src/app.py and @nobody.")
    assert text.count('<file path="src/app.py">') == 1 and "print('hi')" in text


def test_a_big_file_is_cut() -> None:
    text = _expand("See @big.txt", files={"big.txt": "x" * (MAX_FILE_CHARS + 10)}).text
    block = text.split('<file path="big.txt">\n', 1)[1]
    assert "[file truncated]" in block and block.count("x") == MAX_FILE_CHARS


def test_shell_lines_run_when_allowed_and_are_left_out_with_a_warning_when_not() -> None:
    warnings: list[str] = []
    ran: list[str] = []

    def shell(cmd: str) -> str | None:
        ran.append(cmd)
        return "M calc.py\n" if cmd == "git status --short" else None

    text = _expand("Status: !`git status --short`\nLog: !`rm -rf /`", shell=shell, warnings=warnings).text
    assert "Status: M calc.py" in text and "rm -rf" in text and "is not available" in text
    assert ran == ["git status --short", "rm -rf /"]
    assert warnings == [
        "warning: /c: !`rm -rf /` was not run (not allowed by the permission rules); left out"
    ]


def test_arguments_are_never_run_or_read() -> None:
    ran: list[str] = []
    text = _expand(
        "Do: $ARGUMENTS",
        "!`curl evil` and @secret.txt",
        files={"secret.txt": "TOKEN"},
        shell=lambda c: ran.append(c),
    ).text
    assert ran == [] and "TOKEN" not in text and text == "Do: !`curl evil` and @secret.txt"


def test_an_untrusted_command_grants_no_tools_and_runs_nothing() -> None:
    warnings: list[str] = []
    command = parse_command(
        "---\nallowed-tools: Bash\n---\n!`id`", name="x", source=Path("x.md"), trusted=False
    )
    out = expand_command(
        command, "", read_file=lambda p: None, run_shell=lambda c: "uid=0", warn=warnings.append
    )
    assert out.allowed_tools == () and "uid=0" not in out.text
    assert any("allowed-tools ignored" in w for w in warnings)
