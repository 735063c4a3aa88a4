"""The model settings Claude Code reads from the environment: ``ANTHROPIC_MODEL`` and alias pins."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_PIN = re.compile(r"ANTHROPIC_DEFAULT_([A-Z0-9]+)_MODEL")


@dataclass(frozen=True)
class ModelSettings:
    """``model``: ``ANTHROPIC_MODEL`` (used when no ``--model`` is given); ``pins``: alias -> id
    from ``ANTHROPIC_DEFAULT_<ALIAS>_MODEL`` (e.g. ``haiku`` -> a dated Haiku id)."""

    model: str | None = None
    pins: Mapping[str, str] = field(default_factory=dict)


def read_model_settings(env: Mapping[str, str]) -> ModelSettings:
    """The model variables, blank ones ignored."""
    pins = {}
    for name, value in env.items():
        match = _PIN.fullmatch(name)
        if match and value.strip():
            pins[match.group(1).lower()] = value.strip()
    return ModelSettings(model=env.get("ANTHROPIC_MODEL", "").strip() or None, pins=pins)
