"""Putting commits somewhere safe when a push fails: rebase onto a moved branch, a patch, a bundle."""

from __future__ import annotations

from pathlib import Path

from runner.git.core import check_ref_arg, git_out, run_git, verify_fingerprint
from runner.git.signing import CommitSigning


def rebase_onto(
    cwd: Path,
    onto: str,
    upstream: str,
    *,
    name: str,
    email: str,
    expect_config: str | None = None,
    signing: CommitSigning | None = None,
) -> bool:
    """Replay the commits ``upstream..HEAD`` onto ``onto``; whether they applied cleanly.

    On a conflict the rebase is aborted and HEAD is back where it was, the work untouched.
    The commits keep their author; the committer is ``name <email>`` (the bot). Changes left
    out of the commits (a file too large to push) are stashed and put back. Nothing
    interactive: no editor, no autosquash; signed only with ``signing`` (an SSH key).
    """
    verify_fingerprint(cwd, expect_config)
    before = git_out(["rev-parse", "--verify", "HEAD^{commit}"], cwd)
    identity = {"GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email, "GIT_EDITOR": "true"}
    sign = signing.config() if signing is not None else []
    args = [*sign, "-c", f"user.name={name}", "-c", f"user.email={email}", "rebase", "--autostash"]
    args += [
        "--no-autosquash",
        CommitSigning.flag(signing),
        "--onto",
        check_ref_arg(onto),
        check_ref_arg(upstream),
    ]
    if run_git(args, cwd, extra_env=identity, check=False).returncode == 0:
        return True
    run_git(["rebase", "--abort"], cwd, check=False)
    if git_out(["rev-parse", "--verify", "HEAD^{commit}"], cwd) != before:
        run_git(["reset", "-q", "--keep", before], cwd, check=False)
    return False


def write_patch(cwd: Path, start: str, path: Path, end: str = "HEAD") -> Path:
    """The commits ``start..end`` as one mbox file at ``path`` (``git format-patch``), which
    ``git am`` applies on ``start``: messages, authors and binary changes included."""
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["format-patch", "--binary", "--no-signature", "--src-prefix=a/", "--dst-prefix=b/"]
    run_git([*args, f"--output={path}", f"{check_ref_arg(start)}..{check_ref_arg(end)}"], cwd)
    return path


def write_bundle(cwd: Path, start: str, path: Path, end: str = "HEAD") -> Path:
    """The commits ``start..end`` as a git bundle at ``path`` (``git bundle create``); a
    repository that has ``start`` gets them with ``git fetch <path> HEAD``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    run_git(["bundle", "create", "-q", str(path), f"{check_ref_arg(start)}..{check_ref_arg(end)}"], cwd)
    return path
