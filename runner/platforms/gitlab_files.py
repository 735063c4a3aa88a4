"""Reading a GitLab project's files at a ref: one file's text, the files under a folder."""

from __future__ import annotations

import urllib.parse
from typing import Any

from runner.platforms.base import MAX_LISTED_FILES
from runner.platforms.gitlab_client import GitLabClient
from runner.platforms.gitlab_data import error_message


def read_file(client: GitLabClient, project: str, path: str, ref: str) -> str | None:
    """A file's text at ``ref``, or None when it does not exist there."""
    from gitlab.exceptions import GitlabHttpError

    url = f"{project}/repository/files/{urllib.parse.quote(path, safe='')}/raw"

    def fetch() -> Any:
        try:
            return client.http_get(url, {"ref": ref}, raw=True)
        except GitlabHttpError as exc:
            if exc.response_code == 404 and "Project Not Found" not in error_message(exc):
                return None
            raise

    response = client.call(f"read {path} at {ref}", fetch)
    if response is None:
        return None
    content = getattr(response, "content", b"")  # raw=True: the requests Response
    return bytes(content).decode("utf-8", errors="replace")


def list_files(client: GitLabClient, project: str, directory: str, ref: str) -> list[str]:
    """The files under ``directory`` at ``ref``: the repository tree, recursive, every page (a
    config folder, not a whole tree: the first ``MAX_LISTED_FILES`` by path)."""
    from gitlab.exceptions import GitlabHttpError

    query = {"path": directory.strip("/"), "ref": ref, "recursive": "true"}

    def fetch() -> Any:
        try:
            return client.http_list(f"{project}/repository/tree", query)
        except GitlabHttpError as exc:
            if exc.response_code == 404 and "Project Not Found" not in error_message(exc):
                return None
            raise

    entries = client.call(f"list {directory} at {ref}", fetch)
    files = [str(e.get("path")) for e in entries or () if isinstance(e, dict) and e.get("type") == "blob"]
    return sorted(files)[:MAX_LISTED_FILES]
