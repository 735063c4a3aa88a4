"""Shared ground for the attack suites: a real git workspace, things outside it, and calls made the
way the agent loop makes them (a permission decision with a policy built like the flows build it,
then the real tool).

Every attack is judged by its effect: a marker a planted program would create, a file outside the
workspace, ``.git/config`` and ``.git/hooks``, a secret's text in the tool's answer.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.agent import permissions
from runner.agent.headless import _policy
from runner.agent.settings_sources import settings_sources
from runner.agent.tools import BUILTIN_TOOLS
from runner.agent.tools.base import ReadLedger, ToolContext, ToolError, ToolResult
from runner.settings.run import RunSettings

SECRET = "TOPSECRET-4f1d9c"


@dataclass
class World:
    """A workspace with a two-commit git repository, and the places an attacker aims for."""

    root: Path  # the test's tmp_path
    ws: Path  # the workspace (real path)
    out: Path  # a directory outside the workspace
    home: Path  # the tools' HOME
    pwned: Path  # created by every planted program: it must never exist
    evil: Path  # a planted program that creates ``pwned`` (outside the workspace)
    secret: Path  # outside the workspace; its text must never reach a tool result
    read_files: ReadLedger = field(default_factory=ReadLedger)  # one run's: Edit needs a Read first

    def fmt(self, text: str) -> str:
        """``text`` with {WS}, {OUT}, {PWN}, {EVIL}, {SECRET}, {HOME} filled in."""
        return text.format(
            WS=self.ws, OUT=self.out, PWN=self.pwned, EVIL=self.evil, SECRET=self.secret, HOME=self.home
        )

    def snapshot(self) -> dict[str, str]:
        """What must not change: .git's config and hooks, everything outside, the workspace's files."""
        seen: dict[str, str] = {}
        for base in (self.out, self.home, self.ws / ".git" / "hooks"):
            for path in sorted(base.rglob("*")):
                seen[str(path)] = _digest(path)
        for name in (".git/config", "a.py", "a.txt", "keep.txt"):
            seen[name] = _digest(self.ws / name)
        return seen

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.ws, env=git_env(self.home), check=True, capture_output=True, text=True
        ).stdout


def _digest(path: Path) -> str:
    if path.is_symlink():
        return "link:" + os.readlink(path)
    if path.is_dir():
        return "dir"
    if not path.exists():
        return "absent"
    return hashlib.sha256(path.read_bytes()).hexdigest() + f":{path.stat().st_mode:o}"


def git_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LANG": "C",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    }


def make_world(tmp_path: Path) -> World:
    root = Path(os.path.realpath(tmp_path))
    ws, out, home = root / "ws", root / "outside", root / "home"
    for d in (ws, out, home):
        d.mkdir()
    secret = out / "secret.txt"
    secret.write_text(f"{SECRET}\n")
    (out / "keep.txt").write_text("keep me\n")
    pwned = out / "pwned"
    evil = out / "evil.sh"
    evil.write_text(f"#!/bin/sh\ntouch {pwned}\n")
    evil.chmod(0o755)
    world = World(root, ws, out, home, pwned, evil, secret)
    world.git("init", "-q", "-b", "main")
    (ws / "a.py").write_text("print('one')\n")
    (ws / "a.txt").write_text("alpha\nbeta\n")
    (ws / "keep.txt").write_text("keep\n")
    world.git("add", ".")
    world.git("commit", "-qm", "one")
    (ws / "a.py").write_text("print('two')\n")
    world.git("commit", "-qam", "two")
    return world


def policy(
    world: World, allow: Sequence[str] = (), deny: Sequence[str] = (), mode: str | None = None
) -> permissions.PermissionPolicy:
    """The policy `prepare_run` builds from these flags (project settings off: nothing planted)."""
    settings = RunSettings(
        cwd=world.ws,
        allowed_tools=tuple(allow),
        disallowed_tools=tuple(deny),
        permission_mode=mode,
        project_settings=False,
    )
    # No user settings either (config_dir None): the machine's ~/.claude must not change the verdicts.
    return _policy(settings, world.ws, (), world.home, settings_sources(settings, world.ws, None, None))


@dataclass
class Outcome:
    decision: permissions.Decision
    result: ToolResult | None  # None when the call was refused

    @property
    def text(self) -> str:
        content = self.result.content if self.result else self.decision.reason
        return content if isinstance(content, str) else repr(content)


def call(world: World, pol: permissions.PermissionPolicy, tool: str, args: Mapping[str, Any]) -> Outcome:
    """One tool call as the loop makes it: decide, then run the real tool if allowed."""
    impl = BUILTIN_TOOLS[tool]()
    decision = permissions.decide(pol, tool, args, read_only=impl.read_only, edits_files=impl.edits_files)
    if not decision.allowed:
        return Outcome(decision, None)
    ctx = ToolContext(cwd=world.ws, subprocess_env=git_env(world.home), read_files=world.read_files)
    try:
        return Outcome(decision, impl.run(args, ctx))
    except ToolError as exc:
        return Outcome(decision, ToolResult(str(exc), is_error=True))


def bash(world: World, pol: permissions.PermissionPolicy, command: str) -> Outcome:
    return call(world, pol, "Bash", {"command": world.fmt(command)})
