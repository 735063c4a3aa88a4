"""Everyday programs with options that write files, run programs or leave the workspace.

``find -exec``, ``sort -o``, ``rg --pre``, ``less -o``, ``tar -x --to-command``, ``zip -TT``; and
the operands of commands whose job is to write (``tee f``, ``cp a dst``, ``rm f``), which must
stay inside the workspace and out of ``.git``.
"""

from __future__ import annotations

from runner.agent.commands.base import READ, WRITE, Hazard, Opt, Spec, paths, read_options

_RUNS = "runs a program"

_SPECS: dict[str, Spec] = {
    "sort": Spec(
        (Opt(("-o", "--output"), "writes the output to a file", value=True, access=WRITE),
         Opt(("--compress-program",), _RUNS, value=True),
         Opt(("--files0-from",), "reads file names from a file", value=True, access=READ, needs_rule=False),
         Opt(("-T", "--temporary-directory"), "writes temporary files", value=True, access=WRITE,
             needs_rule=False)),
        short_values="ktSo",
        long_values=frozenset({"--key", "--field-separator", "--buffer-size", "--parallel", "--batch-size"}),
    ),
    "rg": Spec(
        (Opt(("--pre",), "runs a program on every file it searches", value=True),
         Opt(("--hostname-bin",), _RUNS, value=True),
         Opt(("--ignore-file",), "reads ignore rules from a file", value=True, access=READ,
             needs_rule=False)),
        short_values="efgmtTABCEMrjd", abbreviations=False,
        long_values=frozenset({"--regexp", "--file", "--glob", "--iglob", "--type", "--type-not",
                               "--replace", "--max-count", "--max-depth", "--context", "--before-context",
                               "--after-context", "--encoding", "--threads", "--pre-glob", "--sort",
                               "--sortr", "--type-add"}),
    ),
    "grep": Spec((Opt(("-f", "--file"), "reads patterns from a file", value=True, access=READ,
                      needs_rule=False),), short_values="eABCmd", long_values=frozenset({"--regexp"})),
    "less": Spec(
        (Opt(("-o", "--log-file"), "copies its input to a file", value=True, access=WRITE),
         Opt(("-O", "--LOG-FILE"), "copies its input to a file", value=True, access=WRITE),
         Opt(("-k", "--lesskey-file"), "reads key bindings that can run commands", value=True)),
        short_values="bhjpPtTxyz#", abbreviations=False,
    ),
    "unzip": Spec((Opt(("-d",), "extracts into a directory", value=True, access=WRITE, needs_rule=False),
                   Opt(("-:",), "extracts paths with ../ outside the directory")), short_values="xP"),
    "zip": Spec((Opt(("-TT", "--unzip-command"), "runs a program to test the archive", value=True),),
                short_values="bnt", abbreviations=False),
    "dd": Spec(),
    "time": Spec((Opt(("-o", "--output"), "writes timing to a file", value=True, access=WRITE),),
                 short_values="f", long_values=frozenset({"--format"}), stop_at_operand=True),
    "xargs": Spec((Opt(("-a", "--arg-file"), "reads arguments from a file", value=True, access=READ,
                       needs_rule=False),),
                  short_values="ILnPsdEe", stop_at_operand=True,
                  long_values=frozenset({"--max-args", "--max-procs", "--max-chars", "--delimiter",
                                         "--replace", "--max-lines", "--eof"})),
}  # fmt: skip

# The operands these commands change: each must stay in the workspace and out of .git.
_WRITES_OPERANDS = frozenset({"tee", "touch", "mkdir", "rmdir", "rm", "unlink", "shred", "truncate"})
_WRITE_SHORT_VALUES = {"truncate": "sr", "touch": "dtr", "mkdir": "m", "shred": "nsu"}
_COPIES = frozenset({"cp", "mv", "install", "ln"})  # the last operand (or -t DIR) is written
_MODE_FIRST = frozenset({"chmod", "chown", "chgrp"})  # the first operand is the mode or owner
_FIND_RUNS = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_FIND_WRITES = frozenset({"-fprint", "-fprint0", "-fprintf", "-fls"})


def program_hazards(name: str, argv: tuple[str, ...]) -> list[Hazard] | None:
    """Hazards of ``argv`` when ``name`` (its program) is in the table; None when it is not."""
    if name == "find":
        return _find(argv)
    if name == "tar":
        return _tar(argv)
    if name == "dd":
        return _dd(argv)
    if name == "zip":  # zip reads `-TT` as one option, not as -T -T
        found, words = read_options(argv, _SPECS["zip"])
        found += [Hazard(i, "-TT", _RUNS) for i, w in enumerate(argv) if w.startswith("-TT")]
        return found + list(paths(words[:1], "is the archive zip writes", WRITE))
    if name in _WRITES_OPERANDS:
        _, words = read_options(argv, Spec(short_values=_WRITE_SHORT_VALUES.get(name, "")))
        return list(paths(words, f"is a file {name} changes", WRITE))
    if name in _COPIES:
        return _copy(name, argv)
    if name in _MODE_FIRST:
        _, words = read_options(argv, Spec(long_values=frozenset({"--reference"})))
        reference = any(w.startswith("--reference") for w in argv)
        return list(paths(words if reference else words[1:], f"is a file {name} changes", WRITE))
    if name == "more":
        return [Hazard(i, w, "runs less-style commands") for i, w in enumerate(argv) if w.startswith("+!")]
    spec = _SPECS.get(name)
    if spec is None:
        return None
    found, _ = read_options(argv, spec)
    if name == "less":  # `+cmd` runs less commands at start: `+!cmd`, `+|cmd`
        found += [Hazard(i, w, "runs commands at start") for i, w in enumerate(argv) if w.startswith("+")]
    return found


def _find(argv: tuple[str, ...]) -> list[Hazard]:
    found: list[Hazard] = []
    i = 1
    while i < len(argv):
        word = argv[i]
        if word in _FIND_RUNS:
            found.append(Hazard(i, word, "runs a program on every file it finds"))
        elif word == "-delete":
            found.append(Hazard(i, word, "deletes the files it finds"))
        elif word in _FIND_WRITES and i + 1 < len(argv):
            found.append(Hazard(i, word, "writes a file", argv[i + 1], WRITE))
            i += 1
        i += 1
    return found


def _copy(name: str, argv: tuple[str, ...]) -> list[Hazard]:
    spec = Spec(short_values="tSmogb" if name == "install" else "tS",
                long_values=frozenset({"--target-directory", "--suffix", "--backup"}))  # fmt: skip
    _, words = read_options(argv, spec)
    target = _option_value(argv, ("-t", "--target-directory"))
    found: list[Hazard] = []
    if target is not None:
        found.append(Hazard(target[0], "-t", f"is where {name} writes", target[1], WRITE, needs_rule=False))
        sources, dests = words, []
    else:
        sources, dests = words[:-1], words[-1:]
    found += paths(dests, f"is where {name} writes", WRITE)
    if name == "mv":  # moving a file out of .git (or the workspace) changes it too
        found += paths(sources, "is a file mv moves", WRITE)
    elif _hard_links(name, argv):  # a hard link writes the source under another name
        found += paths(sources, f"is a file {name} hard-links, so writes to the link change it", WRITE)
    elif name != "ln":  # a symbolic link's target is not a file ln reads; later uses resolve it
        found += paths(sources, f"is a file {name} reads", READ)
    return found


def _hard_links(name: str, argv: tuple[str, ...]) -> bool:
    flags = [w for w in argv[1:] if w.startswith("-") and not w.startswith("--")]
    if name == "ln":
        return not any("s" in w for w in flags) and "--symbolic" not in argv
    return name == "cp" and (any("l" in w for w in flags) or "--link" in argv)


def _option_value(argv: tuple[str, ...], names: tuple[str, ...]) -> tuple[int, str] | None:
    for i, word in enumerate(argv):
        for name in names:
            if word == name and i + 1 < len(argv):
                return i, argv[i + 1]
            if name.startswith("--") and word.startswith(name + "="):
                return i, word.partition("=")[2]
            if not name.startswith("--") and word.startswith(name) and len(word) > len(name):
                return i, word[len(name) :]
    return None


def _dd(argv: tuple[str, ...]) -> list[Hazard]:
    found = []
    for i, word in enumerate(argv[1:], start=1):
        key, eq, value = word.partition("=")
        if eq and key == "of":
            found.append(Hazard(i, "of=", "is the file dd writes", value, WRITE, needs_rule=False))
        elif eq and key == "if":
            found.append(Hazard(i, "if=", "is the file dd reads", value, READ, needs_rule=False))
    return found


_TAR_RUNS = {
    "--to-command": "pipes every extracted file to a command",
    "--use-compress-program": "runs a compression program",
    "-I": "runs a compression program",
    "--checkpoint-action": "can run a command at checkpoints",
    "--info-script": "runs a script at the end of each volume",
    "--new-volume-script": "runs a script at the end of each volume",
    "-F": "runs a script at the end of each volume",
    "--rsh-command": "runs a remote shell",
    "--rmt-command": "runs a remote tape program",
    "-P": "keeps absolute names and ../, so it may write outside the directory",
    "--absolute-names": "keeps absolute names and ../, so it may write outside the directory",
}
_TAR_MODES = {"c": "creates an archive", "r": "appends to an archive", "u": "updates an archive",
              "A": "appends to an archive", "x": "extracts files"}  # fmt: skip
_TAR_LONG_MODES = {"--create": "c", "--append": "r", "--update": "u", "--concatenate": "A",
                   "--catenate": "A", "--extract": "x", "--get": "x", "--delete": "r"}  # fmt: skip
_TAR_VALUE_LETTERS = "fCTXbKLNVgIFH"


def _tar(argv: tuple[str, ...]) -> list[Hazard]:
    """Modes that write and options that run programs; ``f``'s archive and ``-C``'s directory."""
    found: list[Hazard] = []
    archive: tuple[int, str] | None = None
    directory: tuple[int, str] | None = None
    mode, mode_at = "", 1
    words = list(argv[1:])
    if words and not words[0].startswith("-"):  # `tar xzf a.tgz`: old-style letters
        words[0] = "-" + words[0]
    i = 0
    while i < len(words):
        index, word = i + 1, words[i]
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            if name in _TAR_RUNS:
                found.append(Hazard(index, name, _TAR_RUNS[name]))
            if name in _TAR_LONG_MODES and not mode:
                mode, mode_at = _TAR_LONG_MODES[name], index
            if name in ("--file", "--directory"):
                value = value if eq else (words[i + 1] if i + 1 < len(words) else "")
                if name == "--file":
                    archive = (index, value)
                else:
                    directory = (index, value)
                i += 0 if eq else 1
        elif word.startswith("-"):
            values = [c for c in word[1:] if c in _TAR_VALUE_LETTERS]
            for letter in word[1:]:
                if "-" + letter in _TAR_RUNS:
                    found.append(Hazard(index, "-" + letter, _TAR_RUNS["-" + letter]))
                if letter in _TAR_MODES and not mode:
                    mode, mode_at = letter, index
            for letter in values:  # their values follow in order
                i += 1
                value = words[i] if i < len(words) else ""
                if letter == "f":
                    archive = (index, value)
                elif letter == "C":
                    directory = (index, value)
        i += 1
    if mode:
        found.append(Hazard(mode_at, f"-{mode}", _TAR_MODES[mode]))
    if archive is not None and ":" in archive[1].split("/", 1)[0]:
        found.append(Hazard(archive[0], "-f", "names a remote archive, which runs rsh"))
    elif archive is not None and archive[1] != "-":
        access = WRITE if mode in "cruA" and mode else READ
        found.append(Hazard(archive[0], "-f", "is the archive", archive[1], access, needs_rule=False))
    if directory is not None:
        access = WRITE if mode == "x" else READ
        found.append(Hazard(directory[0], "-C", "is the directory tar works in", directory[1], access, False))
    return found


def xargs_words(argv: tuple[str, ...]) -> tuple[list[Hazard], int]:
    """xargs's own hazards and the index of the command it runs (``len(argv)`` if none)."""
    found, words = read_options(argv, _SPECS["xargs"])
    return found, (words[0].index if words else len(argv))
