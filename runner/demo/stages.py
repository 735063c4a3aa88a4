"""What the demo shows of a run while it ran: the tracking comment as first posted (the
"working…" stage), and the tool calls as the job's live log printed them. Pure: read from the
fake's request log and the job log; only stdlib imports."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any


def first_posted_body(requests: Iterable[Any]) -> str:
    """The body of the first comment (or note) the runner posted: the tracking comment before the
    agent ran. ``requests``: the fake's records of its ``create_comment`` / ``create_note`` calls."""
    for record in requests:
        body = record.body.get("body") if isinstance(record.body, dict) else None
        if isinstance(body, str):
            return body
    return ""


def tool_call_lines(log: str, workspace: Path) -> list[str]:
    """The live log's tool-call lines (``Read calc.py → ok (67 bytes)``), one per call, with the
    checkout's path left out as a reader of the demo knows where it ran."""
    prefix = f"{workspace}/"
    return [
        line.strip().replace(prefix, "")
        for line in log.splitlines()
        if line.startswith("  ") and not line.startswith("   ") and " → " in line
    ]


def change_url(server: str, project: str, number: int, platform: str) -> str:
    """The web address of pull request (or merge request) ``number``."""
    if platform == "gitlab":
        return f"{server}/{project}/-/merge_requests/{number}"
    return f"{server}/{project}/pull/{number}"


__all__ = ["change_url", "first_posted_body", "tool_call_lines"]
