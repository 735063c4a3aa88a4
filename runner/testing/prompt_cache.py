"""Prompt-cache billing for the fake Messages API (stdlib only).

Token counts are estimates, but one estimator is used for everything the fake bills: the
content of each block (a text's characters, a tool call's name and input, a tool result's
text, a tool's definition), a quarter of its length. The JSON that frames a request (keys,
brackets, ``model``, ``max_tokens``, ``cache_control`` markers) is not content and is not billed,
as the API does not bill it: a long conversation then costs what its blocks cost, with the
prefix read from the cache, and effective tokens measured against the fake are honest.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from typing import Any

# What an image costs, roughly (the API bills about width x height / 750; 1568 px on a side at most).
IMAGE_TOKENS = 1600


def estimate_tokens(obj: Any) -> int:
    """A quarter of the JSON length: for logs and output counts, where framing does not matter."""
    return len(json.dumps(obj)) // 4


def text_tokens(text: str) -> int:
    """The estimate for a piece of content: a quarter of its characters, rounded up."""
    return (len(text) + 3) // 4


def block_tokens(block: Any) -> int:
    """The tokens of one content block (or tool definition), its framing left out."""
    if isinstance(block, str):
        return text_tokens(block)
    if not isinstance(block, Mapping):
        return text_tokens(json.dumps(block))
    kind = block.get("type")
    if kind == "text":
        return text_tokens(str(block.get("text", "")))
    if kind == "thinking":
        return text_tokens(str(block.get("thinking", "")))
    if kind == "tool_use":
        return text_tokens(str(block.get("name", ""))) + text_tokens(json.dumps(block.get("input", {})))
    if kind == "tool_result":
        content = block.get("content", "")
        if isinstance(content, list):
            return sum(block_tokens(part) for part in content)
        return text_tokens(str(content))
    if kind == "image":
        return IMAGE_TOKENS
    if kind == "compaction":
        return text_tokens(str(block.get("content") or ""))
    # A tool definition, a redacted thinking block, anything else: its fields but not the marker.
    return text_tokens(json.dumps({k: v for k, v in block.items() if k != "cache_control"}))


def prompt_blocks(request: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The prompt as the API reads it, in order: tools, then system, then each message's blocks."""
    blocks: list[tuple[str, Any]] = [("tool", t) for t in request.get("tools") or []]
    system = request.get("system") or []
    blocks += [
        ("system", b) for b in ([{"type": "text", "text": system}] if isinstance(system, str) else system)
    ]
    for m in request.get("messages") or []:
        content = m.get("content", [])
        role = m.get("role", "")
        blocks += [
            (role, b) for b in ([{"type": "text", "text": content}] if isinstance(content, str) else content)
        ]
    return blocks


def input_tokens(request: Mapping[str, Any]) -> int:
    """All the prompt's tokens (what ``count_tokens`` answers)."""
    return sum(block_tokens(block) for _, block in prompt_blocks(request))


def effective_input(usage: Mapping[str, int]) -> float:
    """Input cost in uncached-token units: cache writes bill 1.25x, cache reads 0.1x."""
    return (
        usage.get("input_tokens", 0)
        + 1.25 * usage.get("cache_creation_input_tokens", 0)
        + 0.1 * usage.get("cache_read_input_tokens", 0)
    )


class PromptCache:
    """Prompt-cache accounting as the API bills it. The prompt is the prefix sequence tools ->
    system -> messages; a block marked `cache_control` is a breakpoint. Tokens up to the last
    breakpoint are read from cache up to the longest prefix (ending on a block boundary) that an
    earlier request wrote, and written for the rest; tokens after it are plain input. The cache
    matches content: the `cache_control` marker itself is not part of the key."""

    def __init__(self) -> None:
        self._written: set[str] = set()
        self._lock = threading.Lock()

    def usage(self, request: Mapping[str, Any]) -> dict[str, int]:
        """Bill `request`: input_tokens, cache_creation_input_tokens, cache_read_input_tokens."""
        digest, size = hashlib.sha256(), 0
        bounds: list[tuple[str, int]] = []
        marks: list[tuple[str, int]] = []
        for role, block in prompt_blocks(request):
            plain = block
            if isinstance(block, dict):
                plain = {k: v for k, v in block.items() if k != "cache_control"}
            digest.update(json.dumps([role, plain], sort_keys=True).encode())
            size += block_tokens(block)
            bounds.append((digest.hexdigest(), size))
            if isinstance(block, dict) and block.get("cache_control"):
                marks.append(bounds[-1])
        cached = marks[-1][1] if marks else 0
        with self._lock:
            read = max((n for key, n in bounds if key in self._written and n <= cached), default=0)
            self._written.update(key for key, _ in marks)
        return {
            "input_tokens": size - cached,
            "cache_creation_input_tokens": cached - read,
            "cache_read_input_tokens": read,
        }

    def clear(self) -> None:
        """Forget everything written so far."""
        with self._lock:
            self._written.clear()
