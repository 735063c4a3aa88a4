"""Token usage summed per model, and its cost from a price table a user can override."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import SettingsError


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float

    @classmethod
    def from_io(cls, input_: float, output: float) -> Price:
        """The usual shape: 5-minute cache writes cost 1.25x input, reads 0.1x."""
        return cls(input_, output, round(input_ * 1.25, 6), round(input_ * 0.1, 6))


# Matched by the longest key contained in the model id, so every provider's spelling prices too:
# Bedrock ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-opus-4-6-v1", an
# inference-profile ARN that names the model), Vertex ("claude-sonnet-4-5@20250929"), Foundry
# deployment names ("claude-opus-4-6"). An ARN that names no model (an application inference
# profile) is priced as unknown rather than guessed from a word in it.
DEFAULT_PRICES: dict[str, Price] = {
    "claude-opus-4-8": Price.from_io(5, 25),
    "claude-opus-4-7": Price.from_io(5, 25),
    "claude-opus-4-6": Price.from_io(5, 25),
    "claude-opus-4-5": Price.from_io(5, 25),
    "claude-opus-4-1": Price.from_io(15, 75),
    "claude-opus-4": Price.from_io(15, 75),
    "claude-sonnet-5": Price.from_io(3, 15),
    "claude-sonnet-4": Price.from_io(3, 15),
    "claude-3-7-sonnet": Price.from_io(3, 15),
    "claude-haiku-4-5": Price.from_io(1, 5),
    "claude-3-5-sonnet": Price.from_io(3, 15),
    "claude-3-5-haiku": Price.from_io(0.8, 4),
    "claude-3-opus": Price.from_io(15, 75),
    "claude-3-haiku": Price.from_io(0.25, 1.25),
    # Family fallbacks for ids we do not list yet.
    "opus": Price.from_io(5, 25),
    "sonnet": Price.from_io(3, 15),
    "haiku": Price.from_io(1, 5),
}
# Claude Code prices unknown ids at $5/$25 for its spend limits; so do we.
UNKNOWN_PRICE = Price.from_io(5, 25)


@dataclass
class ModelUsage:
    """Tokens one model used over a run."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    web_search_requests: int = 0
    cost_usd: float = 0.0


@dataclass
class UsageTracker:
    """Adds each response's usage, per model, and prices it as it goes."""

    prices: Mapping[str, Price] = field(default_factory=lambda: DEFAULT_PRICES)
    by_model: dict[str, ModelUsage] = field(default_factory=dict)

    def add(self, model: str, usage: Mapping[str, Any]) -> float:
        """Record one response's usage; returns what it cost."""
        entry = self.by_model.setdefault(model, ModelUsage())
        counts = {k: int(usage.get(k) or 0) for k in _TOKEN_FIELDS}
        entry.input_tokens += counts["input_tokens"]
        entry.output_tokens += counts["output_tokens"]
        entry.cache_creation_input_tokens += counts["cache_creation_input_tokens"]
        entry.cache_read_input_tokens += counts["cache_read_input_tokens"]
        price = price_for(model, self.prices)
        cost = (
            counts["input_tokens"] * price.input
            + counts["output_tokens"] * price.output
            + counts["cache_creation_input_tokens"] * price.cache_write
            + counts["cache_read_input_tokens"] * price.cache_read
        ) / 1_000_000
        searches = int((usage.get("server_tool_use") or {}).get("web_search_requests") or 0)
        entry.web_search_requests += searches
        cost += searches * WEB_SEARCH_USD
        entry.cost_usd += cost
        return cost

    @property
    def total_cost_usd(self) -> float:
        """Dollars spent so far, all models."""
        return sum(m.cost_usd for m in self.by_model.values())

    def totals(self) -> dict[str, int]:
        """Claude Code's ``usage`` object: tokens summed over all models."""
        return {k: sum(getattr(m, k) for m in self.by_model.values()) for k in _TOKEN_FIELDS}

    def model_usage(self) -> dict[str, dict[str, Any]]:
        """Claude Code's ``modelUsage`` object: camelCase counts and cost per model."""
        return {
            model: {
                "inputTokens": m.input_tokens,
                "outputTokens": m.output_tokens,
                "cacheReadInputTokens": m.cache_read_input_tokens,
                "cacheCreationInputTokens": m.cache_creation_input_tokens,
                "webSearchRequests": m.web_search_requests,
                "costUSD": round(m.cost_usd, 6),
            }
            for model, m in self.by_model.items()
        }


WEB_SEARCH_USD = 10 / 1000  # the API's price of one web search, whatever the model

_TOKEN_FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")


def price_for(model: str, prices: Mapping[str, Price]) -> Price:
    """The price whose key is the longest substring of ``model`` (case-insensitive).

    For an ARN, the bare family keys (``opus``, ``sonnet``, ``haiku``) do not count: an
    application inference profile is named by its owner, and "sonnet" in such a name says
    nothing reliable about the model behind it.
    """
    lowered = model.strip().lower()
    if lowered in prices:
        return prices[lowered]
    matches = [key for key in prices if key in lowered]
    if lowered.startswith("arn:"):
        matches = [key for key in matches if key not in _FAMILY_KEYS]
    return prices[max(matches, key=len)] if matches else UNKNOWN_PRICE


_FAMILY_KEYS = frozenset({"opus", "sonnet", "haiku"})


_PRICE_KEYS = {"input", "output", "cache_write", "cache_read"}


def load_price_table(path: Path) -> dict[str, Price]:
    """The default table overridden by a JSON file: ``{"model-id": {"input": 3, "output": 15, ...}}``.

    Missing ``cache_write`` / ``cache_read`` default to 1.25x and 0.1x input.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(
            f"cannot read price table {path}: {exc.strerror}", "check the --price-table path"
        ) from exc
    except json.JSONDecodeError as exc:
        raise SettingsError(
            f"{path}:{exc.lineno}:{exc.colno}: price table is not valid JSON ({exc.msg})",
            "fix the JSON syntax",
        ) from exc
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: price table must be a JSON object of model id to prices")
    table = dict(DEFAULT_PRICES)
    for model, entry in data.items():
        if (
            not isinstance(entry, dict)
            or not {"input", "output"} <= entry.keys()
            or entry.keys() - _PRICE_KEYS
        ):
            raise SettingsError(
                f"{path}: {model} needs numbers for input and output (optional cache_write, cache_read)"
            )
        values = [entry.get(k) for k in ("input", "output")]
        extra = [entry.get(k) for k in ("cache_write", "cache_read") if k in entry]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values + extra):
            raise SettingsError(f"{path}: prices for {model} must be non-negative numbers")
        base = Price.from_io(float(entry["input"]), float(entry["output"]))
        table[_norm(model)] = Price(
            base.input,
            base.output,
            float(entry.get("cache_write", base.cache_write)),
            float(entry.get("cache_read", base.cache_read)),
        )
    return table


def _norm(model: str) -> str:
    return re.sub(r"\s+", "", model).lower()
