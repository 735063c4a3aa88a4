"""``.claude/review.json``: what a repository asks of a review (focus, the least severity worth
reporting, file filters, the diff's token budget).

Read from the default branch, never from the change request's head: a pull request must not
widen or silence its own review.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from runner.errors import SettingsError
from runner.review.findings import SEVERITIES

CONFIG_PATH = ".claude/review.json"
DEFAULT_BUDGET_TOKENS = 40_000  # the diff's share of the first request; the agent reads the rest


@dataclass(frozen=True)
class ReviewConfig:
    """``.claude/review.json`` on the default branch (never the change request's head)."""

    focus: tuple[str, ...] = ()
    min_severity: str = SEVERITIES[-1]  # report everything unless the repository says otherwise
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    budget_tokens: int = DEFAULT_BUDGET_TOKENS

    def describe(self) -> str:
        """One log line's worth: the settings a reader may want to check, in words."""
        parts = [f"min_severity {self.min_severity}", f"budget {self.budget_tokens} tokens"]
        for name, values in (("focus", self.focus), ("include", self.include), ("exclude", self.exclude)):
            if values:
                parts.append(f"{name} {', '.join(values)}")
        return "; ".join(parts)


def parse_config(text: str | None) -> ReviewConfig:
    """The review settings; a malformed file is a ``SettingsError`` naming the field."""
    if not text:
        return ReviewConfig()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{CONFIG_PATH} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{CONFIG_PATH} must hold a JSON object")

    def strings(name: str) -> tuple[str, ...]:
        value = data.get(name, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{CONFIG_PATH}: {name} must be a list of strings")
        return tuple(value)

    severity = data.get("min_severity", SEVERITIES[-1])
    if severity not in SEVERITIES:
        raise SettingsError(f"{CONFIG_PATH}: min_severity must be one of {', '.join(SEVERITIES)}")
    budget = data.get("budget_tokens", DEFAULT_BUDGET_TOKENS)
    if not isinstance(budget, int) or budget < 1000:
        raise SettingsError(f"{CONFIG_PATH}: budget_tokens must be a number of tokens (at least 1000)")
    return ReviewConfig(strings("focus"), severity, strings("exclude"), strings("include"), budget)
