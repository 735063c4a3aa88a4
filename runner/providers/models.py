"""Model ids: aliases per provider, validation, and which family an id belongs to.

Aliases follow Claude Code's documentation (checked 2026-12-05): on the Anthropic API ``opus``
is Opus 5.5, ``sonnet`` Sonnet 5.5, ``haiku`` Haiku 5.5 and ``fable`` Fable 5.2; on Amazon
Bedrock, Google Vertex AI and Microsoft Foundry ``opus`` is Opus 4.6, ``sonnet`` (the default)
Sonnet 4.5 and ``haiku`` Haiku 4.5, each in that provider's spelling, and ``fable`` Fable 5.2.
``ANTHROPIC_DEFAULT_{OPUS,SONNET,HAIKU,FABLE}_MODEL`` pins an alias on every provider (e.g.
``us.anthropic.claude-opus-5-5`` on Bedrock, ``eu.`` region prefixes, inference profile ARNs).
The ids, prices and limits of the models themselves are in ``catalog.py``.
"""

from __future__ import annotations

from runner.errors import ModelError
from runner.providers.catalog import MODELS
from runner.providers.catalog import context_window as catalog_window
from runner.settings.model import ModelSettings

ALIASES: dict[str, str] = {
    "opus": "claude-opus-5-5",
    "sonnet": "claude-sonnet-5-5",
    "haiku": "claude-haiku-5-5",
    "fable": "claude-fable-5-2",
}
# Bedrock ids are cross-region inference profiles (``us.``), as in Claude Code's defaults; other
# regions pin theirs with ANTHROPIC_DEFAULT_*_MODEL (``eu.anthropic...``, an ARN).
PROVIDER_ALIASES: dict[str, dict[str, str]] = {
    "anthropic": ALIASES,
    "bedrock": {
        "opus": "us.anthropic.claude-opus-4-6-v1",
        "sonnet": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "haiku": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "fable": "us.anthropic.claude-fable-5-2",
    },
    "vertex": {
        "opus": "claude-opus-4-6",
        "sonnet": "claude-sonnet-4-5@20250929",
        "haiku": "claude-haiku-4-5@20251001",
        "fable": "claude-fable-5-2",
    },
    "foundry": {
        # Foundry ids are deployment names; these are the names Claude Code's docs use.
        "opus": "claude-opus-4-6",
        "sonnet": "claude-sonnet-4-5",
        "haiku": "claude-haiku-4-5",
        "fable": "claude-fable-5-2",
    },
}
DEFAULT_MODEL = "sonnet"  # Claude Code's GitHub Actions default to Sonnet; so do the cloud providers

KNOWN_MODELS = tuple(m.id for m in MODELS if m.status != "retired")


def resolve_model(
    name: str | None,
    settings: ModelSettings | None = None,
    *,
    provider: str = "anthropic",
    strict: bool = True,
) -> str:
    """The model id to send: ``--model``, else ``ANTHROPIC_MODEL``, else the default alias.

    ``strict`` (the Anthropic API) accepts aliases and any id starting with ``claude-``;
    gateways and cloud providers accept any string, as Claude Code does: ``strict`` has no
    effect for ``bedrock``, ``vertex`` and ``foundry``.
    """
    if provider not in PROVIDER_ALIASES:
        raise ValueError(f"unknown provider {provider!r}")
    aliases = PROVIDER_ALIASES[provider]
    settings = settings or ModelSettings()
    raw = (name or settings.model or DEFAULT_MODEL).strip()
    alias = raw.lower()
    if alias in aliases:
        return settings.pins.get(alias) or aliases[alias]
    if not raw:
        raise ModelError("the model name is empty", "pass --model sonnet, opus, haiku, fable or a model id")
    if strict and provider == "anthropic" and not raw.startswith("claude-"):
        import difflib  # only for this message: not loaded by every run's provider check

        near = difflib.get_close_matches(raw, [*ALIASES, *KNOWN_MODELS], n=1)
        hint = (
            f"did you mean '{near[0]}'?"
            if near
            else "use sonnet, opus, haiku, fable or a full id like claude-sonnet-5-5"
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


DEFAULT_CONTEXT_WINDOW = 200_000  # for an id the catalog does not know


def context_window(model_id: str) -> int:
    """The context window of ``model_id`` (any provider's spelling, from the catalog); 200K when
    the id is unknown."""
    return catalog_window(model_id) or DEFAULT_CONTEXT_WINDOW
