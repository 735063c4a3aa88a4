"""The one way the runner starts git: argv lists, a scrubbed environment, hooks switched off."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from runner.agent.env import scrubbed_process_environ
from runner.errors import GitError, WorkspaceError
from runner.sanitize import Redactor

DEFAULT_TIMEOUT = 120.0


# Set on every git command: hooks (pre-push, post-checkout, post-commit...) and fsmonitor are
# programs the workspace can name, and they would run with the runner's environment.
_SAFETY_CONFIG = ("core.hooksPath=" + os.devnull, "core.fsmonitor=false")

# Variables that would point git at another repository than ``cwd`` (set e.g. inside a hook).
_REPO_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)
_DROPPED_VARS = frozenset({*_REPO_LOCATION_VARS, "SSH_ASKPASS", "GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS"})
URL_USERINFO = re.compile(r"(?i)\b(https?://)[^/\s@]+@")


def redact_text(text: str, secrets: Sequence[str]) -> str:
    """``text`` without ``secrets``, well-known token formats or URL credentials."""
    return Redactor(secrets).text(URL_USERINFO.sub(r"\1[REDACTED]@", text))


def _git_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    """The environment of a git process: scrubbed of credentials, deterministic, non-interactive."""
    git_env = scrubbed_process_environ()
    for name in list(git_env):
        # Inherited config-by-environment (GIT_CONFIG_COUNT/KEY_n/VALUE_n, GIT_CONFIG_PARAMETERS
        # from a parent git) would mix with ours: git runs with only what the runner passes.
        if name in _DROPPED_VARS or name.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")):
            del git_env[name]
    git_env.update(
        LC_ALL="C",
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="",  # set-but-empty: git neither prompts nor runs core.askPass from the repo
        GIT_PAGER="cat",
        PAGER="cat",
        GIT_CONFIG_NOSYSTEM="1",
    )
    git_env.update(extra or {})
    return git_env


def _subcommand(args: Sequence[str]) -> str:
    it = iter(args)
    for arg in it:
        if arg in ("-c", "-C"):
            next(it, None)
        elif not arg.startswith("-"):
            return arg
    return "?"


def run_git(
    args: Sequence[str],
    cwd: Path,
    *,
    extra_env: Mapping[str, str] | None = None,
    check: bool = True,
    input: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    redact: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``git <args>`` in ``cwd`` (argv list, no shell) and return the completed process.

    ``extra_env`` is laid over the scrubbed environment. With ``check``, a non-zero exit raises
    :class:`GitError` with the subcommand and git's first stderr line, ``redact`` values and
    URL credentials removed.
    """
    argv = ["git", "--no-pager"]
    for item in _SAFETY_CONFIG:
        argv += ["-c", item]
    argv += list(args)
    full_env = _git_env(extra_env)
    secrets = [*redact, *(v for k, v in (extra_env or {}).items() if k.startswith("GIT_CONFIG_VALUE_"))]
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=full_env,
            input=input,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {_subcommand(args)} timed out after {timeout:g}s") from exc
    except OSError as exc:
        if cwd is not None and not Path(cwd).is_dir():  # not git's fault: the directory is missing
            raise WorkspaceError(
                f"the directory {cwd} does not exist", "check the job's working directory"
            ) from exc
        raise GitError(f"cannot run git: {exc}", "install git and make sure it is on PATH") from exc
    if check and proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        detail = redact_text(lines[0], secrets) if lines else "no output"
        raise GitError(f"git {_subcommand(args)} failed (exit {proc.returncode}): {detail}")
    return proc


def git_out(args: Sequence[str], cwd: Path) -> str:
    """The stripped stdout of a git command that must succeed."""
    return run_git(args, cwd).stdout.strip()


def check_ref_arg(ref: str) -> str:
    """``ref`` if it is safe to pass as a revision argument; else :class:`GitError`."""
    # A revision that starts with "-" would be parsed as an option (git flag injection).
    if not ref or ref.startswith("-") or any(c in ref for c in "\n\r\0"):
        raise GitError(f"invalid git revision {ref!r}")
    return ref


def config_fingerprint(cwd: Path) -> str:
    """A hash of the effective git configuration (every scope, includes followed, with origins).

    Take it before the agent's turn and pass it to :func:`commit_all` / :func:`push`: if the
    agent rewrote ``.git/config`` or ``~/.gitconfig`` (``url.*.insteadOf``, a proxy, a filter
    driver), the runner refuses to use git with its token in that repository. Take it after
    preparing the workspace: checking out a tracking branch writes ``branch.*`` entries.
    """
    out = run_git(["config", "--list", "--show-origin", "-z"], cwd, check=False).stdout
    return hashlib.sha256(out.encode()).hexdigest()


def verify_fingerprint(cwd: Path, expected: str | None) -> None:
    """Raise :class:`GitError` if the configuration no longer matches ``expected`` (None: no check)."""
    if expected is not None and config_fingerprint(cwd) != expected:
        raise GitError(
            "git configuration changed during the agent's turn; refusing to commit or push",
            "check .git/config and ~/.gitconfig for changes made by the agent's commands",
        )
