"""Claude Code's compaction variables, read once: ``DISABLE_AUTO_COMPACT`` / ``DISABLE_COMPACT``,
``CLAUDE_AUTOCOMPACT_PCT_OVERRIDE`` and ``CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS``."""

from __future__ import annotations

from collections.abc import Mapping

from runner.agent.context import DEFAULT_THRESHOLD_PCT, ContextSettings
from runner.errors import UsageError

_TRUE = ("1", "true", "yes", "on")


def read_context_settings(env: Mapping[str, str]) -> ContextSettings:
    """The settings; a percentage that is not a number from 1 to 100 is a one-line error."""
    raw = env.get("CLAUDE_AUTOCOMPACT_PCT_OVERRIDE", "").strip()
    pct = DEFAULT_THRESHOLD_PCT
    if raw:
        try:
            pct = int(float(raw))
        except ValueError:
            pct = 0
        if not 1 <= pct <= 100:
            raise UsageError(
                f"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE must be a percentage from 1 to 100 (got {raw!r})"
            )
    disabled = _on(env, "DISABLE_AUTO_COMPACT") or _on(env, "DISABLE_COMPACT")
    betas_off = _on(env, "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS")
    return ContextSettings(auto_compact=not disabled, threshold_pct=pct, experimental_betas=not betas_off)


def _on(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in _TRUE
