"""How many tokens a request holds, estimated from its JSON size and calibrated per model.

Four characters per token under-counts the newer tokenizers by about 30%, and JSON escaping
adds characters that are not tokens: so the estimator starts cautious (fewer characters per
token than any current model shows) and, after each response, learns the ratio for that model
from what the API reports (``input_tokens`` plus the cache reads and writes of the request it
just sent, whose size in characters the runner knows). The next estimate is then exact for
everything already sent and estimated only for what is new.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Cautious start: requests are JSON of code and prose; current tokenizers give about 3 characters
# of such JSON per token, and over-counting only makes compaction come a little early.
DEFAULT_CHARS_PER_TOKEN = 2.5
# Ratios outside this range are not believed (a usage that does not describe the request sent,
# e.g. after the server cleared part of it).
MIN_CHARS_PER_TOKEN, MAX_CHARS_PER_TOKEN = 1.0, 8.0
# Requests smaller than this say little about the ratio (framing dominates them).
MIN_CALIBRATION_CHARS = 2000


def prompt_tokens(usage: Mapping[str, Any]) -> int:
    """The tokens of the prompt a response answered: uncached input plus cache reads and writes."""
    return sum(
        int(usage.get(key) or 0)
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


@dataclass
class TokenEstimator:
    """Characters per token, per model, learned from the usage the API reports."""

    default_chars_per_token: float = DEFAULT_CHARS_PER_TOKEN
    ratios: dict[str, float] = field(default_factory=dict)

    def chars_per_token(self, model: str) -> float:
        """The ratio for ``model``: learned, else the cautious default."""
        return self.ratios.get(model, self.default_chars_per_token)

    def estimate(self, model: str, size: int) -> int:
        """The tokens of a request whose JSON is ``size`` bytes (characters, for ASCII) to ``model``."""
        return int(size / self.chars_per_token(model)) + 1

    def observe(self, model: str, size: int, usage: Mapping[str, Any]) -> None:
        """Learn from a response: the request sent was ``size`` bytes of JSON and ``usage`` says
        how many tokens it held. Usage that cannot describe it (too small, out of range) is ignored."""
        tokens = prompt_tokens(usage)
        if size < MIN_CALIBRATION_CHARS or tokens <= 0:
            return
        ratio = size / tokens
        if MIN_CHARS_PER_TOKEN <= ratio <= MAX_CHARS_PER_TOKEN:
            self.ratios[model] = ratio
