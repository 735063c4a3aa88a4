"""Delivering the run's commits through the host's API instead of ``git push`` (``use_commit_signing``).

The commits are made locally as always (so a failure still leaves a patch and a bundle); then the
difference between the branch's head on the host and the local HEAD is sent, file by file, as
one commit (or several, each on top of the one before, when the change set is larger than one
request may carry). The host signs what it creates, so the branch shows Verified commits.
Afterwards the local branch is moved to what the host made, so outputs and links name it.

A branch that moved on meanwhile refuses the commit (``BranchMoved``): raised here as
``git.NonFastForward``, the same answer as a rejected push, so ``flow/rescue.py`` replays the
commits on the new head or takes them to the rescue branch as it does for pushes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from runner import git
from runner.errors import GitError
from runner.platforms.base import ApiCommitter, BranchMoved, FileChanges, PushTarget


def remote_head(cwd: Path, target: PushTarget, branch: str) -> str | None:
    """The sha ``branch`` points at on the host (``git ls-remote``), None when it does not exist."""
    env = git.auth_env(target.url, target.token, target.username)
    args = ["ls-remote", "--heads", target.url, f"refs/heads/{git.validate_branch_name(branch)}"]
    out = git.run_git(args, cwd, extra_env=env, redact=[target.token] if target.token else []).stdout
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref == f"refs/heads/{branch}":
            return sha.strip()
    return None


def chunks(changes: list[git.FileChange], max_bytes: int) -> Iterator[list[git.FileChange]]:
    """The changes in groups whose base64 contents stay under ``max_bytes``, in path order."""
    group: list[git.FileChange] = []
    size = 0
    for change in sorted(changes, key=lambda c: c.path):
        encoded = (change.size + 2) // 3 * 4 + len(change.path) + 64
        if encoded > max_bytes:
            raise GitError(
                f"{change.path} ({change.size} bytes) is too large for a commit through the API",
                "commit it another way, or turn use_commit_signing off for this change",
            )
        if group and size + encoded > max_bytes:
            yield group
            group, size = [], 0
        group.append(change)
        size += encoded
    if group:
        yield group


def api_push(
    cwd: Path,
    target: PushTarget,
    committer: ApiCommitter,
    branch: str,
    *,
    start_sha: str,
    protected: Collection[str],
    log: Callable[[str], None],
) -> str:
    """Put ``<branch head>..HEAD`` on ``branch`` through ``committer``; returns the new head."""
    if branch in protected:
        raise GitError(
            f"refusing to commit to protected branch {branch!r}",
            "the runner commits to a claude/ branch or the pull request's head branch only",
        )
    head = git.head_sha(cwd)
    parent = remote_head(cwd, target, branch)
    if parent is None:
        # A new branch starts where the run started (or, after a replay, below the run's commit).
        parent = start_sha
        if not git.is_ancestor(cwd, start_sha, head):
            parent = git.run_git(["rev-parse", "--verify", "HEAD^"], cwd).stdout.strip()
        try:
            committer.create_branch(branch, parent)
        except BranchMoved as exc:
            raise git.NonFastForward(f"{branch} was created meanwhile: {exc}") from None
    elif not git.is_ancestor(cwd, parent, head):
        raise git.NonFastForward(f"{branch} has commits this run does not have (someone pushed meanwhile)")
    changes = git.changes_between(cwd, parent, head)
    odd = [c.path for c in changes if c.mode != "100644" and c.contents is not None]
    if odd:
        log(f"{committer.name} cannot set file modes: {', '.join(odd[:5])} arrive as regular files")
    subject, body = git.commit_message(cwd, head)
    groups = list(chunks(changes, committer.max_request_bytes))
    for number, group in enumerate(groups, start=1):
        files = tuple((c.path, c.contents) for c in group)
        new = frozenset(c.path for c in group if not c.existed and c.contents is not None)
        headline = subject if len(groups) == 1 else f"{subject} ({number}/{len(groups)})"
        try:
            parent = committer.commit(branch, parent, FileChanges(files, new), f"{headline}\n\n{body}")
        except BranchMoved as exc:
            raise git.NonFastForward(str(exc)) from None
    if len(groups) > 1:
        log(f"the change set was split into {len(groups)} commits on {branch}")
    return parent


def adopt(cwd: Path, fetched: str) -> None:
    """Point the local branch at the host's commit ``fetched`` (already fetched), keeping the files;
    a tree that differs (modes the API could not set) is said in the log by the caller."""
    git.run_git(["reset", "-q", "--soft", fetched], cwd)


__all__ = ["adopt", "api_push", "chunks", "remote_head"]
