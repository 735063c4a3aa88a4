"""What a hook reads and what its answer means, as Claude Code's hooks reference says; pure.

A hook gets one JSON object on stdin (``session_id``, ``transcript_path``, ``cwd``,
``permission_mode``, ``hook_event_name`` and the event's fields: ``tool_name``, ``tool_input``,
``tool_use_id``, ``tool_response``, ``prompt``, ``stop_hook_active``, ``last_assistant_message``,
``agent_id``, ``agent_type``, ``error``, ``is_interrupt``, ``source``, ``reason``, ``trigger``). Its answer:

- exit 2 blocks (PreToolUse: the call; Stop: the end of the turn; UserPromptSubmit: the prompt)
  and its stderr goes to the model (PostToolUse: as feedback, the tool has run);
- exit 0 with JSON on stdout: ``continue``/``stopReason``, ``suppressOutput``, ``systemMessage``,
  ``decision: "block"`` with ``reason``, ``hookSpecificOutput`` (``permissionDecision`` allow /
  deny / ask, where ask is deny in CI, ``permissionDecisionReason``, ``updatedInput``,
  ``additionalContext``); plain stdout is context for UserPromptSubmit and SessionStart and only
  logged otherwise;
- any other exit code, or a timeout, is a non-blocking error: logged, the run goes on.

An HTTP hook gets the same JSON as its request body; a 2xx answer's body is read as stdout on
exit 0, anything else is a non-blocking error (``http.py``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# Events whose plain stdout (exit 0) is added to the model's context.
_STDOUT_IS_CONTEXT = frozenset({"UserPromptSubmit", "SessionStart"})
# Events a hook can block (exit 2 or decision "block").
_BLOCKABLE = frozenset({"PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop", "SubagentStop"})


@dataclass(frozen=True)
class HookRun:
    """How one hook ended: ``exit_code`` None when it timed out or could not start (an HTTP hook:
    0 for a 2xx answer, its body as ``stdout``; None for any other status or a failed request)."""

    command: str  # an HTTP hook's URL as logs may show it
    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    failure: str = ""  # why there is no exit code
    http_status: int | None = None  # an HTTP hook's answer


@dataclass
class Verdict:
    """What every hook of one event decided, together."""

    block: bool = False  # deny the call / keep the turn going / refuse the prompt; feedback in reason
    allow: bool = False  # PreToolUse: a hook allowed the call (deny and ask rules still apply)
    reasons: list[str] = field(default_factory=list)
    updated_input: dict[str, Any] | None = None
    context: list[str] = field(default_factory=list)  # additionalContext, stdout for some events
    stop: bool = False  # continue: false
    stop_reason: str = ""
    log: list[str] = field(default_factory=list)  # for the run's log, never the model

    @property
    def reason(self) -> str:
        """The reasons the hooks gave, for the model."""
        return "\n".join(r for r in self.reasons if r).strip()


def hook_input(event: str, common: dict[str, Any], **fields: Any) -> str:
    """The JSON a hook reads on stdin."""
    return json.dumps({**common, "hook_event_name": event, **fields}, ensure_ascii=False, default=str)


def interpret(event: str, runs: Sequence[HookRun]) -> Verdict:
    """Combine the answers of every hook run for ``event`` (a deny from any hook wins)."""
    verdict = Verdict()
    for run in runs:
        _one(event, run, verdict)
    if verdict.block:
        verdict.allow = False
    return verdict


def _one(event: str, run: HookRun, verdict: Verdict) -> None:
    name = f"{event} hook `{_short(run.command)}`"
    if run.exit_code is None:
        verdict.log.append(f"{name}: {run.failure}")
        return
    if run.exit_code == 2:
        stderr = run.stderr.strip()
        verdict.log.append(f"{name} exited 2{': ' + _short(stderr, 300) if stderr else ''}")
        if event in _BLOCKABLE:
            verdict.block = True
            verdict.reasons.append(stderr or f"blocked by the {event} hook")
        return
    if run.exit_code != 0:
        verdict.log.append(f"{name} failed (exit {run.exit_code}): {_short(run.stderr.strip(), 300)}")
        return
    out = run.stdout.strip()
    data = _json_object(out)
    if data is None:
        if out and event in _STDOUT_IS_CONTEXT:
            verdict.context.append(out)
        elif out:
            verdict.log.append(f"{name}: {_short(out, 300)}")
        return
    _json_answer(event, name, data, verdict)


def _json_answer(event: str, name: str, data: dict[str, Any], verdict: Verdict) -> None:
    if data.get("continue") is False:
        verdict.stop = True
        verdict.stop_reason = str(
            data.get("stopReason") or verdict.stop_reason or f"stopped by the {event} hook"
        )
    if isinstance(data.get("systemMessage"), str):
        verdict.log.append(f"{name}: {data['systemMessage']}")
    reason = data.get("reason") if isinstance(data.get("reason"), str) else ""
    decision = data.get("decision")
    if decision == "block" and event in _BLOCKABLE:
        verdict.block = True
        verdict.reasons.append(reason or f"blocked by the {event} hook")
    elif decision == "approve" and event == "PreToolUse":  # the older spelling of allow
        verdict.allow = True
    specific = data.get("hookSpecificOutput")
    if not isinstance(specific, dict):
        return
    context = specific.get("additionalContext")
    if isinstance(context, str) and context.strip():
        verdict.context.append(context.strip())
    if event != "PreToolUse":
        return
    permission = specific.get("permissionDecision")
    why = specific.get("permissionDecisionReason")
    why = why if isinstance(why, str) else ""
    if permission in ("deny", "ask"):  # nobody can answer "ask" in CI
        verdict.block = True
        verdict.reasons.append(why or f"denied by the {name}")
    elif permission == "allow":
        verdict.allow = True
    updated = specific.get("updatedInput")
    if isinstance(updated, dict):
        verdict.updated_input = updated


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
