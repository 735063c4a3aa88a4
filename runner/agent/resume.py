"""``--resume`` and ``--continue``: the conversation of an earlier run, rebuilt from its transcript.

A run's transcript is the JSON-lines file ``--transcript`` writes (in CI: the ``execution_file``
artifact; GitLab's ``claude-execution.jsonl``), or claude-code-action's JSON array of the same
messages. ``--resume`` takes a transcript's path, or a session id looked up among the transcripts
a run can find: the ``--transcript`` file, ``.claude-runner/sessions/*.jsonl``,
``claude-execution.jsonl`` and ``claude-execution-output.json`` in the workspace. ``--continue``
takes the newest of them. None found: a warning, and a new conversation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SESSIONS_DIR = Path(".claude-runner") / "sessions"
ARTIFACT_NAMES = ("claude-execution.jsonl", "claude-execution-output.json")


@dataclass(frozen=True)
class Session:
    """An earlier run's session id and its messages, ready to send again."""

    session_id: str | None
    messages: tuple[dict[str, Any], ...]
    path: Path


def find_session(
    resume: str | None, continue_session: bool, *, cwd: Path, transcript: Path | None
) -> tuple[Session | None, str | None]:
    """The session to go on from, or ``(None, warning)`` when there is none."""
    flag = "--resume" if resume is not None else "--continue"
    if resume is not None:
        path = Path(resume).expanduser()
        if not path.is_absolute():
            path = cwd / path
        if path.is_file():
            return _load(path), None
    candidates = _candidates(cwd, transcript)
    sessions = [s for s in (_load(p) for p in candidates) if s.messages]
    if resume is not None:
        sessions = [s for s in sessions if s.session_id == resume]
    if sessions:
        return max(sessions, key=lambda s: s.path.stat().st_mtime), None
    what = f"session {resume}" if resume is not None else "an earlier session"
    places = ", ".join([*([str(transcript)] if transcript else []), str(SESSIONS_DIR), *ARTIFACT_NAMES])
    return None, (
        f"warning: {flag}: no transcript of {what} found (looked at {places}); starting a new conversation"
    )


def _candidates(cwd: Path, transcript: Path | None) -> list[Path]:
    paths = [transcript] if transcript is not None else []
    folder = cwd / SESSIONS_DIR
    if folder.is_dir():
        paths += sorted(folder.glob("*.jsonl"))
    paths += [cwd / name for name in ARTIFACT_NAMES]
    return [p for p in paths if p.is_file()]


def _load(path: Path) -> Session:
    events = _events(path)
    session_id = next((e.get("session_id") for e in events if e.get("session_id")), None)
    messages: list[dict[str, Any]] = []
    for event in events:
        if event.get("type") not in ("user", "assistant") or event.get("parent_tool_use_id"):
            continue
        message = event.get("message") or {}
        role, content = message.get("role"), message.get("content")
        if role not in ("user", "assistant") or not content:
            continue
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else _replayable(content)
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] += blocks
        else:
            messages.append({"role": role, "content": blocks})
    return Session(session_id, tuple(_answered(messages)), path)


def _events(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    if text.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return []
        return [e for e in data if isinstance(e, dict)]
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # a killed run's last line may be cut
        if isinstance(event, dict):
            events.append(event)
    return events


def _replayable(content: list[Any]) -> list[dict[str, Any]]:
    """Blocks the API takes back: no cache markers, no blocks of unknown shape."""
    out = []
    for block in content:
        if isinstance(block, dict) and block.get("type"):
            out.append({k: v for k, v in block.items() if k != "cache_control"})
    return out


def _answered(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop a last assistant turn whose tool calls never got results (the run was killed)."""
    last: dict[str, Any] = messages[-1] if messages else {"role": "", "content": []}
    blocks: list[dict[str, Any]] = last["content"]
    if last["role"] == "assistant" and any(b.get("type") == "tool_use" for b in blocks):
        return messages[:-1]
    return messages
