"""GraphQL mutations of the fake GitHub that write to the repository: ``createRef`` and
``createCommitOnBranch``, applied to the bare repository the fake serves (``FakeGitHub.git_dir``)
as real git objects, so a test reads the branch's tree with git. Stdlib only.

Not a GraphQL parser: a request whose document is a ``mutation`` calling one of these two fields
with ``(input: $var)`` is answered here; its variable is checked against the input types of
GitHub's schema (names, required fields, scalar kinds: ``tests/test_github_graphql_schema.py``
checks the documents and answers against ``@octokit/graphql-schema``). Errors are GitHub's shape:
HTTP 200 with ``{"data": {"<field>": null}, "errors": [{"type", "path", "message"}]}``. A commit's
author is the token's account (``<id>+<login>@users.noreply.github.com``), its committer
``GitHub <noreply@github.com>``, as for the commits GitHub signs.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.testing.github_endpoints import Reply, Request

if TYPE_CHECKING:
    from runner.testing.fake_github import FakeGitHub

_CALL = re.compile(r"\b(createCommitOnBranch|createRef)\s*\(\s*input\s*:\s*\$(\w+)\s*\)")
_OID = re.compile(r"[0-9a-f]{40}")
# The input types, as GitHub's schema has them: field -> (type, required).
INPUT_TYPES: dict[str, dict[str, tuple[str, bool]]] = {
    "CreateCommitOnBranchInput": {
        "branch": ("CommittableBranch", True),
        "clientMutationId": ("String", False),
        "expectedHeadOid": ("GitObjectID", True),
        "fileChanges": ("FileChanges", False),
        "message": ("CommitMessage", True),
    },
    "CommittableBranch": {
        "branchName": ("String", False),
        "id": ("ID", False),
        "repositoryNameWithOwner": ("String", False),
    },
    "FileChanges": {"additions": ("[FileAddition!]", False), "deletions": ("[FileDeletion!]", False)},
    "FileAddition": {"contents": ("Base64String", True), "path": ("String", True)},
    "FileDeletion": {"path": ("String", True)},
    "CommitMessage": {"body": ("String", False), "headline": ("String", True)},
    "CreateRefInput": {
        "clientMutationId": ("String", False),
        "name": ("String", True),
        "oid": ("GitObjectID", True),
        "repositoryId": ("ID", True),
    },
}
_ROOT = {"createCommitOnBranch": "CreateCommitOnBranchInput", "createRef": "CreateRefInput"}


class MutationError(Exception):
    """A refused mutation: GitHub's error ``type`` and message."""

    def __init__(self, message: str, kind: str = "UNPROCESSABLE") -> None:
        super().__init__(message)
        self.message, self.kind = message, kind


def _check(value: Any, type_name: str, where: str) -> None:
    """``value`` against an input type of the schema; a mismatch is GitHub's variable error."""
    if type_name.startswith("["):
        if not isinstance(value, list):
            raise MutationError(f"{where}: Expected value to be a list", "INVALID_VARIABLE")
        for i, item in enumerate(value):
            _check(item, type_name[1:-2], f"{where}[{i}]")
        return
    fields = INPUT_TYPES.get(type_name)
    if fields is None:  # a scalar
        ok = isinstance(value, str) and (type_name != "GitObjectID" or _OID.fullmatch(value) is not None)
        if not ok:
            raise MutationError(
                f"{where}: Could not coerce value {value!r} to {type_name}", "INVALID_VARIABLE"
            )
        return
    if not isinstance(value, dict):
        raise MutationError(
            f"{where}: Expected value to be an input object ({type_name})", "INVALID_VARIABLE"
        )
    for name in value:
        if name not in fields:
            raise MutationError(f"{where}.{name}: Field is not defined on {type_name}", "INVALID_VARIABLE")
    for name, (ref, required) in fields.items():
        if value.get(name) is None:
            if required:
                raise MutationError(f"{where}.{name}: Expected value to not be null", "INVALID_VARIABLE")
            continue
        _check(value[name], ref, f"{where}.{name}")


def _git(git_dir: Path, *args: str, data: bytes | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", "--git-dir", str(git_dir), *args],
        input=data,
        capture_output=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode != 0:
        raise MutationError(proc.stderr.decode(errors="replace").strip() or f"git {args[0]} failed")
    return proc.stdout.decode().strip()


def _head(git_dir: Path, branch: str) -> str | None:
    proc = subprocess.run(
        ["git", "--git-dir", str(git_dir), "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or None


def _safe_path(path: str) -> str:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..", ".git") for p in parts):
        raise MutationError(f"A path was requested for deletion which does not exist or is invalid: {path}")
    return path


def create_ref(fake: FakeGitHub, git_dir: Path, data: dict[str, Any]) -> dict[str, Any]:
    """``createRef``: a new ``refs/heads/...`` at an existing commit."""
    name, oid = str(data["name"]), str(data["oid"])
    if not name.startswith("refs/heads/"):
        raise MutationError(f"Reference name must start with 'refs/heads/' (got {name})")
    if _head(git_dir, name.removeprefix("refs/heads/")) is not None:
        raise MutationError(f'A ref named "{name}" already exists in the repository.')
    _git(git_dir, "cat-file", "-e", f"{oid}^{{commit}}")
    _git(git_dir, "update-ref", name, oid, "0" * 40)
    return {"ref": {"name": name.removeprefix("refs/heads/")}}


def create_commit(fake: FakeGitHub, git_dir: Path, caller: str, data: dict[str, Any]) -> dict[str, Any]:
    """``createCommitOnBranch``: the file changes on top of the branch's head, as a real commit."""
    branch_spec = data["branch"]
    repo = branch_spec.get("repositoryNameWithOwner")
    if repo is not None and str(repo).lower() != fake.full_name.lower():
        raise MutationError(f"Could not resolve to a Repository with the name '{repo}'.", "NOT_FOUND")
    branch = str(branch_spec.get("branchName") or "")
    head = _head(git_dir, branch)
    if head is None:
        raise MutationError(f"Could not resolve to a ref named 'refs/heads/{branch}'.", "NOT_FOUND")
    if head != data["expectedHeadOid"]:
        raise MutationError(
            f'Expected branch to point to "{data["expectedHeadOid"]}" but it did not. Pull and try again.',
            "STALE_DATA",
        )
    changes = data.get("fileChanges") or {}
    with tempfile.TemporaryDirectory() as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _git(git_dir, "read-tree", head, env=index)
        records: list[str] = []  # --index-info lines: mode 0 removes a path (no work tree needed)
        for deletion in changes.get("deletions") or []:
            records.append(f"0 {'0' * 40}\t{_safe_path(deletion['path'])}")
        for addition in changes.get("additions") or []:
            path = _safe_path(addition["path"])
            try:
                contents = base64.b64decode(addition["contents"], validate=True)
            except (binascii.Error, ValueError):
                raise MutationError(f"Could not decode the contents of {path} as base64") from None
            blob = _git(git_dir, "hash-object", "-w", "--stdin", data=contents)
            records.append(f"100644 {blob}\t{path}")
        if records:
            data_in = "".join(f"{r}\0" for r in records).encode()
            _git(git_dir, "update-index", "-z", "--index-info", data=data_in, env=index)
        tree = _git(git_dir, "write-tree", env=index)
    user = fake.users.get(caller)
    login = caller or "ghost"
    identity = {
        "GIT_AUTHOR_NAME": login,
        "GIT_AUTHOR_EMAIL": f"{user.id if user else 0}+{login}@users.noreply.github.com",
        "GIT_COMMITTER_NAME": "GitHub",
        "GIT_COMMITTER_EMAIL": "noreply@github.com",
    }
    message = data["message"]["headline"] + (
        f"\n\n{data['message']['body']}" if data["message"].get("body") else ""
    )
    oid = _git(git_dir, "commit-tree", tree, "-p", head, "-F", "-", data=message.encode(), env=identity)
    _git(git_dir, "update-ref", f"refs/heads/{branch}", oid, head)
    fake.signed_commits.append(oid)
    return {"commit": {"oid": oid, "url": f"{fake.web_url}/{fake.full_name}/commit/{oid}"}}


def serve(fake: FakeGitHub, request: Request) -> Reply | None:
    """The answer to a write mutation, or None when the request is not one (a query)."""
    body = request.record.body if isinstance(request.record.body, dict) else {}
    query, variables = body.get("query"), body.get("variables") or {}
    if not isinstance(query, str) or not query.lstrip().startswith("mutation"):
        return None
    call = _CALL.search(query)
    if call is None:
        return Reply(
            200, {"errors": [{"message": "Only createRef and createCommitOnBranch are served here"}]}
        )
    field, variable = call.groups()
    git_dir = fake.git_dir
    try:
        if git_dir is None:
            raise MutationError("the fake GitHub has no repository to write to (set git_dir)")
        data = variables.get(variable) if isinstance(variables, dict) else None
        _check(data, _ROOT[field], f"${variable}")
        assert isinstance(data, dict)
        with fake.lock:
            result = (
                create_ref(fake, git_dir, data)
                if field == "createRef"
                else create_commit(fake, git_dir, request.caller, data)
            )
    except MutationError as exc:
        error = {"type": exc.kind, "path": [field], "locations": [], "message": exc.message}
        return Reply(200, {"data": {field: None}, "errors": [error]})
    return Reply(200, {"data": {field: result}})


__all__ = ["INPUT_TYPES", "MutationError", "serve"]
