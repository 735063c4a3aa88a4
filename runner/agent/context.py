"""Keeping the conversation inside the model's context window: the policy and its pure decisions.

Two layers. Where the provider serves it, the API compacts the conversation itself (server-side
compaction, ``compact_20260112`` behind the ``compact-2026-01-12`` beta), triggered a little
below the runner's own threshold. Under it, always, a floor the runner applies before every
request: when the request would pass the threshold (80% of the window by default, less the
output the request may ask for), the oldest tool results are cleared (the latest are kept, and
every ``tool_use`` keeps its ``tool_result``), and if that is not enough the earlier turns are
summarised by the model and replaced by the summary, keeping the task and the recent turns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_THRESHOLD_PCT = 80
CLEARED = "[Old tool result content cleared]"
COMPACTION_BETA = "compact-2026-01-12"
COMPACTION_EDIT = "compact_20260112"
SERVER_TRIGGER_MIN = 50_000  # the API's smallest accepted trigger
KEEP_TOOL_RESULTS = 3
# Server compaction is documented for Opus 4.6 and Sonnet 4.6 and the models after them.
_COMPACTING_FAMILIES = {"opus": (4, 6), "sonnet": (4, 6)}
_VERSION = re.compile(r"claude-(opus|sonnet|haiku|fable|mythos)-(\d+)(?:-(\d{1,2}))?(?!\d)")


@dataclass(frozen=True)
class ContextSettings:
    """What the user said about compaction (Claude Code's variables), read once at the edge."""

    auto_compact: bool = True  # DISABLE_AUTO_COMPACT turns it off
    threshold_pct: int = DEFAULT_THRESHOLD_PCT  # CLAUDE_AUTOCOMPACT_PCT_OVERRIDE lowers it
    experimental_betas: bool = True  # CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS turns them off


@dataclass(frozen=True)
class ContextPolicy:
    """How one run keeps its requests inside the window."""

    window: int = 200_000
    threshold: int = 160_000  # tokens a request may hold before the floor acts
    auto_compact: bool = True
    server_compaction: bool = False
    keep_tool_results: int = KEEP_TOOL_RESULTS

    @property
    def server_trigger(self) -> int:
        """Where the API compacts: a tenth of the window below the floor, so it normally acts first."""
        return max(SERVER_TRIGGER_MIN, self.threshold - self.window // 10)

    def server_params(self) -> dict[str, Any]:
        """The request fields that turn on the API's context management (none when it is off)."""
        if not (self.auto_compact and self.server_compaction):
            return {}
        edit = {"type": COMPACTION_EDIT, "trigger": {"type": "input_tokens", "value": self.server_trigger}}
        return {"context_management": {"edits": [edit]}, "betas": [COMPACTION_BETA]}


def plan_context(
    *,
    provider: str,
    model: str,
    window: int,
    max_output_tokens: int | None,
    settings: ContextSettings,
) -> ContextPolicy:
    """The policy for a run: the floor's threshold, and whether the API compacts too.

    Server compaction is asked of the Anthropic API (and gateways in front of it, as Claude Code
    does, unless experimental betas are turned off) and of Amazon Bedrock, for the models the
    docs list; Vertex AI and Foundry get the floor alone.
    """
    pct = max(1, min(settings.threshold_pct, DEFAULT_THRESHOLD_PCT))
    threshold = window * pct // 100
    if max_output_tokens:
        threshold = min(threshold, window - max_output_tokens)
    server = (
        settings.auto_compact
        and settings.experimental_betas
        and provider in ("anthropic", "bedrock")
        and supports_server_compaction(model)
    )
    return ContextPolicy(
        window=window,
        threshold=max(threshold, window // 4),
        auto_compact=settings.auto_compact,
        server_compaction=server,
    )


def supports_server_compaction(model: str) -> bool:
    """Whether the API compacts for ``model`` (any provider's spelling)."""
    match = _VERSION.search(model.lower())
    if not match:
        return False
    family, major, minor = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    least = _COMPACTING_FAMILIES.get(family)  # other families: not documented, the floor alone
    return least is not None and (major, minor) >= least


def clear_tool_results(messages: Sequence[dict[str, Any]], keep: int) -> tuple[list[dict[str, Any]], int]:
    """The messages with every tool result but the ``keep`` newest replaced by a short note.

    The blocks stay where they are (a ``tool_use`` always keeps its ``tool_result``, thinking
    blocks are untouched), so the conversation stays valid. Returns the messages and how many
    results were cleared now.
    """
    positions = [
        (i, j)
        for i, message in enumerate(messages)
        if message.get("role") == "user" and isinstance(message.get("content"), list)
        for j, block in enumerate(message["content"])
        if block.get("type") == "tool_result"
    ]
    older = positions[: max(len(positions) - keep, 0)]
    targets = [(i, j) for i, j in older if messages[i]["content"][j].get("content") != CLEARED]
    out = list(messages)
    for i in sorted({i for i, _ in targets}):
        content = list(out[i]["content"])
        for row, j in targets:
            if row == i:
                block = content[j]
                content[j] = {"type": "tool_result", "tool_use_id": block.get("tool_use_id", "")}
                content[j]["content"] = CLEARED
                if block.get("is_error"):
                    content[j]["is_error"] = True
        out[i] = {**out[i], "content": content}
    return out, len(targets)


def recent_start(messages: Sequence[dict[str, Any]], sizes: Sequence[int], budget: int) -> int:
    """Where the recent turns kept through a summary begin: an assistant message, so every tool
    call in them keeps its result; as many turns as fit ``budget`` (in the units of ``sizes``),
    and at least the newest assistant message and what followed it."""
    starts = [i for i, m in enumerate(messages) if m.get("role") == "assistant" and i > 0]
    if not starts:
        return len(messages)
    chosen = starts[-1]
    for start in reversed(starts[:-1]):
        if sum(sizes[start:]) > budget:
            break
        chosen = start
    return chosen


def after_server_compaction(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """When the newest assistant message holds a ``compaction`` block, the API ignores everything
    before it: keep only the task (the first message, so the conversation still opens with the
    user) and that message onward. None when there is nothing to drop."""
    for index in range(len(messages) - 1, 0, -1):
        message = messages[index]
        content = message.get("content")
        if message.get("role") == "assistant" and isinstance(content, list):
            if any(b.get("type") == "compaction" for b in content):
                return None if index == 1 else [messages[0], *messages[index:]]
            return None
    return None
