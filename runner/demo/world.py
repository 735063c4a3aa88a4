"""What every demo plays in, whichever platform: a bare git repository as the remote (``master``
with a bug, ``fix-calc`` with a pull request's work), the job's checkout of it, a git config of
our own, and the few variables of the caller's environment the job may see.

Git is real (argv-only, as the runner's own git is); only stdlib modules are imported at the top.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BUGGY_CALC = 'def add(a, b):\n    """The sum of a and b."""\n    return a - b\n'
TEST_CALC = "from calc import add\n\nassert add(2, 3) == 5, f'add(2, 3) == {add(2, 3)}'\nprint('ok')\n"
PR_BRANCH, BASE = "fix-calc", "master"
# The review scenarios' pull request adds mul() to calc.py (lines 4-11 on the branch).
MUL_SRC = (
    '\n\ndef mul(a, b):\n    """The product of a and b."""\n'
    "    result = 0\n    for _ in range(b):\n        result = result + a\n    return result\n"
)
FAKE_KEY = "sk-ant-demo-not-a-real-key"
# Only these variables of the caller's environment reach the job: a real ANTHROPIC_*, GITHUB_*
# or CLAUDE_CODE_USE_* variable must not steer the demo away from the fakes.
PASSED_VARS = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TEMP", "TMP", "USER", "SYSTEMROOT")


@contextlib.contextmanager
def isolated_git(root: Path, server: str, *, user: str, email: str) -> Iterator[None]:
    """Our own global git config (``root/gitconfig``) for every git process until the block ends.

    The user's (signing, hooks, templates) must not change the demo; an ``insteadOf`` rule sends
    ``server``'s clone URLs to the bare repositories under ``root/remotes``.
    """
    from unittest import mock

    gitconfig = root / "gitconfig"
    gitconfig.write_text(
        f'[url "file://{root}/remotes/"]\n\tinsteadOf = {server}/\n'
        f"[user]\n\tname = {user}\n\temail = {email}\n"
        "[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = master\n",
        encoding="utf-8",
    )
    # The runner's own git processes read os.environ; patch.dict restores it afterwards.
    with mock.patch.dict(os.environ, GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1"):
        yield


def passed_environ() -> dict[str, str]:
    """The caller's variables the job may see (``PASSED_VARS``), as a new dict to add the job's to."""
    return {name: os.environ[name] for name in PASSED_VARS if name in os.environ}


def run_git(*args: str, cwd: Path) -> str:
    """``git *args`` in ``cwd``; its stdout, stripped. A failure is a ``GitError``."""
    import subprocess

    from runner.errors import GitError

    try:
        proc = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH", "install git; the runner needs it") from exc
    except subprocess.CalledProcessError as exc:
        raise GitError(f"git {' '.join(args)[:80]} failed: {exc.stderr.strip()}") from exc
    return proc.stdout.strip()


def make_repos(root: Path, origin: Path, *, review: bool = False) -> Path:
    """The remote (``master`` with the bug, ``fix-calc`` with a PR's work: a README, and for a
    review ``mul()`` in calc.py) and the job's checkout."""
    seed = root / "seed"
    seed.mkdir()
    run_git("init", "-q", "-b", BASE, cwd=seed)
    (seed / "calc.py").write_text(BUGGY_CALC, encoding="utf-8")
    (seed / "test_calc.py").write_text(TEST_CALC, encoding="utf-8")
    run_git("add", ".", cwd=seed)
    run_git("commit", "-qm", "Add calc.add", cwd=seed)
    run_git("checkout", "-q", "-b", PR_BRANCH, cwd=seed)
    (seed / "README.md").write_text("# calc\n\n`add(a, b)` adds two numbers.\n", encoding="utf-8")
    if review:
        (seed / "calc.py").write_text(BUGGY_CALC + MUL_SRC, encoding="utf-8")
    run_git("add", ".", cwd=seed)
    run_git("commit", "-qm", "Document calc", cwd=seed)
    origin.parent.mkdir(parents=True)
    run_git("clone", "-q", "--bare", str(seed), str(origin), cwd=root)
    workspace = root / "workspace"
    run_git("clone", "-q", "-b", BASE, str(origin), str(workspace), cwd=root)
    return workspace


def branch_heads(origin: Path) -> dict[str, str]:
    """Each branch of the bare remote ``origin`` and the commit it points at."""
    out = run_git(
        "--git-dir",
        str(origin),
        "for-each-ref",
        "--format=%(refname:short) %(objectname)",
        "refs/heads",
        cwd=origin,
    )
    return dict(line.split(" ", 1) for line in out.splitlines())


def new_commits(origin: Path, branch: str, before: dict[str, str]) -> list[dict[str, str]]:
    """The commits on ``branch`` that were on no branch before the run, newest first."""
    fmt = "%h%x1f%an <%ae>%x1f%s%x1f%(trailers:key=Co-authored-by,valueonly,separator=%x2C )%x1e"
    out = run_git(
        "--git-dir", str(origin), "log", f"--format={fmt}", branch, "--not", *before.values(), cwd=origin
    )
    keys = ("hash", "author", "subject", "co_authored_by")
    return [
        dict(zip(keys, rec.strip().split("\x1f"), strict=True)) for rec in out.split("\x1e") if rec.strip()
    ]


def diff_since(origin: Path, branch: str, before: dict[str, str]) -> str:
    """What the run changed on ``branch`` (from its head before the run, or the base's if it is new)."""
    start = before.get(branch) or before[BASE]
    return run_git("--git-dir", str(origin), "diff", "--no-color", "--no-ext-diff", start, branch, cwd=origin)


def pr_files(origin: Path, base: str, head: str) -> list[dict[str, Any]]:
    """The pull request's files as the host lists them, from the bare remote's diff."""
    from runner.review.checkout import files_between

    merge_base = run_git("--git-dir", str(origin), "merge-base", base, head, cwd=origin)
    found = files_between(origin, merge_base, head)
    return [{"filename": f.path, "status": f.status, "patch": f.patch} for f in found]
