"""Where a Bash command writes and reads, checked against the workspace on the real file system.

A specific allow rule (``Bash(git diff:*)``) vouches for a command's words, not for the files it
touches. This module says why no such rule may allow a command: a redirection or a file option
(``> x``, ``--output=x``, ``tee x``, ``cp a x``) whose target, resolved through symlinks, leaves
the workspace or lands in ``.git``/``.claude``; a file read from outside the workspace
(``git diff /outside/secret a.txt``); a command line that makes links and writes in one go, so
that what was checked is not what gets written.
"""

from __future__ import annotations

import glob
import os
import posixpath
import stat
from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import Path

from runner.agent.commands import LINK_MAKERS, Hazard, hazards
from runner.agent.commands.base import READ, WRITE
from runner.agent.permission_rules import Call
from runner.agent.shell import Redirect, SimpleCommand, command_name, uses_network_device, why_unverifiable
from runner.agent.shell_wrappers import git_without_global_options

# Never auto-approved by acceptEdits or by a Bash redirect: writing here can run code later
# (git hooks run when the runner commits) or widen the agent's own permissions.
PROTECTED_DIRS = frozenset({".git", ".claude"})
_SAFE_DEVICES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"})
_CD_COMMANDS = frozenset({"cd", "pushd", "popd"})
_GIT_CHECKOUTS = frozenset({"apply", "checkout", "restore", "reset", "switch", "merge", "pull", "rebase",
                            "cherry-pick", "revert", "stash", "am", "read-tree", "checkout-index", "clone",
                            "worktree", "submodule"})  # fmt: skip
_GLOB = frozenset("*?[")


def inside(path: str, roots: Sequence[Path | str]) -> str | None:
    """``path`` relative to the first root that contains it ("" for the root itself), or None."""
    for root in roots:
        base = posixpath.normpath(str(root))
        if path == base:
            return ""
        if path.startswith(base.rstrip("/") + "/"):
            return path[len(base.rstrip("/")) + 1 :]
    return None


def writable(path: str, roots: Sequence[Path | str]) -> bool:
    """Inside a root and not in a protected directory such as ``.git`` (case-insensitively)."""
    rel = inside(path, roots)
    return rel is not None and not PROTECTED_DIRS.intersection(p.casefold() for p in rel.split("/"))


def bash_blocker(call: Call, roots: Sequence[Path]) -> str | None:
    """Why no specific Bash allow rule may match this command (a bare ``Bash`` rule still does)."""
    command = call.command or ""
    if call.commands is None:
        why = why_unverifiable(command) or "it is empty"
        return f"the command cannot be checked against rules because {why}"
    if uses_network_device(command):
        return "the command uses a /dev/tcp or /dev/udp socket"
    checker = _Paths(call, roots)
    changes_dir = any(c.words and c.words[0] in _CD_COMMANDS for c in call.commands)
    link_makers = [i for i, c in enumerate(call.commands) if _makes_links(c)]
    for i, cmd in enumerate(call.commands):
        if changes_dir and any(v and command_name(v[0]) == "git" for v in cmd.views):
            return "it runs git after changing directory, where git may find another repository"
        writes = [r.target for r in cmd.redirects if r.writes]
        found = hazards(cmd.argv, len(cmd.assignments), call.cwd)
        writes += [h.path for h in found if h.path and h.access == WRITE]
        if writes and any(j != i for j in link_makers):
            maker = call.commands[next(j for j in link_makers if j != i)].words[0]
            return (
                f"it writes to `{writes[0]}` in the same command line as `{maker}`, which can make links: "
                "run them as separate commands"
            )
        problem = _redirect_problem(cmd, checker, changes_dir=changes_dir) or _hazard_problem(
            found, checker, changes_dir=changes_dir
        )
        if problem:
            return problem
    return None


def _makes_links(cmd: SimpleCommand) -> bool:
    for view in cmd.views:
        name = command_name(view[0]) if view else ""
        if name == "git":
            plain = git_without_global_options(view) or view
            if len(plain) > 1 and plain[1] in _GIT_CHECKOUTS:
                return True
        elif name in LINK_MAKERS:
            return True
    return False


def _redirect_problem(cmd: SimpleCommand, checker: _Paths, *, changes_dir: bool) -> str | None:
    for r in cmd.redirects:
        if r.reads_file and r.dynamic:  # could be /dev/tcp/... assembled at run time
            return f"it reads from `{r.target}`, a path only known at run time"
        if not r.writes:
            continue
        if r.dynamic or (changes_dir and not _absolute(r)):
            return f"it writes to `{r.target}`, a path only known at run time"
        problem = checker.check(r.target, WRITE, tilde=r.tilde)
        if problem:
            return f"it writes to `{r.target}`, {problem}"
    return None


def _absolute(r: Redirect) -> bool:
    return posixpath.isabs(r.target) or (r.tilde and (r.target == "~" or r.target.startswith("~/")))


def _hazard_problem(found: Sequence[Hazard], checker: _Paths, *, changes_dir: bool) -> str | None:
    for h in found:
        if h.path is None or not h.access:
            continue
        what = f"{h.describe()} names" if h.option else ("writes to" if h.access == WRITE else "reads")
        if "$" in h.path or h.dynamic or (changes_dir and not posixpath.isabs(h.path)):
            return f"{what} `{h.path}`, a path only known at run time"
        problem = checker.check(h.path, h.access, tilde=h.path.startswith("~"))
        if problem:
            return f"{what} `{h.path}`, {problem}"
    return None


class _Paths:
    """Checks paths against the roots, lexically and after resolving symlinks."""

    def __init__(self, call: Call, roots: Sequence[Path]) -> None:
        self.cwd, self.home = call.cwd, call.home
        self.roots = [posixpath.normpath(str(r)) for r in roots]
        self.real_roots = [os.path.realpath(r) for r in self.roots]

    def check(self, target: str, access: str, *, tilde: bool = False) -> str | None:
        """None when ``target`` may be used for ``access``, else what is wrong with it."""
        if tilde:
            if not (target == "~" or target.startswith("~/")):
                return "outside the workspace"
            target = self.home + target[1:]
        path = posixpath.normpath(posixpath.join(self.cwd, target))
        if path in _SAFE_DEVICES or path.startswith("/dev/fd/") or (access == READ and path == "/dev/zero"):
            return None
        candidates = [path]
        if _GLOB.intersection(path):
            parts = path.split("/")
            if access == WRITE and any(
                p.startswith(".") and any(fnmatchcase(d, p.casefold()) for d in PROTECTED_DIRS) for p in parts
            ):
                return "a pattern that can match .git or .claude"
            candidates = [*glob.glob(path), _literal_parent(path)]  # bash's `*` skips dot files too
        for candidate in candidates:
            problem = self._one(candidate, access)
            if problem:
                return problem
        return None

    def _one(self, path: str, access: str) -> str | None:
        real = os.path.realpath(path)
        if access == WRITE:
            if not writable(path, self.roots):
                return "outside the workspace (or in .git/.claude)"
            if not writable(real, self.real_roots):
                return f"which resolves to `{real}`, outside the workspace (or in .git/.claude)"
            if _hard_linked(real):
                return "a file with another hard link, which may be outside the workspace or in .git"
            return None
        if inside(path, self.roots) is None:
            return "outside the workspace"
        if inside(real, self.real_roots) is None:
            return f"which resolves to `{real}`, outside the workspace"
        return None


def _hard_linked(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_nlink > 1


def _literal_parent(path: str) -> str:
    """The longest leading part of ``path`` without glob characters."""
    parts = path.split("/")
    keep = next((i for i, p in enumerate(parts) if _GLOB.intersection(p)), len(parts))
    return "/".join(parts[:keep]) or "/"
