"""Runs the hooks of an event as Claude Code does, and tells the loop what they decided.

Hook commands run like the agent's Bash commands: ``bash -c`` in the workspace, with the tools'
scrubbed environment (plus ``CLAUDE_PROJECT_DIR``), inside the OS sandbox when it is on, stdin
the event's JSON, each under its own timeout (60 s unless the hook says) and never past the
run's deadline. HTTP hooks POST the same JSON (``http.py``). The hooks of one event run one
after the other, in settings order.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.agent.tools.base import ToolContext
from runner.hooks.config import Hook, HookCommand, HooksConfig
from runner.hooks.http import post_hook, time_limit
from runner.hooks.protocol import HookRun, Verdict, hook_input, interpret

MAX_OUTPUT_CHARS = 100_000  # of a hook's stdout or stderr


class HookStop(Exception):
    """A hook answered ``continue: false``: the run ends with its ``stopReason``."""


@dataclass
class HookRunner:
    """The run's hooks and what every hook input shares."""

    config: HooksConfig
    session_id: str
    transcript_path: Path | None = None
    permission_mode: str = "default"
    log: Callable[[str], None] = lambda line: None  # what a user should see: failures, systemMessage
    debug: Callable[[str], None] = lambda line: None  # every hook run (--debug hooks)
    # The values HTTP hooks' headers may use: only the names their allowedEnvVars list.
    http_variables: Mapping[str, str] = field(default_factory=dict, repr=False)

    def start(self, prompt: str, *, resumed: bool, ctx: ToolContext) -> tuple[list[str], str | None]:
        """SessionStart, then UserPromptSubmit: context to add to the prompt, or why it is refused."""
        started = self._fire(
            "SessionStart", "resume" if resumed else "startup", ctx, source="resume" if resumed else "startup"
        )
        submitted = self._fire("UserPromptSubmit", None, ctx, prompt=prompt)
        if submitted.block:
            return [], submitted.reason or "a UserPromptSubmit hook refused the prompt"
        return [*started.context, *submitted.context], None

    def before_tool(self, name: str, args: Mapping[str, Any], call_id: str, ctx: ToolContext) -> Verdict:
        """PreToolUse: deny (with the reason for the model), allow, or a changed input."""
        return self._fire("PreToolUse", name, ctx, tool_name=name, tool_input=dict(args), tool_use_id=call_id)

    def after_tool(
        self, name: str, args: Mapping[str, Any], call_id: str, response: Any, ctx: ToolContext
    ) -> str | None:
        """PostToolUse, or PostToolUseFailure when the call failed (as Claude Code splits them):
        feedback for the model (a block's reason, additional context), if any."""
        fields: dict[str, Any] = {"tool_name": name, "tool_input": dict(args), "tool_use_id": call_id}
        if isinstance(response, Mapping) and response.get("is_error"):
            content = response.get("content")
            error = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
            verdict = self._fire("PostToolUseFailure", name, ctx, **fields, error=error, is_interrupt=False)
        else:
            verdict = self._fire("PostToolUse", name, ctx, **fields, tool_response=response)
        notes = [*([verdict.reason] if verdict.block and verdict.reason else []), *verdict.context]
        return "\n".join(notes) or None

    def stop(self, *, active: bool, ctx: ToolContext, last_message: str = "") -> str | None:
        """Stop: the reason to keep going when a hook blocks the end of the turn."""
        verdict = self._fire("Stop", None, ctx, stop_hook_active=active, last_assistant_message=last_message)
        return (verdict.reason or "a Stop hook asked to continue") if verdict.block else None

    def stop_failure(self, error_type: str, error: str, message: str, ctx: ToolContext) -> None:
        """StopFailure (matched on ``error_type``): the turn ended on an API error; for alerting
        only, as in Claude Code: its answer and exit code change nothing."""
        with contextlib.suppress(HookStop):
            self._fire(
                "StopFailure", error_type, ctx, error_type=error_type, error=error, error_message=message
            )

    def end(self, reason: str, ctx: ToolContext) -> None:
        """SessionEnd: nothing it says changes the run."""
        with contextlib.suppress(HookStop):
            self._fire("SessionEnd", None, ctx, reason=reason)

    def pre_compact(self, trigger: str, ctx: ToolContext, instructions: str = "") -> bool:
        """PreCompact, before the conversation is compacted (``manual`` or ``auto``). True: the
        compaction goes ahead (a PreCompact hook cannot block it; ``continue: false`` ends the run)."""
        self._fire("PreCompact", trigger, ctx, trigger=trigger, custom_instructions=instructions)
        return True

    def post_compact(self, trigger: str, summary: str, ctx: ToolContext) -> None:
        """PostCompact, once the summary replaced the older turns: nothing it says changes them
        (``continue: false`` ends the run)."""
        self._fire("PostCompact", trigger, ctx, trigger=trigger, compact_summary=summary)

    def for_subagent(self, agent_type: str, agent_id: str) -> HookRunner:
        """The hooks as a subagent's loop fires them: tool hooks as the parent's, SubagentStop in
        place of Stop, and no session or prompt events (the session is the parent's)."""
        return SubagentHooks(
            self.config,
            self.session_id,
            self.transcript_path,
            self.permission_mode,
            self.log,
            self.debug,
            self.http_variables,
            agent_type=agent_type,
            agent_id=agent_id,
        )

    def _fire(self, event: str, target: str | None, ctx: ToolContext, **fields: Any) -> Verdict:
        commands = self.config.commands(event, target)
        if not commands:
            return Verdict()
        common = {
            "session_id": self.session_id,
            "transcript_path": str(self.transcript_path or ""),
            "cwd": str(ctx.cwd),
            "permission_mode": self.permission_mode,
        }
        stdin = hook_input(event, common, **fields)
        runs = [self._run(hook, stdin, ctx) for hook in commands]
        verdict = interpret(event, runs)
        self.debug(f"{event}{f' ({target})' if target else ''}: ran {len(runs)}; " + _summary(runs))
        for line in verdict.log:
            self.log(f"hooks: {line}")
        if verdict.stop:
            raise HookStop(verdict.stop_reason)
        return verdict

    def _run(self, hook: Hook, stdin: str, ctx: ToolContext) -> HookRun:
        if isinstance(hook, HookCommand):
            return run_command(hook, stdin, ctx)
        return post_hook(hook, stdin, ctx, self.http_variables)


@dataclass
class SubagentHooks(HookRunner):
    """A subagent's view of the run's hooks (``HookRunner.for_subagent``)."""

    agent_type: str = ""
    agent_id: str = ""

    def start(self, prompt: str, *, resumed: bool, ctx: ToolContext) -> tuple[list[str], str | None]:
        """SubagentStart (matched on the agent type): context for the subagent's first prompt.
        SessionStart and UserPromptSubmit belong to the main agent's turn; SubagentStart cannot
        refuse the prompt."""
        verdict = self._fire(
            "SubagentStart", self.agent_type, ctx, agent_id=self.agent_id, agent_type=self.agent_type
        )
        return list(verdict.context), None

    def stop(self, *, active: bool, ctx: ToolContext, last_message: str = "") -> str | None:
        """SubagentStop (matched on the agent type): the reason to keep the subagent going."""
        verdict = self._fire(
            "SubagentStop",
            self.agent_type,
            ctx,
            stop_hook_active=active,
            agent_id=self.agent_id,
            agent_type=self.agent_type,
            last_assistant_message=last_message,
        )
        return (verdict.reason or "a SubagentStop hook asked to continue") if verdict.block else None

    def stop_failure(self, error_type: str, error: str, message: str, ctx: ToolContext) -> None:
        """Nothing: a subagent's failure is a tool result its parent reads, not the turn's end."""

    def end(self, reason: str, ctx: ToolContext) -> None:
        """Nothing: SessionEnd fires once, when the main agent's session ends."""


def run_command(hook: HookCommand, stdin: str, ctx: ToolContext) -> HookRun:
    """Run one hook command: the tools' environment, the sandbox when on, its timeout."""
    limit = time_limit(hook.timeout_s, ctx)
    env = {**ctx.subprocess_env, "CLAUDE_PROJECT_DIR": str(ctx.cwd)}
    argv = [shutil.which("bash") or "/bin/bash", "-c", hook.command]
    if ctx.sandbox is not None:
        argv, env = ctx.sandbox.wrap(hook.command, argv, env)
    try:
        proc = subprocess.Popen(
            argv,
            cwd=ctx.cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return HookRun(hook.command, None, failure=f"could not start: {exc}")
    try:
        out, err = proc.communicate(stdin.encode(), timeout=limit)
    except subprocess.TimeoutExpired:
        _kill(proc)
        proc.communicate()
        return HookRun(hook.command, None, failure=f"timed out after {limit:g} s and was stopped")
    except BaseException:
        _kill(proc)
        raise
    return HookRun(hook.command, proc.returncode, _text(out), _text(err))


def tool_response(block: Mapping[str, Any]) -> Any:
    """A ``tool_result`` block as a hook's ``tool_response``: the text, or the content blocks."""
    content = block.get("content")
    if isinstance(content, list) and all(isinstance(b, dict) and b.get("type") == "text" for b in content):
        content = "\n".join(str(b.get("text", "")) for b in content)
    return {"content": content, "is_error": bool(block.get("is_error"))}


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")[:MAX_OUTPUT_CHARS]


def _summary(runs: list[HookRun]) -> str:
    return ", ".join(_outcome(r) for r in runs)


def _outcome(run: HookRun) -> str:
    """One hook's end for --debug hooks (never an HTTP hook's headers)."""
    if run.exit_code is None:
        return run.failure.split(":")[0]
    return f"HTTP {run.http_status}" if run.http_status is not None else f"exit {run.exit_code}"


__all__ = ["HookRunner", "HookStop", "SubagentHooks", "json", "run_command", "tool_response"]
