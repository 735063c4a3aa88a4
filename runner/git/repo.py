"""The git operations the runner makes: checkout, fetch, commit, push (see the package doc)."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from pathlib import Path

from runner.errors import GitError
from runner.git.branches import BranchNameError, render_branch_name, slugify, validate_branch_name
from runner.git.core import (
    DEFAULT_TIMEOUT,
    check_ref_arg,
    config_fingerprint,
    git_out,
    redact_text,
    run_git,
    verify_fingerprint,
)
from runner.git.credentials import auth_env, check_remote_url, strip_persisted_credentials
from runner.git.signing import CommitSigning

__all__ = [
    "DEFAULT_TIMEOUT",
    "BranchNameError",
    "GitError",
    "NonFastForward",
    "auth_env",
    "checkout_detached",
    "checkout_existing_branch",
    "checkout_new_branch",
    "commit_all",
    "config_fingerprint",
    "current_branch",
    "deepen",
    "default_branch",
    "fetch",
    "fetch_ref",
    "head_sha",
    "is_shallow",
    "push",
    "push_command",
    "render_branch_name",
    "run_git",
    "slugify",
    "stage",
    "strip_persisted_credentials",
    "validate_branch_name",
]


# --- workspace state ---------------------------------------------------------------------------


def current_branch(cwd: Path) -> str | None:
    """The checked-out branch's short name, or None on a detached HEAD."""
    proc = run_git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd, check=False)
    return (proc.stdout.strip() or None) if proc.returncode == 0 else None


def head_sha(cwd: Path) -> str:
    """The full sha of HEAD."""
    return git_out(["rev-parse", "--verify", "HEAD^{commit}"], cwd)


def default_branch(cwd: Path, remote: str = "origin", fallback: str | None = None) -> str:
    """The remote's default branch from ``refs/remotes/<remote>/HEAD`` (set by clone), else ``fallback``."""
    proc = run_git(["symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD"], cwd, check=False)
    prefix = f"refs/remotes/{remote}/"
    name = proc.stdout.strip()
    if proc.returncode == 0 and name.startswith(prefix):
        return name[len(prefix) :]
    if fallback:
        return fallback
    raise GitError(
        f"cannot tell the default branch of {remote!r}: refs/remotes/{remote}/HEAD is not set",
        f"pass the base branch explicitly or run `git remote set-head {remote} --auto`",
    )


# --- branches ----------------------------------------------------------------------------------


def is_shallow(cwd: Path) -> bool:
    """Whether the clone is shallow (then fetches need a depth, or they download the full history)."""
    return git_out(["rev-parse", "--is-shallow-repository"], cwd) == "true"


def fetch(
    cwd: Path,
    branch: str,
    *,
    remote: str = "origin",
    remote_url: str | None = None,
    token: str | None = None,
    username: str = "x-access-token",
    depth: int | None = None,
) -> str:
    """Fetch ``branch`` into ``refs/remotes/<remote>/<branch>``; returns that ref.

    With ``remote_url``, fetches from that URL with the token (see :func:`push`). ``depth`` is
    used only when the clone is already shallow: on a full clone it would cut off the history
    and with it the merge base.
    """
    validate_branch_name(branch)
    ref = f"refs/heads/{branch}"
    (tracking,) = _fetch(cwd, [ref], remote, remote_url, token, username, _depth(cwd, depth))
    return tracking


def fetch_ref(
    cwd: Path,
    ref: str,
    *,
    remote: str = "origin",
    remote_url: str | None = None,
    token: str | None = None,
    username: str = "x-access-token",
    depth: int | None = None,
) -> str:
    """Fetch a full ref (``refs/merge-requests/5/head``, ``refs/pull/5/head``) into
    ``refs/runner/<remote>/...``; returns that local ref. Same credentials and depth rules as
    :func:`fetch`. A separate function, not a ``refs/`` prefix test in :func:`fetch`, so that a
    branch someone named ``refs/...`` can never select another ref."""
    if not ref.startswith("refs/") or ref.startswith("refs/heads/"):
        raise GitError(f"not a full non-branch ref: {ref!r}")
    (local,) = _fetch(cwd, [ref], remote, remote_url, token, username, _depth(cwd, depth))
    return local


def deepen(
    cwd: Path,
    refs: Sequence[str],
    *,
    by: int | None,
    remote: str = "origin",
    remote_url: str | None = None,
    token: str | None = None,
    username: str = "x-access-token",
) -> list[str]:
    """Fetch more history of a shallow clone: ``by`` more commits behind the current shallow
    boundary of each of ``refs`` (full refs: ``refs/heads/main``, ``refs/pull/5/head``), or all
    of it when ``by`` is None (``--unshallow``, or a plain fetch once the clone is complete).
    Returns the local refs, named as :func:`fetch` and :func:`fetch_ref` name them."""
    if by is not None and by < 1:
        raise GitError(f"cannot deepen by {by} commits")
    option = [f"--deepen={by}"] if by is not None else ["--unshallow"] if is_shallow(cwd) else []
    return _fetch(cwd, refs, remote, remote_url, token, username, option)


def _depth(cwd: Path, depth: int | None) -> list[str]:
    return [f"--depth={depth}"] if depth and is_shallow(cwd) else []


def _local_ref(ref: str, remote: str) -> str:
    if ref.startswith("refs/heads/"):
        return f"refs/remotes/{remote}/{ref.removeprefix('refs/heads/')}"
    if ref.startswith("refs/"):
        return f"refs/runner/{remote}/{ref.removeprefix('refs/')}"
    raise GitError(f"not a full ref: {ref!r}")


def _fetch(
    cwd: Path,
    refs: Sequence[str],
    remote: str,
    remote_url: str | None,
    token: str | None,
    username: str,
    options: Sequence[str],
) -> list[str]:
    validate_branch_name(remote)  # it becomes part of a ref and an argument
    for ref in refs:
        validate_branch_name(ref)
    locals_ = [_local_ref(ref, remote) for ref in refs]
    source = remote
    if remote_url is not None:
        check_remote_url(remote_url)
        source = remote_url
    refspecs = [f"+{ref}:{local}" for ref, local in zip(refs, locals_, strict=True)]
    run_git(
        ["fetch", "--no-tags", "--no-recurse-submodules", *options, source, *refspecs],
        cwd,
        extra_env=auth_env(source, token, username),
        redact=[token] if token else [],
    )
    return locals_


def checkout_detached(cwd: Path, rev: str) -> None:
    """Check out ``rev`` on a detached HEAD (a fork's head: no local branch to push by mistake)."""
    run_git(["checkout", "--detach", check_ref_arg(rev), "--"], cwd)


def checkout_new_branch(cwd: Path, name: str, start_point: str) -> None:
    """Create branch ``name`` at ``start_point`` and check it out (no upstream: pushes are explicit)."""
    validate_branch_name(name)
    run_git(["checkout", "--no-track", "-b", name, check_ref_arg(start_point), "--"], cwd)


def checkout_existing_branch(
    cwd: Path,
    name: str,
    remote: str = "origin",
    *,
    remote_url: str | None = None,
    token: str | None = None,
    username: str = "x-access-token",
    depth: int | None = None,
) -> None:
    """Fetch ``name`` from the remote and check it out as a local branch tracking it."""
    tracking = fetch(
        cwd, name, remote=remote, remote_url=remote_url, token=token, username=username, depth=depth
    )
    run_git(["checkout", "-B", name, tracking, "--"], cwd)
    # Tracking needs a configured remote; a bare URL fetch (tests, forks) simply has none.
    run_git(["branch", f"--set-upstream-to={remote}/{name}", name], cwd, check=False)


# --- commit and push ---------------------------------------------------------------------------


def _identity_part(value: str, what: str) -> str:
    if not value.strip() or any(c in value for c in "<>\n\r\0"):
        raise GitError(f"invalid {what} for a commit: {value!r}")
    return value.strip()


def commit_all(
    cwd: Path,
    message: str,
    *,
    author_name: str,
    author_email: str,
    co_authors: Sequence[tuple[str, str]] = (),
    expect_config: str | None = None,
    exclude: Sequence[str] = (),
    add_config: Sequence[str] = (),
    signing: CommitSigning | None = None,
) -> str | None:
    """Stage everything (``git add -A``) and commit it as the bot; the new sha, or None if nothing changed.

    Author and committer are the bot; each ``(name, email)`` in ``co_authors`` becomes a
    ``Co-authored-by:`` trailer. ``--no-verify`` plus the hooks path forced to nowhere (on every
    git call, see :func:`run_git`): hooks are files the agent can write, and the runner's
    credentials are in reach while it commits. ``--no-gpg-sign``: ``gpg.program`` is config too.
    ``expect_config`` is a :func:`config_fingerprint` taken before the agent ran. ``exclude``:
    paths left out (and unstaged, if staged); ``add_config``: ``key=value`` settings for the
    ``git add`` alone (the Git LFS clean filter, see :mod:`runner.git.lfs`); ``signing``: sign the
    commit with an SSH key (:mod:`runner.git.signing`).
    """
    verify_fingerprint(cwd, expect_config)
    name = _identity_part(author_name, "author name")
    email = _identity_part(author_email, "author email")
    trailers = [
        f"Co-authored-by: {_identity_part(n, 'co-author name')} <{_identity_part(e, 'co-author email')}>"
        for n, e in co_authors
    ]
    stage(cwd, exclude=exclude, add_config=add_config)
    if run_git(["diff", "--cached", "--quiet", "--no-ext-diff"], cwd, check=False).returncode == 0:
        return None
    body = message.strip() or "Changes by Claude"
    if trailers:
        body += "\n\n" + "\n".join(dict.fromkeys(trailers))
    identity = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    sign = signing.config() if signing is not None else []
    args = [*sign, "-c", f"user.name={name}", "-c", f"user.email={email}", "commit", "--no-verify"]
    args.append(CommitSigning.flag(signing))
    run_git([*args, "--cleanup=strip", "-F", "-"], cwd, extra_env=identity, input=body + "\n")
    return head_sha(cwd)


class NonFastForward(GitError):
    """A push refused because the remote branch moved on (someone else pushed meanwhile)."""


def stage(cwd: Path, *, exclude: Sequence[str] = (), add_config: Sequence[str] = ()) -> None:
    """``git add -A`` but for ``exclude`` (paths taken literally), which are also unstaged."""
    config = [arg for item in add_config for arg in ("-c", item)]
    # The pathspecs go through stdin: any number of paths, none of them read as an option.
    specs = [".", *(f":(exclude,literal){path}" for path in exclude)]
    add = ["add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"]
    run_git([*config, *add], cwd, input="\0".join(specs) + "\0")
    if exclude:
        paths = "\0".join(f":(literal){path}" for path in exclude) + "\0"
        reset = ["reset", "-q", "--pathspec-from-file=-", "--pathspec-file-nul"]
        run_git(reset, cwd, input=paths, check=False)  # fails on an unborn HEAD: nothing was staged


def push_command(
    branch: str,
    *,
    remote_url: str,
    token: str | None,
    username: str = "x-access-token",
    force: bool = False,
    protected: Collection[str] = (),
) -> tuple[list[str], dict[str, str]]:
    """The git arguments and extra environment :func:`push` uses (the token is only in the env)."""
    validate_branch_name(branch)
    check_remote_url(remote_url)
    short = branch.removeprefix("refs/heads/")
    if short in {p.removeprefix("refs/heads/") for p in protected}:
        raise GitError(
            f"refusing to push to protected branch {short!r}",
            "the runner pushes to a claude/ branch or the change request's head branch only",
        )
    refspec = f"{'+' if force else ''}HEAD:refs/heads/{short}"
    return ["push", "--no-verify", "--porcelain", remote_url, refspec], auth_env(remote_url, token, username)


def push(
    cwd: Path,
    branch: str,
    *,
    remote_url: str,
    token: str | None,
    protected: Collection[str],
    username: str = "x-access-token",
    force: bool = False,
    expect_config: str | None = None,
) -> None:
    """Push HEAD to ``refs/heads/<branch>`` at ``remote_url``, authenticated with ``token``.

    ``protected`` names branches never pushed to (the default branch, at least). The token is
    sent as an HTTP Basic header (``username:token``) configured through ``GIT_CONFIG_*``
    environment variables: not in argv, the URL, or ``.git/config``. Local paths and
    ``file://`` URLs need no token. A non-fast-forward rejection raises :class:`NonFastForward`,
    any other failure :class:`GitError` with the remote's reason.
    """
    args, push_env = push_command(
        branch, remote_url=remote_url, token=token, username=username, force=force, protected=protected
    )
    verify_fingerprint(cwd, expect_config)
    proc = run_git(args, cwd, extra_env=push_env, check=False, redact=[token] if token else [])
    if proc.returncode == 0:
        return
    text = f"{proc.stdout}\n{proc.stderr}"
    if re.search(r"non-fast-forward|fetch first|\[rejected\]|stale info", text):
        raise NonFastForward(
            f"push to {branch!r} was rejected: the remote branch has commits this run does not have "
            "(someone pushed meanwhile)",
            "re-run the job to start from the new head",
        )
    raise GitError(f"git push to {branch!r} failed: {_push_failure(proc.stdout, proc.stderr, token)}")


def _push_failure(stdout: str, stderr: str, token: str | None) -> str:
    # --porcelain: "!<TAB>HEAD:refs/heads/x<TAB>[remote rejected] (pre-receive hook declined)".
    reasons = [ln.split("\t")[-1].strip() for ln in stdout.splitlines() if ln.startswith("!")]
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith("To ")]
    remote = [ln for ln in lines if ln.startswith("remote:") and ln.removeprefix("remote:").strip()]
    parts = [*reasons[:1], *remote[:1]] or lines[:1] or ["no output"]
    return redact_text("; ".join(parts), [token] if token else [])


# --- credentials left by the checkout ----------------------------------------------------------
