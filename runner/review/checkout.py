"""The checkout a review reads: the change's head (detached: nothing is ever pushed), and the
changed files and lines as git sees them there."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from runner import git
from runner.git.core import check_ref_arg, run_git
from runner.platforms.base import ChangedFile, PushTarget, ThreadData


def checkout_head(
    workspace: Path, target: PushTarget, thread: ThreadData, head_ref: str | None
) -> tuple[str, str]:
    """Fetch the head (a branch, or the host's ref for a fork) and the base; check the head out
    detached, so nothing can be pushed by mistake. Returns the head's sha and the base's local ref."""
    auth: dict[str, Any] = {"remote_url": target.url, "token": target.token, "username": target.username}
    if head_ref is not None:
        local = git.fetch_ref(workspace, head_ref, **auth)
    else:
        local = git.fetch(workspace, str(thread.head_ref), **auth)
    git.checkout_detached(workspace, local)
    base = git.fetch(workspace, str(thread.base_ref), **auth)
    return git.head_sha(workspace), base


def review_merge_base(
    workspace: Path, target: PushTarget, thread: ThreadData, head_ref: str | None, base_ref: str
) -> str:
    """The merge base of the checked-out head and the base. A shallow checkout (actions/checkout's
    ``fetch-depth: 1``) whose base moved on is deepened, base and head, until it is there."""
    head_refs = [head_ref] if head_ref else [f"refs/heads/{thread.head_ref}"]
    return git.find_merge_base(
        workspace,
        base_ref,
        refs=[f"refs/heads/{thread.base_ref}", *head_refs],
        remote_url=target.url,
        token=target.token,
        username=target.username,
    )


def files_past_the_api_cap(
    cwd: Path, base: str, head: str, listed: Sequence[ChangedFile]
) -> list[ChangedFile]:
    """Files the host's API did not list (GitHub lists at most 3,000 per pull request).

    They come from the checkout without a patch, so the selection reports them as not fitting
    and the agent can still read them, instead of their silently missing from the review.
    """
    if len(listed) < 3000:
        return []
    known = {f.path for f in listed}
    return [ChangedFile(path, "modified") for path in git.diff_names(cwd, base, head) if path not in known]


def is_ancestor(workspace: Path, old: str, new: str) -> bool:
    """``git merge-base --is-ancestor``: False too when ``old`` is unknown here (history rewritten)."""
    if not re.fullmatch(r"[0-9a-f]{7,64}", old):
        return False
    proc = run_git(
        ["merge-base", "--is-ancestor", check_ref_arg(old), check_ref_arg(new)], workspace, check=False
    )
    return proc.returncode == 0


def files_between(workspace: Path, base: str, head: str) -> list[ChangedFile]:
    """The changed files of ``base..head`` with their patches (an incremental review's diff)."""
    args = [
        "diff",
        "--no-ext-diff",
        "--no-textconv",
        "--no-color",
        "-M",
        check_ref_arg(base),
        check_ref_arg(head),
        "--",
    ]
    files: list[ChangedFile] = []
    for chunk in re.split(r"^(?=diff --git )", run_git(args, workspace).stdout, flags=re.MULTILINE):
        if not chunk.startswith("diff --git "):
            continue
        header, _, patch = chunk.partition("\n@@")
        patch = ("@@" + patch).rstrip("\n") if patch else ""
        new = re.search(r"^\+\+\+ b/(.+)$", header, re.MULTILINE)
        old = re.search(r"^--- a/(.+)$", header, re.MULTILINE)
        renamed = re.search(r"^rename from (.+)$", header, re.MULTILINE)
        moved = re.search(r"^rename to (.+)$", header, re.MULTILINE)
        path = new or moved or old or re.search(r" b/(.+)$", header.splitlines()[0])
        status = "modified"
        if "\nnew file mode" in header:
            status = "added"
        elif "\ndeleted file mode" in header:
            status = "removed"
        elif renamed:
            status = "renamed"
        rows = patch.splitlines()
        files.append(
            ChangedFile(
                path=path.group(1) if path else "",
                status=status,
                additions=sum(1 for r in rows if r.startswith("+")),
                deletions=sum(1 for r in rows if r.startswith("-")),
                patch=patch or None,
                previous_path=renamed.group(1) if renamed else None,
            )
        )
    return files


def file_lines(workspace: Path) -> Callable[[str], list[str] | None]:
    """The checked-out text of a path as lines, None outside the checkout or absent (a
    suggestion is checked against the lines it replaces)."""
    root = workspace.resolve()

    def read(path: str) -> list[str] | None:
        file = (root / path).resolve()
        if not file.is_relative_to(root) or not file.is_file():
            return None
        return file.read_text(encoding="utf-8", errors="replace").splitlines()

    return read
