"""A team's Claude Code setup applied to one run: the settings keys beyond permissions (hooks,
model, outputStyle, includeCoAuthoredBy), the system prompt files, a resumed session and the
debug log. ``prepare_run`` calls :func:`claude_setup` once it has read the settings sources."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from runner.agent.debuglog import DebugLog
from runner.agent.env import is_runner_credential
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
    warn: Callable[[str], None] = lambda line: None  # redacted, for the hooks' log lines
    settings_pairs: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # the settings' env key

    def hooks(
        self, transcript: Path | None, mode: str, process_vars: Mapping[str, str] | None = None
    ) -> HookRunner | None:
        """The run's hooks, or None when the settings have none. ``process_vars``: the process
        environment (then the settings' ``env`` key), read only for the names HTTP hooks list in
        ``allowedEnvVars``; the runner's own credentials are never among them."""
        if not self.keys.hooks:
            return None
        available = {**(process_vars or {}), **dict(self.settings_pairs)}
        chosen: dict[str, str] = {}
        for name in self.keys.hooks.allowed_env_vars():
            if is_runner_credential(name):
                self.warn(f"warning: allowedEnvVars: {name} is a runner credential; HTTP hooks get it empty")
            elif name in available:
                chosen[name] = available[name]
        debug = self.debug.category("hooks")
        return HookRunner(self.keys.hooks, self.session_id, transcript, mode, self.warn, debug, chosen)


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
    pairs = tuple(pair for source in sources for pair in source.env)
    return ClaudeSetup(
        keys,
        session_id or str(uuid.uuid4()),
        history,
        system,
        append,
        debug,
        lambda line: warn(redactor.text(line)),
        pairs,
    )


def _read(path: Path, flag: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"{flag}: cannot read {path}: {reason}") from exc
