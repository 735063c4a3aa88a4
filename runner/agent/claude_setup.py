"""A team's Claude Code setup applied to one run: the settings keys beyond permissions (hooks,
model, outputStyle, includeCoAuthoredBy), the system prompt files, a resumed session and the
debug log. ``prepare_run`` calls :func:`claude_setup` once it has read the settings sources."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from runner.agent.debuglog import DebugLog
from runner.agent.output_style import style_instructions
from runner.agent.permissions import SettingsPermissions
from runner.agent.resume import find_session
from runner.agent.settings_keys import MergedKeys, merge_keys
from runner.errors import UsageError
from runner.hooks.runner import HookRunner
from runner.sanitize import Redactor
from runner.settings.run import RunSettings


@dataclass
class ClaudeSetup:
    """What the settings and flags add to a run."""

    keys: MergedKeys
    session_id: str
    history: tuple[dict[str, Any], ...]
    system_prompt: str | None  # --system-prompt or --system-prompt-file
    append: str | None  # the output style, then --append-system-prompt(-file)
    debug: DebugLog

    def hooks(self, transcript: Path | None, mode: str, log: Callable[[str], None]) -> HookRunner | None:
        """The run's hooks, or None when the settings have none."""
        if not self.keys.hooks:
            return None
        return HookRunner(
            self.keys.hooks, self.session_id, transcript, mode, log=log, debug=self.debug.category("hooks")
        )


def claude_setup(
    settings: RunSettings,
    sources: Sequence[SettingsPermissions],
    *,
    cwd: Path,
    config_dir: Path | None,
    trusted_project: bool,
    warn: Callable[[str], None],
    redactor: Redactor,
) -> ClaudeSetup:
    """Merge the sources' keys, read the prompt files, find the session to resume; warnings to ``warn``."""
    out: IO[str] = sys.stderr
    if settings.debug_file is not None:
        try:
            out = settings.debug_file.open("a", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--debug-file: cannot write {settings.debug_file}: {exc.strerror}") from exc
    debug = DebugLog(
        "" if settings.debug is None and settings.debug_file is not None else settings.debug,
        verbose=settings.verbose,
        out=out,
        redactor=redactor,
    )
    for line in settings.flag_warnings:
        warn(line)
    debug("settings", "sources: " + (", ".join(s.source for s in sources) or "none"))
    keys = merge_keys([(s.source, s.keys) for s in sources])
    for line in keys.warnings:
        warn(line if line.startswith("warning: ") else f"warning: {line}")
    session_id = settings.session_id
    history: tuple[dict[str, Any], ...] = ()
    if settings.resume is not None or settings.continue_session:
        session, warning = find_session(
            settings.resume,
            settings.continue_session,
            cwd=cwd,
            transcript=settings.transcript,
            untrusted_checkout=trusted_project,
        )
        if warning:
            warn(warning)
        if session is not None:
            debug("settings", f"resuming from {session.path} ({len(session.messages)} messages)")
            history = session.messages
            if session_id is None and not settings.fork_session:
                session_id = session.session_id
    system = settings.system_prompt
    if settings.system_prompt_file is not None:
        system = _read(settings.system_prompt_file, "--system-prompt-file")
    dirs = [d for d in (config_dir, None if trusted_project else cwd / ".claude") if d is not None]
    style, warning = style_instructions(keys.output_style, dirs)
    if warning:
        warn(warning)
    appended = [settings.append_system_prompt]
    if settings.append_system_prompt_file is not None:
        appended.append(_read(settings.append_system_prompt_file, "--append-system-prompt-file"))
    append = "\n\n".join(p for p in (None if system is not None else style, *appended) if p) or None
    return ClaudeSetup(keys, session_id or str(uuid.uuid4()), history, system, append, debug)


def _read(path: Path, flag: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"{flag}: cannot read {path}: {reason}") from exc
