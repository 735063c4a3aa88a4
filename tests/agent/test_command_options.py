"""The per-command option tables and the deny-side scanner, on words alone (no execution)."""

from __future__ import annotations

import shlex

import pytest

from runner.agent.commands import hazards
from runner.agent.commands.text import awk_program_hazards
from runner.agent.shell_scan import ScanError, scan_command


def found(command: str, cwd: str = "/ws") -> list[tuple[str, str | None]]:
    """(option, path) of each hazard of ``command``; path-only hazards have option ""."""
    argv = tuple(shlex.split(command))
    n = 0
    while n < len(argv) and "=" in argv[n] and argv[n].split("=")[0].isidentifier():
        n += 1
    return [(h.option, h.path) for h in hazards(argv, n, cwd)]


@pytest.mark.parametrize(
    ("command", "expect"),
    [
        ("git diff --stat HEAD~1 -- a.py", [("", "HEAD~1"), ("", "a.py")]),
        ("git log -p --oneline -5", []),
        ("git show HEAD:a.py", []),
        ("git status --short", []),
        ("git blame -L 1,5 a.py", []),
        ("git diff --output=x HEAD", [("--output", "x"), ("", "HEAD")]),
        ("git log --output x", [("--output", "x")]),
        ("git log --text", []),  # a prefix of --textconv, but an option of its own
        ("git -c a=b log", [("-c", None)]),
        ("git -C . log", []),
        ("git -C sub log --output=x", [("-C", "sub"), ("--output", "sub/x")]),
        ("git --no-pager --literal-pathspecs log", []),
        ("git --exec-path", []),
        ("git --exec-path=/x log", [("--exec-path", None)]),
        ("git frobnicate", [("frobnicate", None)]),
        ("git config user.name x", [("config", None)]),
        ("git config --get user.name", []),
        ("git config --list -f /x", [("-f", "/x")]),
        ("git worktree list", []),
        ("git blame --cont=/s a.py", [("--cont", "/s")]),
        ("git grep -Ocat x", [("-O", None)]),
        ("git grep -e -O x", []),  # -O is the pattern here
        ("git fetch origin", []),
        ("git fetch ../other", [("", "../other")]),
        ("git fetch ext::sh", [("ext::", None)]),
        ("git remote -v", []),
        ("git remote add x y", [("add", None)]),
        ("git rebase -x make HEAD~2", [("-x", None)]),
        ("find . -name x -print", []),
        ("find . -delete", [("-delete", None)]),
        ("find . -fprint out", [("-fprint", "out")]),
        ("sed -n 1p f", []),
        ("sed -ni s/a/b/ f", [("-i", None), ("", "f")]),
        ("sed -e s/a/b/w\\ out f", [("s/a/b/w out", "out")]),
        ("sed --sandbox -e 'w out' f", []),
        ("sed '1!G;h;$!d' f", []),
        ("sed '/x/{s/a/b/;p}' f", []),
        ("sed 'y/abc/xyz/;a\\\nhello' f", []),
        ("sed 's/a/b/e' f", [("s/a/b/e", None)]),
        ("sort -k2 -t, f", []),
        ("sort -ro out f", [("-o", "out")]),
        ("sort --out=o f", [("--out", "o")]),
        ("tee a b", [("", "a"), ("", "b")]),
        ("cp a b c/", [("", "c/"), ("", "a"), ("", "b")]),
        ("cp -t d a", [("-t", "d"), ("", "a")]),
        ("ln -s /etc/passwd p", [("", "p")]),
        ("ln .git/config c", [("", "c"), ("", ".git/config")]),
        ("cp --link a b", [("", "b"), ("", "a")]),
        ("chmod +x s.sh", [("", "s.sh")]),
        ("dd if=a of=b", [("if=", "a"), ("of=", "b")]),
        ("tar -tf a.tar", [("-f", "a.tar")]),
        ("tar xzf a.tgz -C d", [("-x", None), ("-f", "a.tgz"), ("-C", "d")]),
        ("tar --create --file=a.tar d", [("-c", None), ("-f", "a.tar")]),
        ("xargs grep x", []),
        ("xargs sed s/a/b/", [("sed", None)]),
        ("xargs", []),
        ("xargs -0 -n1 echo", []),
        ("timeout 5 sed -i s/a/b/ f", [("-i", None), ("", "f")]),
        ("env -u X FOO=1 git log", [("FOO=", None)]),
        ("LANG=C git log", []),
        ("GIT_DIR=x git log", [("GIT_DIR=", None)]),
        ("rg --pre=x y", [("--pre", None)]),
        ("rg -e --pre y", []),  # --pre is the pattern here
        ("zip -r a.zip d", [("", "a.zip")]),
        ("awk '{print $1}' f", []),
    ],
)
def test_hazards(command: str, expect: list[tuple[str, str | None]]) -> None:
    assert found(command) == expect


@pytest.mark.parametrize(
    ("program", "hazard"),
    [
        ('BEGIN { system("id") }', "system()"),
        ('{ print | "sort" }', "pipes"),
        ('BEGIN { "date" | getline d }', "pipes"),
        ('{ print > "x" }', "print >"),
        ('{ printf("%s", $1) > "x" }', "print >"),
        ('BEGIN { while ((getline l < "f") > 0) n++ }', "getline"),
        ('@load "x"', "loads code"),
    ],
)
def test_awk_programs_that_write_or_run(program: str, hazard: str) -> None:
    assert any(hazard in why for why in awk_program_hazards(program)), awk_program_hazards(program)


@pytest.mark.parametrize(
    "program",
    ["{ print $1 }", "/a|b/ { n++ } END { print n }", "$3 > 100", "{ if ($1 > 2) print }", "{ x = a || b }",
     '{ print "a > b" }', "{ print $1 / 2 }"],
)  # fmt: skip
def test_awk_programs_that_only_read(program: str) -> None:
    assert awk_program_hazards(program) == []


def names(command: str) -> list[tuple[str, bool]]:
    """The first word of each simple command the scanner finds, and whether it is computed."""
    scan = scan_command(command)
    return [(s.words[0].text, s.words[0].computed) for s in scan.segments if s.words]


def test_scan_finds_commands_inside_substitutions_and_bodies() -> None:
    assert names("echo $(printf r) `id` <(ls)") == [
        ("printf", False),
        ("id", False),
        ("ls", False),
        ("echo", False),
    ]
    assert names("for f in *.py; do wc -l $f; done") == [("wc", False)]
    assert names("if [ -f x ]; then cat x; else touch x; fi") == [
        ("[", False),
        ("cat", False),
        ("touch", False),
    ]
    assert names("case $x in a) echo a;; b|c) ls;; esac") == [("echo", False), ("ls", False)]
    assert names("cat <<EOF\n$(id)\nEOF\nls") == [("cat", False), ("id", False), ("ls", False)]
    assert names("cat <<'EOF'\n$(id)\nEOF") == [("cat", False)]
    assert names("[[ $x =~ (a|b) ]] && ls") == [("[[", False), ("ls", False)]
    assert names("x=$(date); ${x} y") == [("date", False), ("x=", True), ("", True)]
    assert names("$'\\x72\\155' f") == [("rm", False)]
    assert names("r{m,} f") == [("r", True)]
    assert names("echo {} {x}") == [("echo", False)]


def test_scan_marks_stdin_and_notes() -> None:
    seg = scan_command("printf x | sh").segments[1]
    assert seg.stdin == "pipe"
    assert scan_command("bash <<< 'ls'").segments[0].stdin == "here-string"
    assert scan_command("echo ${!x}").notes and scan_command("echo ${x@P}").notes
    assert scan_command("x='a[$(id)]'").stored == ["x=a[$(id)]"]
    assert scan_command("grep -n '$(' Makefile").stored == []


@pytest.mark.parametrize("command", ["echo 'x", 'echo "x', "echo $(ls", "echo `ls", "echo ${x", "cat <"])
def test_scan_refuses_what_bash_would_not_parse(command: str) -> None:
    with pytest.raises(ScanError):
        scan_command(command)
