"""``--resume`` and ``--continue``: the conversation of an earlier run, rebuilt from its transcript.

A run's transcript is the JSON-lines file ``--transcript`` writes (in CI: the ``execution_file``
artifact; GitLab's ``claude-execution.jsonl``), or claude-code-action's JSON array of the same
messages. ``--resume`` takes a transcript's path, or a session id looked up among the transcripts
a run can find: the ``--transcript`` file, ``.claude-runner/sessions/*.jsonl``,
``claude-execution.jsonl`` and ``claude-execution-output.json`` in the workspace. ``--continue``
takes the newest of them. None found: a warning, and a new conversation.

On the CI flows the checkout may be a change request's head: a transcript committed in it is
the change's text, not an earlier run's, and is never read (an artifact restored into the
workspace is untracked, and is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.git.core import run_git

SESSIONS_DIR = Path(".claude-runner") / "sessions"
ARTIFACT_NAMES = ("claude-execution.jsonl", "claude-execution-output.json")


@dataclass(frozen=True)
class Session:
    """An earlier run's session id and its messages, ready to send again."""

    session_id: str | None
    messages: tuple[dict[str, Any], ...]
    path: Path


def find_session(
    resume: str | None,
    continue_session: bool,
    *,
    cwd: Path,
    transcript: Path | None,
    untrusted_checkout: bool = False,
) -> tuple[Session | None, str | None]:
    """The session to go on from, or ``(None, warning)`` when there is none.

    ``untrusted_checkout``: files tracked in ``cwd``'s git checkout are never read."""
    flag = "--resume" if resume is not None else "--continue"
    if resume is not None:
        path = Path(resume).expanduser()
        if not path.is_absolute():
            path = cwd / path
        if path.is_file():
            if untrusted_checkout and _tracked(path, cwd):
                return None, f"warning: {flag}: {resume} is part of the checkout, not a transcript; ignored"
            return _load(path), None
    candidates = [p for p in _candidates(cwd, transcript) if not (untrusted_checkout and _tracked(p, cwd))]
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
    """Drop a last assistant turn's tool calls that never got results (the run was killed)."""
    if not messages or messages[-1]["role"] != "assistant":
        return messages
    blocks: list[dict[str, Any]] = messages[-1]["content"]
    kept = [b for b in blocks if b.get("type") != "tool_use"]
    if kept:
        return [*messages[:-1], {"role": "assistant", "content": kept}]
    return messages[:-1]


def _tracked(path: Path, cwd: Path) -> bool:
    """Whether ``path`` is a file git tracks in the checkout at ``cwd``."""
    try:
        inside = path.resolve().is_relative_to(cwd.resolve())
    except OSError:
        return False
    if not inside:
        return False
    done = run_git(["ls-files", "--error-unmatch", "--", str(path.resolve())], cwd.resolve(), check=False)
    return done.returncode == 0
