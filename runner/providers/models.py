"""Model ids: aliases, validation, and which family an id belongs to.

Aliases follow Claude Code's documentation for the Anthropic API (``opus`` is Opus 4.8,
``sonnet`` is Sonnet 5, ``haiku`` is Haiku 4.5) and can be pinned with
``ANTHROPIC_DEFAULT_{OPUS,SONNET,HAIKU}_MODEL``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from runner.errors import ModelError

ALIASES: dict[str, str] = {
    "opus": "claude-opus-4-8",
    "sonnet": "claude-sonnet-5",
    "haiku": "claude-haiku-4-5",
}
DEFAULT_MODEL = "sonnet"  # Claude Code's GitHub Actions default to Sonnet

KNOWN_MODELS = (
    "claude-opus-4-8",
    "claude-opus-4-7",
    "claude-opus-4-6",
    "claude-opus-4-5",
    "claude-opus-4-1",
    "claude-opus-4-0",
    "claude-sonnet-5",
    "claude-sonnet-4-6",
    "claude-sonnet-4-5",
    "claude-sonnet-4-0",
    "claude-haiku-4-5",
    "claude-3-5-haiku-latest",
)


def resolve_model(name: str | None, env: Mapping[str, str], *, strict: bool = True) -> str:
    """The model id to send: ``--model``, else ``ANTHROPIC_MODEL``, else the default alias.

    ``strict`` (the Anthropic API) accepts aliases and any id starting with ``claude-``;
    gateways and cloud providers accept any string, as Claude Code does.
    """
    raw = (name or env.get("ANTHROPIC_MODEL") or DEFAULT_MODEL).strip()
    alias = raw.lower()
    if alias in ALIASES:
        pinned = env.get(f"ANTHROPIC_DEFAULT_{alias.upper()}_MODEL", "").strip()
        return pinned or ALIASES[alias]
    if not raw:
        raise ModelError("the model name is empty", "pass --model sonnet, opus, haiku or a full model id")
    if strict and not raw.startswith("claude-"):
        near = difflib.get_close_matches(raw, [*ALIASES, *KNOWN_MODELS], n=1)
        hint = (
            f"did you mean '{near[0]}'?"
            if near
            else "use sonnet, opus, haiku or a full id like claude-sonnet-5"
        )
        raise ModelError(f'model "{raw}" is not a recognized model id', hint)
    return raw


def model_family(model_id: str) -> str | None:
    """``opus``, ``sonnet``, ``haiku`` or None, for ids of any provider's spelling."""
    lowered = model_id.lower()
    for family in ("opus", "sonnet", "haiku"):
        if family in lowered:
            return family
    return None
