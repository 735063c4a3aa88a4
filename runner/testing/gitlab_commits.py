"""The fake GitLab's repository writes: ``POST /projects/:id/repository/commits`` (the Commits API,
with ``actions``) and ``POST /projects/:id/repository/branches``, applied to the bare repository
the fake serves (``FakeGitLab.git_dir``) as real git objects. Stdlib only.

Checked as GitLab checks them: ``branch``, ``commit_message`` and ``actions`` are required; each
action is ``create`` (the path must not exist), ``update`` / ``delete`` (it must), with
``content`` in ``text`` or ``base64`` ``encoding``; ``start_branch`` / ``start_sha`` start a new
branch. Answers are GitLab's shapes (a commit object; ``400 {"message": ...}`` on a refusal).
"""

from __future__ import annotations

import base64
import binascii
import os
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.testing.gitlab_endpoints import Reply, Request, handler
from runner.testing.gitlab_state import ApiError

if TYPE_CHECKING:
    from runner.testing.fake_gitlab import FakeGitLab

ACTIONS = ("create", "update", "delete")


def _git(git_dir: Path, *args: str, data: bytes | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", "--git-dir", str(git_dir), *args],
        input=data,
        capture_output=True,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode != 0:
        raise ApiError(400, {"message": proc.stderr.decode(errors="replace").strip()})
    return proc.stdout.decode().strip()


def _sha(git_dir: Path, rev: str) -> str | None:
    proc = subprocess.run(
        ["git", "--git-dir", str(git_dir), "rev-parse", "--verify", "-q", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    return proc.stdout.strip() or None


def _repo(fake: FakeGitLab) -> Path:
    if fake.git_dir is None:
        raise ApiError(500, {"message": "the fake GitLab has no repository to write to (set git_dir)"})
    return fake.git_dir


@handler
def _create_branch(fake: FakeGitLab, req: Request) -> Reply:
    git_dir = _repo(fake)
    name, ref = str(req.arg("branch")), str(req.arg("ref"))
    if _sha(git_dir, f"refs/heads/{name}") is not None:
        raise ApiError(400, {"message": "Branch already exists"})
    sha = _sha(git_dir, ref)
    if sha is None:
        raise ApiError(400, {"message": "Invalid reference name: " + ref})
    _git(git_dir, "update-ref", f"refs/heads/{name}", sha, "0" * 40)
    return 201, {"name": name, "commit": {"id": sha}, "protected": False, "merged": False}


def _contents(action: dict[str, Any]) -> bytes:
    content = action.get("content")
    if not isinstance(content, str):
        raise ApiError(400, {"message": f"content is missing for {action.get('file_path')}"})
    if action.get("encoding", "text") == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, {"message": "content is not valid base64"}) from None
    return content.encode()


@handler
def _create_commit(fake: FakeGitLab, req: Request) -> Reply:
    git_dir = _repo(fake)
    branch, message, actions = req.arg("branch"), req.arg("commit_message"), req.arg("actions")
    if not isinstance(actions, list) or not actions:
        raise ApiError(400, {"message": "actions is missing"})
    head = _sha(git_dir, f"refs/heads/{branch}")
    if head is None:
        start = req.arg("start_sha", required=False) or req.arg("start_branch", required=False)
        head = _sha(git_dir, str(start)) if start else None
        if head is None:
            raise ApiError(400, {"message": "You can only create or edit files when you are on a branch"})
    with tempfile.TemporaryDirectory() as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _git(git_dir, "read-tree", head, env=index)
        existing = set(_git(git_dir, "ls-files", "-z", env=index).split("\0")) - {""}
        records: list[str] = []
        for action in actions:
            kind, path = action.get("action"), str(action.get("file_path") or "")
            if kind not in ACTIONS or not path or path.startswith("/") or ".." in path.split("/"):
                raise ApiError(400, {"message": f"Unknown action or file path: {kind} {path}"})
            if kind == "create" and path in existing:
                raise ApiError(400, {"message": "A file with this name already exists"})
            if kind in ("update", "delete") and path not in existing:
                raise ApiError(400, {"message": "A file with this name doesn't exist"})
            if kind == "delete":
                records.append(f"0 {'0' * 40}\t{path}")
            else:
                blob = _git(git_dir, "hash-object", "-w", "--stdin", data=_contents(action))
                records.append(f"100644 {blob}\t{path}")
        _git(
            git_dir,
            "update-index",
            "-z",
            "--index-info",
            data="".join(f"{r}\0" for r in records).encode(),
            env=index,
        )
        tree = _git(git_dir, "write-tree", env=index)
    user = fake.user(req.caller)
    identity = {
        "GIT_AUTHOR_NAME": str(req.arg("author_name", required=False) or user.name),
        "GIT_AUTHOR_EMAIL": str(req.arg("author_email", required=False) or f"{user.username}@example.com"),
        "GIT_COMMITTER_NAME": user.name,
        "GIT_COMMITTER_EMAIL": f"{user.username}@example.com",
    }
    sha = _git(git_dir, "commit-tree", tree, "-p", head, "-F", "-", data=str(message).encode(), env=identity)
    _git(
        git_dir, "update-ref", f"refs/heads/{branch}", sha, _sha(git_dir, f"refs/heads/{branch}") or "0" * 40
    )
    fake.api_commits.append(sha)
    title = str(message).splitlines()[0] if str(message).strip() else ""
    return 201, {
        "id": sha,
        "short_id": sha[:8],
        "title": title,
        "message": str(message),
        "author_name": identity["GIT_AUTHOR_NAME"],
        "author_email": identity["GIT_AUTHOR_EMAIL"],
        "parent_ids": [head],
        "web_url": f"{fake.web_url}/{fake.path}/-/commit/{sha}",
    }


__all__ = ["ACTIONS"]
