"""sed and awk: programs in a word that can write files and run commands.

``sed 's/x/y/w out'``, ``sed 'e id'`` and ``sed -i`` write or run; ``awk 'BEGIN{system("id")}'``,
``print > "f"`` and ``"cmd" | getline`` do too. The scripts are read just far enough to find
those commands; a script we cannot read is a hazard itself.
"""

from __future__ import annotations

import re

from runner.agent.commands.base import READ, WRITE, Hazard, Word, paths


class _Unreadable(Exception):
    pass


def _long(word: str, full: str) -> bool:
    """``word`` (before any ``=``) is ``full`` or a getopt_long abbreviation of it."""
    name = word.partition("=")[0]
    return name == full or (len(name) >= 4 and full.startswith(name))


# --- sed ------------------------------------------------------------------------------------

_SED_FILE = "runs a sed script from a file, which cannot be checked"


def sed_hazards(argv: tuple[str, ...]) -> list[Hazard]:
    """``sed -i``, ``-f``, and ``w``/``W``/``e``/``r``/``R`` commands (and ``s///w``, ``s///e``)."""
    found: list[Hazard] = []
    scripts: list[tuple[int, str]] = []
    operands: list[Word] = []
    sandbox = in_place = False
    i, only = 1, False
    while i < len(argv):
        word = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else ""
        if only or word == "-" or not word.startswith("-"):
            operands.append(Word(i, word))
        elif word == "--":
            only = True
        elif word.startswith("--"):
            value = word.partition("=")[2] if "=" in word else None
            if _long(word, "--expression"):
                scripts.append((i, nxt if value is None else value))
                i += value is None
            elif _long(word, "--file"):
                found.append(Hazard(i, "-f", _SED_FILE))
                i += value is None
            elif _long(word, "--in-place"):
                in_place = True
                found.append(Hazard(i, "-i", "edits files in place"))
            elif _long(word, "--sandbox"):
                sandbox = True
            elif _long(word, "--line-length") and value is None:
                i += 1
        else:
            for pos in range(1, len(word)):
                letter, rest = word[pos], word[pos + 1 :]
                if letter == "i":
                    in_place = True
                    found.append(Hazard(i, "-i", "edits files in place"))
                    break
                if letter in "efl":
                    if letter == "e":
                        scripts.append((i, rest or nxt))
                    elif letter == "f":
                        found.append(Hazard(i, "-f", _SED_FILE))
                    i += not rest
                    break
        i += 1
    if not scripts and operands:
        scripts.append((operands[0].index, operands[0].text))
        operands = operands[1:]
    if in_place:
        found += paths(operands, "is a file sed -i rewrites", WRITE)
    if not sandbox:  # --sandbox: sed itself refuses e, r and w
        for index, script in scripts:
            found += _sed_script_hazards(index, script)
    return found


_SED_SIMPLE = set("=dDgGhHlnNpPxzFqQLT{}")


def _sed_script_hazards(index: int, script: str) -> list[Hazard]:
    try:
        commands = _sed_commands(script)
    except _Unreadable:
        return [Hazard(index, script, "is a sed script that cannot be checked for w, e and r commands")]
    found = []
    for cmd, arg in commands:
        if cmd in "wW":
            found.append(Hazard(index, script, f"has a sed `{cmd}` command that writes a file", arg, WRITE))
        elif cmd in "rR":
            why = f"has a sed `{cmd}` command that reads a file"
            found.append(Hazard(index, script, why, arg, READ, needs_rule=False))
        elif cmd == "e":
            found.append(Hazard(index, script, "has a sed `e` command that runs a shell command"))
    return found


def _sed_commands(s: str) -> list[tuple[str, str]]:
    """The (command, argument) pairs of interest in a sed script: w, W, r, R, e (and s///w, s///e)."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c in " \t\n;":
            i += 1
            continue
        if c == "#":
            i = _line_end(s, i)
            continue
        i = _skip_address(s, i)
        if i >= len(s):
            raise _Unreadable
        c = s[i]
        i += 1
        if c in "sy":
            delim = s[i] if i < len(s) else ""
            if not delim or delim in "\\\n":
                raise _Unreadable
            i = _delimited(s, _delimited(s, i + 1, delim), delim)
            if c == "s":
                end = i
                while end < len(s) and s[end] not in ";\n}#w":
                    end += 1
                flags = s[i:end]
                if "e" in flags:
                    out.append(("e", ""))
                if end < len(s) and s[end] == "w":
                    line_end = _line_end(s, end)
                    out.append(("w", s[end + 1 : line_end].strip()))
                    end = line_end
                i = end
        elif c in "wWrRe":
            end = _line_end(s, i)
            out.append((c, s[i:end].strip()))
            i = end
        elif c in "aic":
            i = _text_end(s, i)
        elif c in ":btTv":
            while i < len(s) and s[i] not in ";\n":
                i += 1
        elif c in _SED_SIMPLE or c == "l":
            while i < len(s) and s[i].isdigit():
                i += 1
        else:
            raise _Unreadable
    return out


def _line_end(s: str, i: int) -> int:
    end = s.find("\n", i)
    return len(s) if end < 0 else end


def _text_end(s: str, i: int) -> int:
    """The end of an a/i/c command's text: the line, continued by trailing backslashes."""
    while True:
        end = _line_end(s, i)
        if end < len(s) and end > 0 and s[end - 1] == "\\":
            i = end + 1
            continue
        return end


def _skip_address(s: str, i: int) -> int:
    for _ in range(2):
        while i < len(s) and s[i] in " \t":
            i += 1
        if i < len(s) and (s[i].isdigit() or s[i] in "$+~"):
            i += 1
            while i < len(s) and (s[i].isdigit() or s[i] == "~"):
                i += 1
        elif i < len(s) and s[i] in "/\\":
            delim = s[i]
            if delim == "\\":
                i += 1
                delim = s[i] if i < len(s) else ""
                if not delim:
                    raise _Unreadable
            i = _delimited(s, i + 1, delim)
            while i < len(s) and s[i] in "IM":
                i += 1
        if i < len(s) and s[i] == ",":
            i += 1
            continue
        break
    while i < len(s) and s[i] in " \t!":
        i += 1
    return i


def _delimited(s: str, i: int, delim: str) -> int:
    """The index after the next unescaped ``delim`` from ``i``."""
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s[i] == delim:
            return i + 1
        if s[i] == "\n":
            break
        i += 1
    raise _Unreadable


# --- awk ------------------------------------------------------------------------------------

_AWK_FILE_OPTIONS = {
    "-f": "runs an awk program from a file, which cannot be checked",
    "-E": "runs an awk program from a file, which cannot be checked",
    "-i": "includes awk source from a file",
    "-l": "loads a compiled extension",
    "-o": "writes the program to a file",
    "-p": "writes a profile to a file",
    "-d": "writes variables to a file",
    "-W": "takes an implementation option (mawk -W exec runs a file)",
}
_AWK_LONG = {"--file": "-f", "--exec": "-E", "--include": "-i", "--load": "-l", "--pretty-print": "-o",
             "--profile": "-p", "--dump-variables": "-d"}  # fmt: skip
_AWK_ATTACHED_ONLY = frozenset("opd")  # `-o[file]`: the next word is not its value


def awk_hazards(argv: tuple[str, ...]) -> list[Hazard]:
    """Options that load or write files, and programs that call system(), pipe or redirect."""
    found: list[Hazard] = []
    programs: list[tuple[int, str]] = []
    have_file = sandbox = False
    i = 1
    while i < len(argv):
        word = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else ""
        if word == "--" or not word.startswith("-") or word == "-":
            if word == "--":
                i += 1
            if not programs and not have_file and i < len(argv):
                programs.append((i, argv[i]))
            break
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            short = next((s for full, s in _AWK_LONG.items() if _long(name, full)), None)
            if short is not None:
                have_file = have_file or short in ("-f", "-E")
                found.append(Hazard(i, name, _AWK_FILE_OPTIONS[short]))
                i += 1 if (eq or short[1] in _AWK_ATTACHED_ONLY) else 2
            elif _long(name, "--source"):
                programs.append((i + (not eq), value if eq else nxt))
                i += 1 if eq else 2
            elif _long(name, "--sandbox"):
                sandbox = True
                i += 1
            else:
                i += 2 if (name in ("--field-separator", "--assign") and not eq) else 1
            continue
        letter, rest = word[1], word[2:]
        if "-" + letter in _AWK_FILE_OPTIONS:
            have_file = have_file or letter in "fE"
            found.append(Hazard(i, "-" + letter, _AWK_FILE_OPTIONS["-" + letter]))
            i += 1 if (rest or letter in _AWK_ATTACHED_ONLY) else 2
        elif letter == "e":
            programs.append((i + (not rest), rest or nxt))
            i += 1 if rest else 2
        elif letter == "S":
            sandbox = True
            i += 1
        else:
            i += 2 if (letter in "Fv" and not rest) else 1
    if not sandbox:  # --sandbox: gawk refuses system(), redirections and getline from files
        for index, program in programs:
            found += [Hazard(index, program, why) for why in awk_program_hazards(program)]
    return found


_STATEMENT_END = ";\n}"


def awk_program_hazards(program: str) -> list[str]:
    """Why an awk program may write files or run commands (empty when it only reads and prints)."""
    code = _awk_code(program)
    why = []
    if re.search(r"\bsystem\s*\(", code):
        why.append("calls system(), which runs a shell command")
    if re.search(r"\|", code.replace("||", "  ")):
        why.append("pipes to or from a command")
    if re.search(r"\bgetline\b[^;{}\n]*<", code):
        why.append("reads a file with getline")
    if re.search(r"@\s*(load|include)", code):
        why.append("loads code")
    for m in re.finditer(r"\bprintf?\b", code):
        depth = 0
        for c in code[m.end() :]:
            if c in "([":
                depth += 1
            elif c in ")]":
                depth -= 1
            elif depth <= 0 and c in _STATEMENT_END:
                break
            elif depth <= 0 and c == ">":
                why.append("writes a file with print >")
                break
        if why and why[-1].startswith("writes"):
            break
    return why


def _awk_code(program: str) -> str:
    """The program with string and regex literals emptied and comments dropped."""
    out: list[str] = []
    last = ""  # the last significant character: decides whether `/` starts a regex
    i = 0
    while i < len(program):
        c = program[i]
        if c == "#":
            i = _line_end(program, i)
            continue
        if c == '"' or (c == "/" and not (last.isalnum() or (last and last in "_)]$"))):
            end = i + 1
            while end < len(program) and program[end] != c:
                end += 2 if program[end] == "\\" else 1
            out.append(c + c)
            last = c
            i = end + 1
            continue
        out.append(c)
        if not c.isspace():
            last = c
        i += 1
    return "".join(out)
