"""git's options that write files, run programs or reach outside the workspace.

``git diff --output=.git/config`` writes git's own configuration, ``git -c diff.external=x diff``
and ``git grep -Ox`` run a program, ``git diff /outside/secret a.txt`` reads any file (git diffs two
paths outside a repository without ``--no-index``), and a word that is not a git command may be
an alias for ``!shell``. These are hazards unless the allow rule spells them out.
"""

from __future__ import annotations

import dataclasses
import posixpath

from runner.agent.commands.base import READ, WRITE, Hazard, Opt, Spec, Word, join, paths, read_options

_RUNS = "runs a program"
_CONFIG = "sets git configuration, which can name programs to run (pager, diff driver, hooks, aliases)"

# Options of `git` itself, before the command. Anything else there is refused (see `_global`).
_GLOBAL_SAFE = frozenset(
    {"--no-pager", "-P", "--no-replace-objects", "--literal-pathspecs", "--glob-pathspecs",
     "--noglob-pathspecs", "--icase-pathspecs", "--no-optional-locks", "--html-path", "--man-path",
     "--info-path", "--version", "-v", "--help", "-h", "--exec-path", "--no-advice"}
)  # fmt: skip
_GLOBAL_WITH_VALUE = frozenset({"--namespace", "--git-dir", "--work-tree", "--config-env", "--super-prefix"})

# Built-in commands that only look at or change the repository in the workspace.
_KNOWN = frozenset(
    """add am annotate apply archive bisect blame branch cat-file config worktree check-attr check-ignore
    check-mailmap check-ref-format checkout checkout-index cherry cherry-pick clean clone column
    commit commit-graph commit-tree count-objects describe diff diff-files diff-index diff-tree
    fetch fetch-pack fmt-merge-msg for-each-ref for-each-repo format-patch fsck fsck-objects gc
    get-tar-commit-id grep hash-object help index-pack init init-db interpret-trailers log ls-files
    ls-remote ls-tree mailinfo mailsplit merge merge-base merge-file merge-index merge-one-file
    merge-tree mktag mktree multi-pack-index mv name-rev notes pack-objects pack-redundant pack-refs
    patch-id prune prune-packed pull push range-diff read-tree rebase reflog remote repack replace
    request-pull rerere reset restore rev-list rev-parse revert rm send-pack shortlog show
    show-branch show-index show-ref sparse-checkout stage stash status stripspace submodule switch
    symbolic-ref tag unpack-file unpack-objects update-index update-ref update-server-info var
    verify-commit verify-pack verify-tag version whatchanged write-tree""".split()  # noqa: SIM905
)
# Commands whose job is to run programs, serve, or change configuration.
_DANGEROUS = {
    "difftool": "runs a diff tool",
    "mergetool": "runs a merge tool",
    "filter-branch": "runs shell filters",
    "maintenance": "registers scheduled jobs and changes global configuration",
    "bundle": "writes a bundle file",
    "fast-import": "writes files named in its input",
    "fast-export": "writes marks files",
    "bugreport": "writes a report file",
    "diagnose": "writes an archive",
    "hook": "runs hooks",
    "credential": "talks to credential helpers",
    "credential-cache": "talks to credential helpers",
    "credential-store": "reads stored credentials",
    "daemon": "serves repositories",
    "instaweb": "starts a web server",
    "http-backend": "serves repositories",
    "shell": "runs a restricted login shell",
    "upload-pack": "serves repositories",
    "receive-pack": "receives pushes",
    "upload-archive": "serves archives",
    "remote-ext": _RUNS,
    "remote-fd": "uses inherited descriptors",
    "send-email": "sends mail and can run a sendmail program",
    "imap-send": "sends mail",
    "web--browse": "runs a browser",
}
_OUTPUT = Opt(("--output",), "writes the diff to a file", value=True, access=WRITE)
_DIFF = (
    _OUTPUT,
    Opt(("--ext-diff",), "runs an external diff program"),
    Opt(("--textconv",), "runs a configured text conversion program"),
    Opt(("-O",), "reads the file order from a file", value=True, optional_value=True, access=READ,
        needs_rule=False),
)  # fmt: skip
_DIFF_SPEC = Spec(
    _DIFF,
    short_values="SGn",
    long_values=frozenset({"--author", "--committer", "--grep", "--since", "--until", "--after", "--before",
                           "--max-count", "--skip", "--src-prefix", "--dst-prefix", "--line-prefix"}),
    abbreviations=False,  # diff and revision options take no abbreviations (`--outp=x` is an error)
)  # fmt: skip
_UPLOAD = Opt(("--upload-pack",), "runs a program as git-upload-pack", value=True)
_EXEC = Opt(("--exec",), "runs a program on the remote side", value=True)
_SPECS: dict[str, Spec] = {
    **dict.fromkeys(("diff", "log", "show", "whatchanged", "diff-tree", "diff-index", "diff-files",
                     "range-diff", "stash", "cherry"), _DIFF_SPEC),
    "format-patch": Spec((*_DIFF, Opt(("-o", "--output-directory"), "writes patch files", value=True,
                                      access=WRITE)), short_values="v"),
    "blame": Spec(
        (Opt(("--contents",), "reads the file's content from a file", value=True, access=READ,
             needs_rule=False),
         Opt(("-S",), "reads revisions from a file", value=True, access=READ, needs_rule=False),
         Opt(("--ignore-revs-file",), "reads revisions from a file", value=True, access=READ,
             needs_rule=False),
         Opt(("--textconv",), "runs a configured text conversion program")),
        short_values="L", long_values=frozenset({"--ignore-rev", "--date"}),
    ),
    "annotate": Spec((Opt(("--contents",), "reads the file's content from a file", value=True, access=READ,
                          needs_rule=False),)),
    "grep": Spec(
        (Opt(("-O", "--open-files-in-pager"), "runs a pager program", value=True, optional_value=True),
         Opt(("--textconv",), "runs a configured text conversion program"),
         Opt(("-f",), "reads patterns from a file", value=True, access=READ, needs_rule=False)),
        short_values="eABCm", long_values=frozenset({"--max-depth", "--threads", "--max-count"}),
    ),
    "cat-file": Spec((Opt(("--textconv",), "runs a configured text conversion program"),
                      Opt(("--filters",), "runs configured filter programs"))),
    "archive": Spec((Opt(("-o", "--output"), "writes the archive to a file", value=True, access=WRITE),
                     Opt(("--remote",), "reads another repository", value=True), _EXEC),
                    long_values=frozenset({"--prefix", "--format"})),
    "fetch": Spec((_UPLOAD,), long_values=frozenset({"--depth", "--deepen", "--shallow-since"})),
    "pull": Spec((_UPLOAD,), long_values=frozenset({"--depth", "--deepen", "--shallow-since"})),
    "ls-remote": Spec((_UPLOAD, _EXEC)),
    "push": Spec((Opt(("--receive-pack",), "runs a program as git-receive-pack", value=True), _EXEC),
                 short_values="o"),
    "clone": Spec(
        (Opt(("-u", "--upload-pack"), "runs a program as git-upload-pack", value=True),
         Opt(("--template",), "copies hooks from a template directory", value=True),
         Opt(("-c", "--config"), _CONFIG, value=True),
         Opt(("--separate-git-dir",), "puts the repository elsewhere", value=True, access=WRITE),
         Opt(("--reference", "--reference-if-able"), "reads another repository", value=True, access=READ,
             needs_rule=False)),
        short_values="ob", long_values=frozenset({"--depth", "--branch", "--origin", "--filter"}),
    ),
    "init": Spec((Opt(("--template",), "copies hooks from a template directory", value=True),
                  Opt(("--separate-git-dir",), "puts the repository elsewhere", value=True, access=WRITE))),
    "rebase": Spec((Opt(("-x", "--exec"), "runs a shell command after each commit", value=True),),
                   short_values="sX"),
    "apply": Spec((Opt(("--unsafe-paths",), "writes files outside the working tree"),)),
    "commit": Spec(
        (Opt(("-F", "--file"), "reads the message from a file", value=True, access=READ, needs_rule=False),
         Opt(("-t", "--template"), "reads a template file", value=True, access=READ, needs_rule=False)),
        short_values="mcC",
    ),
    "help": Spec((Opt(("-w", "--web"), "runs a web browser"),)),
    "config": Spec((Opt(("-f", "--file"), "reads or writes another config file", value=True, access=READ,
                        needs_rule=False),)),
}  # fmt: skip
# Operands that make an otherwise harmless command run programs or change configuration.
_OPERAND_HAZARDS: dict[str, dict[str, str]] = {
    "bisect": {"run": "runs a command on each step"},
    "submodule": {"foreach": "runs a shell command in each submodule"},
    "remote": dict.fromkeys(("add", "set-url", "rename", "remove", "rm", "set-head", "set-branches"),
                            "changes the repository's remotes in .git/config"),
    "worktree": dict.fromkeys(("add", "move", "remove", "repair", "prune", "lock", "unlock"),
                              "creates or changes working trees, possibly outside the workspace"),
}  # fmt: skip
# Operands that name another repository: a local path must stay inside the workspace.
_REMOTE_OPERANDS = {"fetch": READ, "pull": READ, "ls-remote": READ, "clone": READ, "push": WRITE}


def git_hazards(argv: tuple[str, ...], cwd: str, offset: int = 0) -> list[Hazard]:
    """Hazards of one ``git ...`` argv; indices are shifted by ``offset`` (wrappers, assignments)."""
    found, i, base = _global(argv, cwd)
    if i >= len(argv):
        return _shift(found, offset)
    command = argv[i]
    if command in _DANGEROUS:
        found.append(Hazard(i, command, _DANGEROUS[command]))
    elif command not in _KNOWN:
        found.append(Hazard(i, command, "is not a git command: it may be an alias that runs a shell command"))
        return _shift(found, offset)
    spec = _SPECS.get(command, Spec())
    options, words = read_options(argv, spec, start=i + 1, base=base)
    found += options
    if command == "config" and not _reads_config(argv[i + 1 :]):
        found.append(Hazard(i, command, _CONFIG))
    found += _operand_hazards(command, words, base)
    return _shift(found, offset)


def _global(argv: tuple[str, ...], cwd: str) -> tuple[list[Hazard], int, str]:
    """Hazards among git's own options; the index of the command; where git will run (``-C``)."""
    found: list[Hazard] = []
    base = ""
    i = 1
    while i < len(argv) and argv[i].startswith("-"):
        word = argv[i]
        name, eq, value = word.partition("=")
        takes = name in ("-C", "-c") or (name in _GLOBAL_WITH_VALUE and not eq)
        if takes and i + 1 < len(argv):
            value = argv[i + 1]
        step = 2 if takes else 1
        if name == "-C":
            base = join(base, value)
            inside = posixpath.normpath(posixpath.join(cwd, base)) == posixpath.normpath(cwd)
            if not inside:  # a subdirectory may be a bare repository whose config runs programs
                found.append(Hazard(i, "-C", "runs git in another directory", base, WRITE))
        elif name in ("-c", "--config-env"):
            found.append(Hazard(i, name, _CONFIG))
        elif name in ("--git-dir", "--work-tree"):
            found.append(Hazard(i, name, "uses another repository or working tree", join(base, value), READ))
        elif name == "--exec-path" and eq:
            found.append(Hazard(i, name, "runs git's programs from another directory"))
        elif name in ("-p", "--paginate"):
            found.append(Hazard(i, name, "runs a pager program"))
        elif name == "--bare":
            found.append(Hazard(i, name, "reads the directory as a repository, with its config"))
        elif name not in _GLOBAL_SAFE and name not in ("--namespace", "--list-cmds"):
            found.append(Hazard(i, name, "is an option of git itself that could change what runs"))
        i += step
    return found, i, base


_CONFIG_READS = frozenset(
    {"--get", "--get-all", "--get-regexp", "--get-urlmatch", "--list", "-l", "get", "list"}
)


def _reads_config(args: tuple[str, ...]) -> bool:
    """``git config --get x``, ``--list``, ``get``: only reading (``--edit`` and the rest write)."""
    return any(a in _CONFIG_READS for a in args) and not any(a in ("-e", "--edit") for a in args)


def _operand_hazards(command: str, words: list[Word], base: str) -> list[Hazard]:
    found: list[Hazard] = []
    for word in words:
        why = _OPERAND_HAZARDS.get(command, {}).get(word.text)
        if why:
            found.append(Hazard(word.index, word.text, why))
    if command == "diff":  # two paths, one outside the repository, diff as --no-index does
        found += paths(words, "is a path git diff reads", READ, base=base)
    if command in _REMOTE_OPERANDS and words:
        found += _remote(words[0], _REMOTE_OPERANDS[command], base)
        if command == "clone" and len(words) > 1:
            found += paths(words[1:2], "is where git clone writes", WRITE, base=base)
    if command == "init" and words:
        found += paths(words[:1], "is where git init writes", WRITE, base=base)
    if command == "apply":
        found += paths(words, "is a patch git apply reads", READ, base=base)
    return found


def _remote(word: Word, access: str, base: str) -> list[Hazard]:
    text = word.text
    if "::" in text.split("/", 1)[0]:  # `ext::sh -c ...`, `fd::3`: transports that run programs
        return [Hazard(word.index, text.split("::", 1)[0] + "::", "uses a transport that runs a program")]
    if text.startswith("file://"):
        text = text[len("file://") :] or "/"
    elif not text.startswith(("/", "./", "../", "~")) and text not in (".", ".."):
        return []  # a remote's name or a URL
    return list(paths([Word(word.index, text)], "is a repository outside the workspace", access, base=base))


def _shift(found: list[Hazard], offset: int) -> list[Hazard]:
    return [dataclasses.replace(h, index=h.index + offset) for h in found] if offset else found
