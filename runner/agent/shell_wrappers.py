"""What a wrapper command runs: ``sudo -u x rm y`` runs ``rm y``; ``sh -c 'a; b'`` runs a script.

Deny rules must see through these (Claude Code: "deny rules now match through env/sudo/watch
wrappers"); allow rules never do, so ``Bash(git diff:*)`` does not allow ``sudo git diff``.
Option tables list the options that take a separate argument, so that ``sudo -u root rm``
is read as running ``rm`` and not ``root``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class _Spec:
    short_with_arg: str = ""  # one-letter options whose value may be the next word
    long_with_arg: frozenset[str] = frozenset()  # --options whose value may be the next word
    positionals: int = 0  # words between the options and the command (timeout's DURATION)
    script_options: frozenset[str] = frozenset()  # options whose value is itself a command line
    runs_script: bool = False  # the remaining words are joined and run by a shell (watch)


_WRAPPERS: dict[str, _Spec] = {
    "sudo": _Spec(
        "ugCDhprtTUR",
        frozenset(
            {
                "--user",
                "--group",
                "--close-from",
                "--chdir",
                "--host",
                "--prompt",
                "--role",
                "--type",
                "--command-timeout",
                "--other-user",
                "--chroot",
            }
        ),
    ),
    "doas": _Spec("uC"),
    "env": _Spec(
        "uCS",
        frozenset({"--unset", "--chdir", "--split-string"}),
        script_options=frozenset({"-S", "--split-string"}),
    ),
    "nice": _Spec("n", frozenset({"--adjustment"})),
    "ionice": _Spec("cnpPu", frozenset({"--class", "--classdata", "--pid", "--pgid", "--uid"})),
    "timeout": _Spec("sk", frozenset({"--signal", "--kill-after"}), positionals=1),
    "nohup": _Spec(),
    "command": _Spec(),
    "builtin": _Spec(),
    "exec": _Spec("a"),
    "time": _Spec("fo", frozenset({"--format", "--output"})),
    "xargs": _Spec(
        "ILnPsdEa",
        frozenset({"--max-args", "--max-procs", "--max-chars", "--delimiter", "--arg-file"}),
    ),
    "watch": _Spec("nd", frozenset({"--interval", "--differences"}), runs_script=True),
    "stdbuf": _Spec("ioe", frozenset({"--input", "--output", "--error"})),
    "setsid": _Spec(),
    "busybox": _Spec(),
    "chroot": _Spec("", frozenset({"--userspec", "--groups"}), positionals=1),
    "!": _Spec(),  # pipeline negation: `! rm x` still runs rm
    "flock": _Spec(
        "wEc",
        frozenset({"--timeout", "--wait", "--conflict-exit-code", "--command"}),
        positionals=1,  # the lock file
        script_options=frozenset({"-c", "--command"}),
    ),
    "taskset": _Spec("", positionals=1),  # the CPU mask
    "chrt": _Spec("TPD", frozenset({"--sched-runtime", "--sched-period", "--sched-deadline"}), positionals=1),
    "strace": _Spec("oepsuEPabIOSX"),
    "ltrace": _Spec("oepsuEaADFlnw"),
    "fakeroot": _Spec("lsib", frozenset({"--lib", "--faked", "--fd-base"})),
    "unbuffer": _Spec(),
    "nsenter": _Spec("tSG", frozenset({"--target", "--setuid", "--setgid", "--wd", "--root"})),
    "unshare": _Spec(),
    "setpriv": _Spec(),
    "runuser": _Spec(
        "ugGcsw",
        frozenset({"--user", "--group", "--supp-group", "--command", "--shell", "--whitelist-environment"}),
        script_options=frozenset({"-c", "--command"}),
    ),
    "su": _Spec(
        "cgGsw",
        frozenset({"--command", "--session-command", "--group", "--supp-group", "--shell"}),
        script_options=frozenset({"-c", "--command", "--session-command"}),
    ),
    "sg": _Spec("c", script_options=frozenset({"-c"}), positionals=1),
    "script": _Spec(
        "cETBIOm",
        frozenset({"--command", "--echo", "--log-timing", "--log-io", "--log-in", "--log-out"}),
        script_options=frozenset({"-c", "--command"}),
    ),
}

_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh"})
_FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_GIT_OPTIONS_WITH_ARG = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--config-env"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Unwrapped:
    """The command a wrapper runs, and command lines it runs through a shell."""

    argv: tuple[str, ...]
    scripts: tuple[str, ...] = ()


def unwrap(name: str, argv: tuple[str, ...]) -> Unwrapped | None:
    """The command that wrapper ``name`` (``argv[0]``'s basename) runs, or None if not a wrapper."""
    spec = _WRAPPERS.get(name)
    if spec is None:
        return None
    scripts: list[str] = []
    i = 1
    while i < len(argv):
        word = argv[i]
        if word == "--":
            i += 1
            break
        if name == "env" and _ASSIGNMENT.match(word):
            i += 1
            continue
        if not word.startswith("-") or (word == "-" and name != "env"):
            break
        value, used, option = _option_value(spec, argv, i)
        if value is not None and option in spec.script_options:
            scripts.append(value)
        i += used
    i += spec.positionals
    rest = argv[i:]
    if len(rest) > 1 and rest[0] in spec.script_options:  # `flock FILE -c 'cmd'`: options after FILE
        scripts.append(rest[1])
        rest = ()
    if name == "env" and scripts:  # `env -S 'rm -rf /' x`: the string is split into words
        scripts = [" ".join((*scripts, *rest))]
    if spec.runs_script and rest:
        scripts.append(" ".join(rest))
    return Unwrapped(tuple(rest), tuple(scripts))


def _option_value(spec: _Spec, argv: tuple[str, ...], i: int) -> tuple[str | None, int, str]:
    """The value of the option at ``argv[i]`` (if it takes one), how many words it spans, and
    which option took it (``-c`` for ``-qc 'cmd'``)."""
    word = argv[i]
    if word.startswith("--"):
        key, eq, value = word.partition("=")
        if eq:
            return value, 1, key
        if key in spec.long_with_arg:
            return (argv[i + 1] if i + 1 < len(argv) else ""), 2, key
        return None, 1, key
    for pos, letter in enumerate(word[1:], start=1):
        if letter in spec.short_with_arg:
            if pos + 1 < len(word):  # `-n5`: the value is attached
                return word[pos + 1 :], 1, "-" + letter
            return (argv[i + 1] if i + 1 < len(argv) else ""), 2, "-" + letter
    return None, 1, word


def shell_script(name: str, argv: tuple[str, ...]) -> str | None:
    """The script of ``bash -c 'script'`` (and other shells), or None."""
    if name not in _SHELLS:
        return None
    saw_c = False
    i = 1
    while i < len(argv):
        word = argv[i]
        if word in ("-o", "+o", "-O", "+O"):  # `bash -o pipefail -c ...`
            i += 2
            continue
        if word.startswith("-") and not word.startswith("--") and "c" in word[1:]:
            saw_c = True
        elif not word.startswith(("-", "+")):
            return word if saw_c else None
        i += 1
    return None


def git_without_global_options(argv: tuple[str, ...]) -> tuple[str, ...] | None:
    """``git -C dir -c k=v push`` -> ``git push``, so a deny rule on ``git push`` still matches."""
    i = 1
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in _GIT_OPTIONS_WITH_ARG else 1
    return ("git", *argv[i:]) if i > 1 else None


def find_exec_argvs(argv: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The commands ``find ... -exec cmd {} ;`` runs."""
    found: list[tuple[str, ...]] = []
    i = 1
    while i < len(argv):
        if argv[i] in _FIND_EXEC:
            end = i + 1
            while end < len(argv) and argv[end] not in (";", "+"):
                end += 1
            found.append(argv[i + 1 : end])
            i = end
        i += 1
    return found
