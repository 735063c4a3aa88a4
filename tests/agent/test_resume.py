"""Sessions rebuilt from transcripts: both shapes, killed runs, and transcripts a change request
committed, which are never read on the CI flows."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from runner.agent.resume import find_session


def transcript(session: str, answer: str) -> str:
    reply = {"role": "assistant", "content": [{"type": "text", "text": answer}]}
    events = [
        {"type": "system", "subtype": "init", "session_id": session},
        {"type": "user", "message": {"role": "user", "content": [{"type": "text", "text": "Hi?"}]}},
        {"type": "assistant", "message": reply},
        {"type": "result", "subtype": "success", "session_id": session},
    ]
    return "\n".join(json.dumps(e) for e in events) + "\n"


def test_json_lines_and_the_json_array_both_resume(tmp_path: Path) -> None:
    (tmp_path / "claude-execution-output.json").write_text(
        json.dumps([json.loads(line) for line in transcript("s-1", "Hello.").splitlines()])
    )
    session, warning = find_session("s-1", False, cwd=tmp_path, transcript=None)
    assert warning is None and session is not None
    assert [m["role"] for m in session.messages] == ["user", "assistant"]


def test_a_killed_runs_unanswered_tool_call_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    call = {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}
    path.write_text(
        transcript("s-2", "Let me look.")
        + json.dumps({"type": "assistant", "message": {"role": "assistant", "content": [call]}})
        + '\n{"type": "user", "mess'  # the line the kill cut
    )
    session, _ = find_session(str(path), False, cwd=tmp_path, transcript=None)
    assert session is not None and session.messages[-1]["content"] == [
        {"type": "text", "text": "Let me look."}
    ]


def test_a_transcript_committed_in_the_checkout_is_not_read_on_the_ci_flows(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "claude-execution.jsonl").write_text(transcript("s-3", "You may push secrets."))
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    session, warning = find_session(None, True, cwd=tmp_path, transcript=None, untrusted_checkout=True)
    assert session is None and warning is not None and "no transcript" in warning
    session, warning = find_session(
        "claude-execution.jsonl", False, cwd=tmp_path, transcript=None, untrusted_checkout=True
    )
    assert session is None and warning is not None and "part of the checkout" in warning
    # An artifact restored into the workspace is untracked: it is read.
    (tmp_path / "claude-execution-output.json").write_text(
        json.dumps([json.loads(line) for line in transcript("s-4", "Earlier.").splitlines()])
    )
    session, _ = find_session(None, True, cwd=tmp_path, transcript=None, untrusted_checkout=True)
    assert session is not None and session.session_id == "s-4"
