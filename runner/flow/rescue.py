"""Saving the agent's work so that it is never lost: commit, push, and what to do when a push fails.

Each step runs only when the one before it failed:

1. push to the planned branch;
2. on a non-fast-forward (someone pushed meanwhile) to an existing branch: fetch it, replay the
   run's commits on its new head and, if they applied cleanly, push again;
3. push to a rescue branch, ``<prefix>rescue-<run id>``;
4. keep the commits on the runner: a patch (``git format-patch``) and a bundle in the job's
   temporary directory.

Files too large for the host are left out of the commit, edits inside submodules (which a
commit here cannot hold) are noted, and Git LFS objects are uploaded (the ``pre-push`` hook
that would do it never runs). ``SavedWork`` says what happened; the final comment tells the user.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from runner import git
from runner.errors import GitError
from runner.flow.api_commits import adopt, api_push
from runner.flow.job import Job
from runner.flow.prompts import render
from runner.platforms.base import ApiCommitter, PushTarget

SMALL_DIFF = 4_000  # characters: a change this small is shown in the final comment itself


class WorkNotPushed(GitError):
    """The agent's work is safe, but not on the branch it was meant for (see ``SavedWork``)."""


@dataclass(frozen=True)
class Rescue:
    """Where work goes when the planned branch does not take it."""

    branch: str  # the rescue branch, see ``rescue_branch``
    directory: Path  # where the patch and the bundle are written (the job's temporary directory)
    max_file_bytes: int = git.DEFAULT_MAX_FILE_BYTES  # larger files are left out of the commit


@dataclass(frozen=True)
class SavedWork:
    """Where the agent's work ended up, and what did not make it into the commit."""

    pushed: bool  # the work is on a remote branch: ``branch``
    commit: str | None = None  # the last commit holding the work
    branch: str | None = None  # the branch that holds it: the planned one or the rescue branch
    planned: str | None = None  # the branch it was meant for
    base: str | None = None  # the commit the work applies on (the patch's and the bundle's base)
    rebased: bool = False  # someone pushed meanwhile: the commits were replayed on their head
    push_error: str = ""  # why the planned branch did not take the work
    rescue_error: str = ""  # why the rescue branch did not either
    patch: Path | None = None
    bundle: Path | None = None
    diff: str = ""  # the change, when it is small and not on the planned branch
    left_out: tuple[git.LargeFile, ...] = ()
    max_file_bytes: int = git.DEFAULT_MAX_FILE_BYTES
    submodules: tuple[git.SubmoduleChange, ...] = ()
    lfs_error: str = ""
    rescue_branch: str = ""  # the rescue branch that was (to be) used
    planned_exists: bool = True  # the planned branch is an existing one (a pull request's head)

    @property
    def rescued(self) -> bool:
        """The work exists but is not on the branch it was meant for."""
        return self.commit is not None and self.branch != self.planned

    @property
    def kept(self) -> bool:
        """The work is only on the runner (a patch or a bundle)."""
        return self.patch is not None or self.bundle is not None


def rescue_branch(job: Job, now: datetime, *, prefix: str = "claude/") -> str:
    """``<prefix>rescue-<run id>``: the CI run's id (``job.run_id``, else the number that ends
    ``job.job_url``), else a timestamp and a random suffix."""
    run_id = job.run_id
    if run_id is None and job.job_url:
        found = re.search(r"/(\d+)/?$", job.job_url)
        run_id = found.group(1) if found else None
    if run_id is None:
        run_id = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    slug = git.slugify(run_id) or secrets.token_hex(3)
    return git.validate_branch_name(f"{prefix}rescue-{slug}")


def save_work(
    cwd: Path,
    target: PushTarget,
    branch: str,
    *,
    start_sha: str,
    message: str,
    author: tuple[str, str],
    co_author: tuple[str, str] | None,
    protected: set[str],
    rescue: Rescue,
    existing_branch: bool,
    config_fingerprint: str | None = None,
    log: Callable[[str], None] = lambda line: None,
    signing: git.CommitSigning | None = None,
    committer: ApiCommitter | None = None,
) -> SavedWork:
    """Commit whatever the agent changed and get it to ``branch``, or as close as the chain allows.

    ``existing_branch``: ``branch`` exists already (a pull request's head), and a non-fast-forward
    is answered by replaying the commits on its new head; a new branch someone else created
    meanwhile is left alone and the work goes to the rescue branch.
    Nothing changed means no commit and no branch. ``signing``: commits (and replayed ones) are
    signed with that SSH key; ``committer``: they reach the host through its API, which signs
    them (``flow/api_commits.py``), instead of a push.
    """
    git.verify_fingerprint(cwd, config_fingerprint)  # before any git call that could run a filter
    left_out = tuple(git.oversized_files(cwd, rescue.max_file_bytes))
    submodules = tuple(git.submodule_changes(cwd))
    lfs_installed = git.lfs_installed(cwd)
    uses_lfs = bool(git.lfs_paths(cwd, git.changed_files(cwd)))
    commit = git.commit_all(
        cwd,
        message,
        author_name=author[0],
        author_email=author[1],
        co_authors=[co_author] if co_author else [],
        expect_config=config_fingerprint,
        exclude=[f.path for f in left_out],
        add_config=git.LFS_FILTER_CONFIG if uses_lfs and lfs_installed else (),
        signing=signing,
    )
    notes = [f"{f.path} ({f.size} bytes) was left out of the commit: too large to push" for f in left_out]
    notes += [f"changes inside submodule {s.path} were not committed" for s in submodules]
    saved = SavedWork(
        False,
        planned=branch,
        left_out=left_out,
        max_file_bytes=rescue.max_file_bytes,
        submodules=submodules,
        rescue_branch=rescue.branch,
        planned_exists=existing_branch,
    )
    if commit is not None or git.head_sha(cwd) != start_sha:
        push = _Pusher(cwd, target, protected, config_fingerprint, signing, committer, start_sha, log)
        saved = _deliver(push, saved, start_sha, author, rescue, log)
        saved = dataclasses.replace(saved, lfs_error=_upload_lfs(push, saved, lfs_installed))
    notes += [saved.lfs_error] if saved.lfs_error else []
    for note in notes:
        log(note)
    return saved


@dataclass(frozen=True)
class _Pusher:
    """Pushes and fetches with the runner's token."""

    cwd: Path
    target: PushTarget
    protected: set[str]
    fingerprint: str | None
    signing: git.CommitSigning | None = None
    committer: ApiCommitter | None = None  # commits made by the host (use_commit_signing)
    start_sha: str = ""
    log: Callable[[str], None] = print

    def __call__(self, branch: str) -> None:
        t = self.target
        if self.committer is not None:
            api_push(
                self.cwd,
                t,
                self.committer,
                branch,
                start_sha=self.start_sha,
                protected=self.protected,
                log=self.log,
            )
            adopt(self.cwd, self.fetch(branch))
            return
        git.push(
            self.cwd,
            branch,
            remote_url=t.url,
            token=t.token,
            username=t.username,
            protected=self.protected,
            expect_config=self.fingerprint,
        )

    def fetch(self, branch: str) -> str:
        t = self.target
        ref = git.fetch(self.cwd, branch, remote_url=t.url, token=t.token, username=t.username)
        return git.run_git(["rev-parse", "--verify", ref + "^{commit}"], self.cwd).stdout.strip()


def _deliver(
    push: _Pusher,
    saved: SavedWork,
    base: str,
    author: tuple[str, str],
    rescue: Rescue,
    log: Callable[[str], None],
) -> SavedWork:
    cwd, branch = push.cwd, str(saved.planned)
    try:
        push(branch)
        return dataclasses.replace(saved, pushed=True, commit=git.head_sha(cwd), branch=branch, base=base)
    except git.NonFastForward as exc:
        error = exc.message
        if saved.planned_exists:
            moved, why = _rebase_and_push(push, branch, base, author, log)
            if why is None:
                head = git.head_sha(cwd)
                return dataclasses.replace(
                    saved, pushed=True, commit=head, branch=branch, base=moved, rebased=True
                )
            base, error = moved, f"{error}; {why}"
    except GitError as exc:
        error = exc.message
    log(f"could not push to {branch}: {error}")
    saved = dataclasses.replace(saved, commit=git.head_sha(cwd), base=base, push_error=error)
    try:
        where = _push_rescue(push, rescue.branch)
    except GitError as exc:
        log(f"could not push to {rescue.branch} either: {exc.message}")
        return _keep(cwd, dataclasses.replace(saved, rescue_error=exc.message), base, rescue, log)
    log(f"the work was pushed to {where} instead")
    return dataclasses.replace(saved, pushed=True, branch=where, diff=_small_diff(cwd, base))


def _rebase_and_push(
    push: _Pusher, branch: str, base: str, author: tuple[str, str], log: Callable[[str], None]
) -> tuple[str, str | None]:
    """Replay ``base..HEAD`` on the branch's new head and push; returns the commits' base now,
    and why they are not on the branch (None: they are)."""
    for _attempt in range(3):  # each attempt loses only to yet another push in between
        try:
            onto = push.fetch(branch)
            replayed = git.rebase_onto(
                push.cwd,
                onto,
                base,
                name=author[0],
                email=author[1],
                expect_config=push.fingerprint,
                signing=push.signing,
            )
            if not replayed:
                return base, f"the run's commits do not apply cleanly on the new head of {branch}"
            base = onto
            log(f"{branch} moved on: the run's commits were replayed on {onto[:12]}")
            push(branch)
            return base, None
        except git.NonFastForward:
            continue
        except GitError as exc:
            return base, exc.message
    return base, f"{branch} kept moving"


def _push_rescue(push: _Pusher, name: str) -> str:
    try:
        push(name)
        return name
    except git.NonFastForward:  # a re-run of the same CI run: its rescue branch exists
        other = f"{name}-{secrets.token_hex(3)}"
        push(other)
        return other


def _keep(cwd: Path, saved: SavedWork, base: str, rescue: Rescue, log: Callable[[str], None]) -> SavedWork:
    stem = rescue.branch.replace("/", "-")
    patch = bundle = None
    try:
        patch = git.write_patch(cwd, base, rescue.directory / f"{stem}.patch")
        log(f"the work is kept as a patch: {patch} (apply with: git am {patch})")
    except (GitError, OSError) as exc:
        log(f"could not write a patch: {exc}")
    try:
        bundle = git.write_bundle(cwd, base, rescue.directory / f"{stem}.bundle")
        log(f"the work is kept as a bundle: {bundle} (get it with: git fetch {bundle} HEAD)")
    except (GitError, OSError) as exc:
        log(f"could not write a bundle: {exc}")
    return dataclasses.replace(saved, patch=patch, bundle=bundle, diff=_small_diff(cwd, base))


def _small_diff(cwd: Path, base: str) -> str:
    try:
        diff = git.range_diff(cwd, base, max_bytes=SMALL_DIFF * 4)
    except GitError:
        return ""
    return diff if len(diff) <= SMALL_DIFF else ""


def _upload_lfs(push: _Pusher, saved: SavedWork, installed: bool) -> str:
    """Upload the LFS objects of the files the commits store with Git LFS; what went wrong, if anything."""
    if saved.base is None:
        return ""
    paths = git.lfs_paths(push.cwd, git.range_names(push.cwd, saved.base))
    if not paths:
        return ""
    shown = ", ".join(f"`{p}`" for p in paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    if not installed:
        return (
            f"Git LFS objects were not uploaded: this repository stores {shown} with Git LFS, but "
            "git-lfs is not installed on the runner, so they were committed as ordinary files"
        )
    if not saved.pushed:
        return f"Git LFS objects for {shown} were not uploaded: the commits were not pushed"
    try:
        t = push.target
        oids = git.pointer_oids(push.cwd, paths)
        git.lfs_push(push.cwd, oids, remote_url=t.url, token=t.token, username=t.username)
    except GitError as exc:
        return f"Git LFS objects for {shown} were not uploaded: {exc.message}"
    return ""


def branch_url(job: Job, branch: str) -> str:
    """The web page of ``branch``."""
    return f"{job.repo_url}/{'-/tree' if job.platform == 'gitlab' else 'tree'}/{branch}"


def work_report(saved: SavedWork | None, job: Job) -> str:
    """Markdown for the final comment: where the work is when that is not simply the planned
    branch (with the commands to bring it back, and the change itself when it is small), and
    what the commit could not hold. Empty when there is nothing to say."""
    if saved is None:
        return ""
    limit = _size(saved.max_file_bytes)
    notes = [
        f"`{f.path}` ({_size(f.size)}) was left out of the commit: the host does not accept files over "
        f"{limit}. It is only in the runner's checkout."
        for f in saved.left_out
    ]
    notes += [
        f"Changes inside submodule `{s.path}` were not committed: the runner commits to this repository only."
        for s in saved.submodules
    ]
    notes += [f"⚠️ {saved.lfs_error}."] if saved.lfs_error else []
    moved = saved.pushed and saved.rescued
    kept = saved.kept if saved.commit is not None and not saved.pushed else None
    if not (saved.rebased or moved or kept is not None or notes):
        return ""
    diff = saved.diff.rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`+", diff)), default=0)
    body = render(
        "comment_work.j2",
        rebased=saved.rebased,
        planned=saved.planned,
        moved=moved,
        branch=saved.branch,
        branch_url=branch_url(job, saved.branch) if saved.branch else "",
        merge_hint=moved and saved.planned_exists,
        push_error=_reason(saved.push_error),
        rescue_error=_reason(saved.rescue_error),
        kept=kept,
        rescue=saved.rescue_branch,
        patch=saved.patch,
        bundle=saved.bundle,
        commit=saved.commit,
        base=saved.base,
        diff=diff,
        fence="`" * max(3, longest + 1),
        notes=notes,
    )
    return body.strip()


def _reason(error: str) -> str:
    # "git push to 'x' failed: <why>" / "push to 'x' was rejected: <why>": the comment names the branch.
    return re.sub(r"^(git )?push to '[^']*' (failed|was rejected): ", "", error).rstrip(".")


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"
