"""The Claude models the API serves: ids per provider, prices, output limits, thinking and effort.

Checked on 2026-12-05 against the Claude docs' models overview, the model pages, the pricing page
and the effort and thinking pages (platform.claude.com). A model missing here still works (any id
is sent as given); it is priced as the most expensive model below and the result says the cost
is an estimate.

Prices are US dollars per million tokens. ``thinking`` says what the ``thinking`` request field
may hold for the model:

- ``always``: adaptive thinking is always on; ``{"type": "disabled"}`` and budgets are rejected;
- ``on``: adaptive thinking is on by default and may be disabled (at effort ``high`` or lower);
- ``adaptive``: adaptive thinking when asked; ``budget_tokens`` is rejected (Claude 4.7 and later);
- ``adaptive+budget``: adaptive, or a ``budget_tokens`` budget (deprecated) (Claude 4.6);
- ``budget``: extended thinking with ``budget_tokens`` only (Claude 4.5 and earlier);
- ``none``: no thinking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHECKED = "2026-12-05"
# Claude Code sends max_tokens 64,000; a model whose limit is lower gets its own limit.
DEFAULT_MAX_TOKENS = 64_000
EFFORT_LEVELS = ("low", "medium", "high", "xhigh", "max")
BEDROCK_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "jp.", "au.", "ca.", "global.")


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens; ``cache_write`` is the 5-minute write, ``cache_write_1h`` the hour."""

    input: float
    output: float
    cache_write: float
    cache_read: float
    cache_write_1h: float = 0.0

    def __post_init__(self) -> None:
        if not self.cache_write_1h:
            object.__setattr__(self, "cache_write_1h", round(self.input * 2, 6))

    @classmethod
    def from_io(cls, input_: float, output: float) -> Price:
        """The usual shape: 5-minute cache writes cost 1.25x input, 1-hour writes 2x, reads 0.1x."""
        return cls(input_, output, round(input_ * 1.25, 6), round(input_ * 0.1, 6), round(input_ * 2, 6))


@dataclass(frozen=True)
class LongContext:
    """A request whose prompt (input + cache writes + cache reads) is over ``threshold`` tokens
    is billed at ``price`` for every token, output included."""

    threshold: int
    price: Price


@dataclass(frozen=True)
class ModelSpec:
    """One model as the docs list it."""

    id: str  # the Claude API id (undated since the 4.6 generation)
    name: str
    price: Price
    context: int
    max_output: int
    thinking: str
    efforts: tuple[str, ...] = ()  # accepted output_config.effort levels; () = no effort parameter
    default_effort: str | None = None
    date: str | None = None  # snapshot date of ids before the 4.6 generation (YYYYMMDD)
    status: str = "active"  # active, legacy, limited (invitation only), retired (gone from the API)
    long_context: LongContext | None = None
    bedrock_v1: bool = False  # Opus 4.6 is the last Bedrock id with a bare "-v1"

    def provider_id(self, provider: str) -> str:
        """The id in ``provider``'s spelling (Bedrock's without an inference-profile prefix)."""
        if provider == "bedrock":
            if self.date:
                return f"anthropic.{self.id}-{self.date}-v1:0"
            return f"anthropic.{self.id}-v1" if self.bedrock_v1 else f"anthropic.{self.id}"
        if provider == "vertex" and self.date:
            return f"{self.id}@{self.date}"
        return self.id


_ALL = EFFORT_LEVELS
_NO_XHIGH = ("low", "medium", "high", "max")
_BASIC = ("low", "medium", "high")
_M = 1_000_000
_K = 1000


def _p(i: float, o: float, w5: float, w1: float, r: float) -> Price:
    return Price(i, o, w5, r, w1)


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "claude-fable-5-2", "Claude Fable 5.2", _p(8, 40, 10, 16, 0.2), _M, 128 * _K, "always", _ALL, "high"
    ),
    ModelSpec(
        "claude-mythos-5-2",
        "Claude Mythos 5.2",
        _p(8, 40, 10, 16, 0.2),
        _M,
        128 * _K,
        "always",
        _ALL,
        "high",
        status="limited",
    ),
    ModelSpec(
        "claude-opus-5-5", "Claude Opus 5.5", _p(4, 20, 5, 8, 0.2), _M, 128 * _K, "always", _ALL, "medium"
    ),
    ModelSpec(
        "claude-sonnet-5-5", "Claude Sonnet 5.5", _p(2, 10, 2.5, 4, 0.1), _M, 128 * _K, "always", _ALL, "high"
    ),
    ModelSpec(
        "claude-haiku-5-5",
        "Claude Haiku 5.5",
        _p(0.1, 0.5, 0.125, 0.2, 0.01),
        _M,
        128 * _K,
        "on",
        _ALL,
        "medium",
        long_context=LongContext(100_000, _p(0.5, 2.5, 0.625, 1.0, 0.05)),
    ),
    ModelSpec(
        "claude-fable-5-1",
        "Claude Fable 5.1",
        _p(10, 50, 12.5, 20, 0.25),
        _M,
        128 * _K,
        "always",
        _ALL,
        "high",
        status="legacy",
    ),
    ModelSpec(
        "claude-mythos-5-1",
        "Claude Mythos 5.1",
        _p(10, 50, 12.5, 20, 0.25),
        _M,
        128 * _K,
        "always",
        _ALL,
        "high",
        status="limited",
    ),
    ModelSpec(
        "claude-fable-5",
        "Claude Fable 5",
        _p(10, 50, 12.5, 20, 1),
        _M,
        128 * _K,
        "always",
        _ALL,
        "high",
        status="legacy",
    ),
    ModelSpec(
        "claude-mythos-5",
        "Claude Mythos 5",
        _p(10, 50, 12.5, 20, 1),
        _M,
        128 * _K,
        "always",
        _ALL,
        "high",
        status="limited",
    ),
    ModelSpec(
        "claude-opus-5",
        "Claude Opus 5",
        _p(5, 25, 6.25, 10, 0.5),
        _M,
        128 * _K,
        "on",
        _ALL,
        "high",
        status="legacy",
    ),
    ModelSpec(
        "claude-sonnet-5",
        "Claude Sonnet 5",
        _p(2, 10, 2.5, 4, 0.2),
        _M,
        128 * _K,
        "adaptive",
        _ALL,
        "high",
        status="legacy",
    ),
    ModelSpec(
        "claude-opus-4-8",
        "Claude Opus 4.8",
        _p(5, 25, 6.25, 10, 0.5),
        _M,
        128 * _K,
        "adaptive",
        _ALL,
        "high",
        status="legacy",
    ),
    ModelSpec(
        "claude-opus-4-7",
        "Claude Opus 4.7",
        _p(5, 25, 6.25, 10, 0.5),
        _M,
        128 * _K,
        "adaptive",
        _ALL,
        "high",
        status="legacy",
    ),
    ModelSpec(
        "claude-opus-4-6",
        "Claude Opus 4.6",
        _p(5, 25, 6.25, 10, 0.5),
        _M,
        128 * _K,
        "adaptive+budget",
        _NO_XHIGH,
        "high",
        status="legacy",
        bedrock_v1=True,
    ),
    ModelSpec(
        "claude-sonnet-4-6",
        "Claude Sonnet 4.6",
        _p(3, 15, 3.75, 6, 0.3),
        _M,
        64 * _K,
        "adaptive+budget",
        _NO_XHIGH,
        "high",
        status="legacy",
    ),
    ModelSpec(
        "claude-opus-4-5",
        "Claude Opus 4.5",
        _p(5, 25, 6.25, 10, 0.5),
        200 * _K,
        64 * _K,
        "budget",
        _BASIC,
        "high",
        date="20251101",
        status="legacy",
    ),
    ModelSpec(
        "claude-sonnet-4-5",
        "Claude Sonnet 4.5",
        _p(3, 15, 3.75, 6, 0.3),
        200 * _K,
        64 * _K,
        "budget",
        date="20250929",
        status="legacy",
        long_context=LongContext(200_000, _p(6, 22.5, 7.5, 12, 0.6)),
    ),
    ModelSpec(
        "claude-haiku-4-5",
        "Claude Haiku 4.5",
        _p(1, 5, 1.25, 2, 0.1),
        200 * _K,
        64 * _K,
        "budget",
        date="20251001",
        status="legacy",
    ),
    ModelSpec(
        "claude-opus-4-1",
        "Claude Opus 4.1",
        _p(15, 75, 18.75, 30, 1.5),
        200 * _K,
        32 * _K,
        "budget",
        date="20250805",
        status="retired",
    ),
    ModelSpec(
        "claude-opus-4",
        "Claude Opus 4",
        _p(15, 75, 18.75, 30, 1.5),
        200 * _K,
        32 * _K,
        "budget",
        date="20250514",
        status="retired",
    ),
    ModelSpec(
        "claude-sonnet-4",
        "Claude Sonnet 4",
        _p(3, 15, 3.75, 6, 0.3),
        200 * _K,
        64 * _K,
        "budget",
        date="20250514",
        status="retired",
        long_context=LongContext(200_000, _p(6, 22.5, 7.5, 12, 0.6)),
    ),
    ModelSpec(
        "claude-3-7-sonnet",
        "Claude Sonnet 3.7",
        _p(3, 15, 3.75, 6, 0.3),
        200 * _K,
        64 * _K,
        "budget",
        date="20250219",
        status="retired",
    ),
    ModelSpec(
        "claude-3-5-haiku",
        "Claude Haiku 3.5",
        _p(0.8, 4, 1, 1.6, 0.08),
        200 * _K,
        8192,
        "none",
        date="20241022",
        status="retired",
    ),
    ModelSpec(
        "claude-3-haiku",
        "Claude Haiku 3",
        _p(0.25, 1.25, 0.3, 0.5, 0.03),
        200 * _K,
        4096,
        "none",
        date="20240307",
        status="retired",
    ),
)
BY_ID = {m.id: m for m in MODELS}
# Older API aliases that name a model by another spelling.
_ALIASES = {"claude-opus-4-0": "claude-opus-4", "claude-sonnet-4-0": "claude-sonnet-4"}


def _most_expensive() -> Price:
    top = max(MODELS, key=lambda m: (m.price.output, m.price.input, m.price.cache_read))
    return top.price


# An id we do not know is priced as the most expensive model we do, so a budget is never overshot
# because of a guess; the result then says its cost is an estimate.
UNKNOWN_PRICE = _most_expensive()

# The id, after an optional provider prefix (``us.anthropic.``, ``anthropic.``, an ARN's path),
# then what may follow a known id without making it another model: a snapshot date, Bedrock's
# version suffix, Vertex's ``@date``, ``[1m]``, ``-latest``.
_TAIL = r"(?:-\d{8})?(?:-v\d+(?::\d+)?)?(?:@\d{8})?(?:\[1m\])?(?:-latest)?"


def find_model(model_id: str) -> ModelSpec | None:
    """The catalog entry an id of any provider's spelling names, or None for an id we do not know.

    ``us.anthropic.claude-sonnet-4-5-20250929-v1:0``, ``claude-sonnet-4-5@20250929``,
    ``claude-opus-4-6`` and an inference-profile ARN naming one all resolve; an ARN that names no
    model (an application inference profile) and a newer model (``claude-opus-6``) do not.
    """
    lowered = model_id.strip().lower()
    tail = lowered.rsplit("/", 1)[-1]  # an ARN's resource path
    for prefix in BEDROCK_PROFILE_PREFIXES:
        if tail.startswith(prefix):
            tail = tail[len(prefix) :]
            break
    tail = tail.removeprefix("anthropic.")
    match = re.fullmatch(r"(claude-[a-z0-9-]+?)" + _TAIL, tail)
    if not match:
        return None
    base = _ALIASES.get(match.group(1), match.group(1))
    return BY_ID.get(base)


def default_max_tokens(model_id: str) -> int:
    """``max_tokens`` for a model: Claude Code's 64,000, or the model's own limit when lower."""
    spec = find_model(model_id)
    return min(DEFAULT_MAX_TOKENS, spec.max_output) if spec else DEFAULT_MAX_TOKENS


def context_window(model_id: str) -> int | None:
    """The model's context window in tokens, None when the id is not in the catalog."""
    spec = find_model(model_id)
    return spec.context if spec else None
