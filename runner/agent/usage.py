"""Token usage summed per model, and its cost from a price table a user can override."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import SettingsError
from runner.providers.catalog import MODELS, UNKNOWN_PRICE, LongContext, Price, find_model

__all__ = ["DEFAULT_PRICES", "UNKNOWN_PRICE", "Price", "UsageTracker", "load_price_table", "price_for"]


# Matched through the catalog, so every provider's spelling prices too: Bedrock
# ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-opus-4-6-v1", an
# inference-profile ARN that names the model), Vertex ("claude-sonnet-4-5@20250929"), Foundry
# deployment names ("claude-opus-4-6"). An id the catalog does not know (a newer model, an ARN that
# names no model, a gateway's own name) is priced as the most expensive model it knows
# (``UNKNOWN_PRICE``), and the cost is then an estimate.
DEFAULT_PRICES: dict[str, Price] = {m.id: m.price for m in MODELS}
_LONG_CONTEXT: dict[str, LongContext] = {m.id: m.long_context for m in MODELS if m.long_context}


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
    estimated: set[str] = field(default_factory=set)  # models priced as UNKNOWN_PRICE
    turns: int = 0  # model turns of the whole run: the main agent's and its subagents'
    # Subagents running at once add to the same tracker.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count_turn(self) -> int:
        """Count one model turn of the run; returns the run's turns so far."""
        with self._lock:
            self.turns += 1
            return self.turns

    def add(self, model: str, usage: Mapping[str, Any]) -> float:
        """Record one response's usage; returns what it cost."""
        with self._lock:
            return self._add(model, usage)

    def _add(self, model: str, usage: Mapping[str, Any]) -> float:
        entry = self.by_model.setdefault(model, ModelUsage())
        counts = {k: int(usage.get(k) or 0) for k in _TOKEN_FIELDS}
        entry.input_tokens += counts["input_tokens"]
        entry.output_tokens += counts["output_tokens"]
        entry.cache_creation_input_tokens += counts["cache_creation_input_tokens"]
        entry.cache_read_input_tokens += counts["cache_read_input_tokens"]
        key = price_key(model, self.prices)
        if key is None:
            self.estimated.add(model)
        price = self.prices[key] if key is not None else UNKNOWN_PRICE
        prompt = sum(counts[k] for k in _TOKEN_FIELDS if k != "output_tokens")
        long = _LONG_CONTEXT.get(key or "")
        overridden = self.prices.get(key or "") is not DEFAULT_PRICES.get(key or "")
        if long is not None and prompt > long.threshold and not overridden:
            price = long.price  # the whole request is billed at the long-context rate
        # The API splits cache writes by lifetime; the runner writes 5-minute entries, but count both.
        split = usage.get("cache_creation") if isinstance(usage.get("cache_creation"), Mapping) else {}
        hour = int(split.get("ephemeral_1h_input_tokens") or 0) if split else 0
        five = counts["cache_creation_input_tokens"] - hour
        cost = (
            counts["input_tokens"] * price.input
            + counts["output_tokens"] * price.output
            + five * price.cache_write
            + hour * price.cache_write_1h
            + counts["cache_read_input_tokens"] * price.cache_read
        ) / 1_000_000
        searches = int((usage.get("server_tool_use") or {}).get("web_search_requests") or 0)
        entry.web_search_requests += searches
        cost += searches * WEB_SEARCH_USD
        entry.cost_usd += cost
        return cost

    @property
    def cost_is_estimate(self) -> bool:
        """True when a model's id was not in the price table, so its cost is an upper estimate."""
        return bool(self.estimated)

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


def price_key(model: str, prices: Mapping[str, Price]) -> str | None:
    """The key of ``prices`` that prices ``model``: the id itself (a user's table may name any
    id, a Foundry deployment say), else the catalog model the id names; None when neither."""
    lowered = _norm(model)
    if lowered in prices:
        return lowered
    spec = find_model(model)
    return spec.id if spec is not None and spec.id in prices else None


def price_for(model: str, prices: Mapping[str, Price]) -> Price:
    """The price of ``model`` (any provider's spelling); ``UNKNOWN_PRICE`` for an id we do not know."""
    key = price_key(model, prices)
    return prices[key] if key is not None else UNKNOWN_PRICE


_PRICE_KEYS = {"input", "output", "cache_write", "cache_read", "cache_write_1h"}


def load_price_table(path: Path) -> dict[str, Price]:
    """The default table overridden by a JSON file: ``{"model-id": {"input": 3, "output": 15, ...}}``.

    Missing ``cache_write`` / ``cache_read`` / ``cache_write_1h`` default to 1.25x, 0.1x and 2x input.
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
        extra = [entry.get(k) for k in ("cache_write", "cache_read", "cache_write_1h") if k in entry]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values + extra):
            raise SettingsError(f"{path}: prices for {model} must be non-negative numbers")
        base = Price.from_io(float(entry["input"]), float(entry["output"]))
        table[_norm(model)] = Price(
            base.input,
            base.output,
            float(entry.get("cache_write", base.cache_write)),
            float(entry.get("cache_read", base.cache_read)),
            float(entry.get("cache_write_1h", base.cache_write_1h)),
        )
    return table


def _norm(model: str) -> str:
    return re.sub(r"\s+", "", model).lower()
