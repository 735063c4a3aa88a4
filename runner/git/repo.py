"""The git operations the runner makes: checkout, fetch, diff, commit, push (see the package doc)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from pathlib import Path

from runner.errors import GitError
from runner.git.branches import BranchNameError, render_branch_name, slugify, validate_branch_name
from runner.git.core import DEFAULT_TIMEOUT, check_ref_arg, git_out, redact_text, run_git
from runner.git.credentials import auth_env, check_remote_url, strip_persisted_credentials

__all__ = [
    "DEFAULT_TIMEOUT",
    "BranchNameError",
    "GitError",
    "auth_env",
    "changed_files",
    "checkout_detached",
    "checkout_existing_branch",
    "checkout_new_branch",
    "commit_all",
    "config_fingerprint",
    "current_branch",
    "default_branch",
    "diff_names",
    "diff_stat",
    "fetch",
    "fetch_ref",
    "has_changes",
    "head_sha",
    "is_shallow",
    "merge_base",
    "merge_base_diff",
    "push",
    "push_command",
    "render_branch_name",
    "run_git",
    "slugify",
    "strip_persisted_credentials",
    "validate_branch_name",
    "worktree_diff",
]

DEFAULT_MAX_DIFF_BYTES = 200_000


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


def _status_entries(cwd: Path) -> list[str]:
    # -z: paths verbatim (no quoting); untracked files listed one by one; .gitignore respected.
    out = run_git(["status", "--porcelain=v1", "-z", "--untracked-files=all"], cwd).stdout
    fields = out.split("\0")
    paths: list[str] = []
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":  # a rename/copy is followed by its source path
            paths.append(fields[i])
            i += 1
    return paths


def has_changes(cwd: Path) -> bool:
    """Whether the worktree or index differs from HEAD (untracked files count, ignored ones do not)."""
    return bool(_status_entries(cwd))


def changed_files(cwd: Path) -> list[str]:
    """Paths changed against HEAD, untracked included, sorted (both sides of a staged rename)."""
    return sorted(set(_status_entries(cwd)))


def config_fingerprint(cwd: Path) -> str:
    """A hash of the effective git configuration (every scope, includes followed, with origins).

    Take it before the agent's turn and pass it to :func:`commit_all` / :func:`push`: if the
    agent rewrote ``.git/config`` or ``~/.gitconfig`` (``url.*.insteadOf``, a proxy, a filter
    driver), the runner refuses to use git with its token in that repository. Take it after
    preparing the workspace: checking out a tracking branch writes ``branch.*`` entries.
    """
    out = run_git(["config", "--list", "--show-origin", "-z"], cwd, check=False).stdout
    return hashlib.sha256(out.encode()).hexdigest()


def _verify_fingerprint(cwd: Path, expected: str | None) -> None:
    if expected is not None and config_fingerprint(cwd) != expected:
        raise GitError(
            "git configuration changed during the agent's turn; refusing to commit or push",
            "check .git/config and ~/.gitconfig for changes made by the agent's commands",
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
    validate_branch_name(remote)  # it becomes part of a ref and an argument
    tracking = f"refs/remotes/{remote}/{branch}"
    _fetch(cwd, f"refs/heads/{branch}", tracking, remote, remote_url, token, username, depth)
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
    validate_branch_name(ref)
    validate_branch_name(remote)
    local = f"refs/runner/{remote}/{ref.removeprefix('refs/')}"
    _fetch(cwd, ref, local, remote, remote_url, token, username, depth)
    return local


def _fetch(
    cwd: Path,
    source_ref: str,
    local_ref: str,
    remote: str,
    remote_url: str | None,
    token: str | None,
    username: str,
    depth: int | None,
) -> None:
    args = ["fetch", "--no-tags", "--no-recurse-submodules"]
    if depth and is_shallow(cwd):
        args.append(f"--depth={depth}")
    source = remote
    if remote_url is not None:
        check_remote_url(remote_url)
        source = remote_url
    run_git(
        [*args, source, f"+{source_ref}:{local_ref}"],
        cwd,
        extra_env=auth_env(source, token, username),
        redact=[token] if token else [],
    )


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


# --- diffs -------------------------------------------------------------------------------------


def _bounded(text: str, max_bytes: int) -> str:
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    cut = data[:max_bytes]
    if b"\n" in cut:
        cut = cut[: cut.rindex(b"\n") + 1]  # whole lines only
    kept = cut.decode(errors="ignore")
    return f"{kept}[... diff truncated: {len(cut)} of {len(data)} bytes shown ...]\n"


def merge_base(cwd: Path, base_ref: str, head_ref: str = "HEAD") -> str:
    """The sha of ``git merge-base base head``."""
    proc = run_git(["merge-base", check_ref_arg(base_ref), check_ref_arg(head_ref)], cwd, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise GitError(
            f"no merge base between {base_ref} and {head_ref}",
            "fetch more history (the clone may be too shallow)",
        )
    return proc.stdout.strip()


def _diff(cwd: Path, extra: Sequence[str], base_ref: str, head_ref: str) -> str:
    base = merge_base(cwd, base_ref, head_ref)
    # --no-ext-diff/--no-textconv: diff drivers from the workspace's config are programs too.
    args = ["diff", "--no-ext-diff", "--no-textconv", "--no-color", *extra, base, head_ref, "--"]
    return run_git(args, cwd).stdout


def merge_base_diff(
    cwd: Path, base_ref: str, head_ref: str = "HEAD", *, max_bytes: int = DEFAULT_MAX_DIFF_BYTES
) -> str:
    """The patch of ``head_ref`` against its merge base with ``base_ref`` (the branch's own changes).

    Cut at a line boundary after ``max_bytes``, with a closing note saying how much was shown.
    """
    return _bounded(_diff(cwd, [], base_ref, head_ref), max_bytes)


def diff_stat(
    cwd: Path, base_ref: str, head_ref: str = "HEAD", *, max_bytes: int = DEFAULT_MAX_DIFF_BYTES
) -> str:
    """``git diff --stat`` of ``head_ref`` against the merge base, bounded like :func:`merge_base_diff`."""
    return _bounded(_diff(cwd, ["--stat"], base_ref, head_ref), max_bytes)


def diff_names(cwd: Path, base_ref: str, head_ref: str = "HEAD") -> list[str]:
    """Paths changed by ``head_ref`` since its merge base with ``base_ref``."""
    out = _diff(cwd, ["--name-only", "-z"], base_ref, head_ref)
    return [p for p in out.split("\0") if p]


def worktree_diff(
    cwd: Path,
    start_sha: str,
    *,
    unified: int = 3,
    expect_config: str | None = None,
    max_bytes: int = DEFAULT_MAX_DIFF_BYTES,
) -> str:
    """Everything changed since ``start_sha`` (local commits, edits, new files; ignored files
    excluded) as one patch, bounded like :func:`merge_base_diff`.

    New files only show once staged, so this runs ``git add -A``: it changes the index, never a
    commit (used where the runner must not commit, e.g. a fork's change). ``expect_config`` as in
    :func:`commit_all`: ``git add`` runs clean filters, which config can name. Renames are shown
    as a deletion and an addition; prefixes are forced to ``a/``/``b/`` and paths left unquoted.
    """
    _verify_fingerprint(cwd, expect_config)
    run_git(["add", "-A", "--", "."], cwd)
    args = ["-c", "core.quotePath=false", "diff", "--cached", "--no-ext-diff", "--no-textconv"]
    args += ["--no-color", "--no-renames", "--src-prefix=a/", "--dst-prefix=b/", f"--unified={unified}"]
    return _bounded(run_git([*args, check_ref_arg(start_sha), "--"], cwd).stdout, max_bytes)


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
) -> str | None:
    """Stage everything (``git add -A``) and commit it as the bot; the new sha, or None if nothing changed.

    Author and committer are the bot; each ``(name, email)`` in ``co_authors`` becomes a
    ``Co-authored-by:`` trailer. ``--no-verify`` plus the hooks path forced to nowhere (on every
    git call, see :func:`run_git`): hooks are files the agent can write, and the runner's
    credentials are in reach while it commits. ``--no-gpg-sign``: ``gpg.program`` is config too.
    ``expect_config`` is a :func:`config_fingerprint` taken before the agent ran.
    """
    _verify_fingerprint(cwd, expect_config)
    name = _identity_part(author_name, "author name")
    email = _identity_part(author_email, "author email")
    trailers = [
        f"Co-authored-by: {_identity_part(n, 'co-author name')} <{_identity_part(e, 'co-author email')}>"
        for n, e in co_authors
    ]
    run_git(["add", "-A", "--", "."], cwd)
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
    args = ["-c", f"user.name={name}", "-c", f"user.email={email}", "commit", "--no-verify", "--no-gpg-sign"]
    run_git([*args, "--cleanup=strip", "-F", "-"], cwd, extra_env=identity, input=body + "\n")
    return head_sha(cwd)


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
            "the runner pushes to a claude/ branch or the pull request's head branch only",
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
    ``file://`` URLs need no token. A non-fast-forward rejection raises :class:`GitError`.
    """
    args, push_env = push_command(
        branch, remote_url=remote_url, token=token, username=username, force=force, protected=protected
    )
    _verify_fingerprint(cwd, expect_config)
    proc = run_git(args, cwd, extra_env=push_env, check=False, redact=[token] if token else [])
    if proc.returncode == 0:
        return
    text = f"{proc.stdout}\n{proc.stderr}"
    if re.search(r"non-fast-forward|fetch first|\[rejected\]|stale info", text):
        raise GitError(
            f"push to {branch!r} was rejected: the remote branch has commits this run does not have "
            "(someone pushed meanwhile)",
            "re-run the job to start from the new head",
        )
    lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("To ")]
    detail = redact_text(lines[0], [token] if token else []) if lines else f"exit {proc.returncode}"
    raise GitError(f"git push to {branch!r} failed: {detail}")


# --- credentials left by the checkout ----------------------------------------------------------
