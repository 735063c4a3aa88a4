"""Prompt-cache billing for the fake Messages API (stdlib only).

Token counts are estimates (a quarter of the JSON length, as in the benchmark fake); what matters
is that cache writes and reads follow the API's rules, so ratios measured against the fake hold.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from typing import Any


def estimate_tokens(obj: Any) -> int:
    """The fake's token estimate: a quarter of the JSON length."""
    return len(json.dumps(obj)) // 4


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
        blocks: list[tuple[str, Any]] = [("tool", t) for t in request.get("tools") or []]
        system = request.get("system") or []
        blocks += [("system", b) for b in ([{"text": system}] if isinstance(system, str) else system)]
        for m in request.get("messages") or []:
            content = m.get("content", [])
            blocks += [
                (m.get("role", ""), b) for b in ([{"text": content}] if isinstance(content, str) else content)
            ]
        digest, size = hashlib.sha256(), 0
        bounds: list[tuple[str, int]] = []
        marks: list[tuple[str, int]] = []
        for role, block in blocks:
            plain = block
            if isinstance(block, dict):
                plain = {k: v for k, v in block.items() if k != "cache_control"}
            digest.update(json.dumps([role, plain], sort_keys=True).encode())
            size += estimate_tokens(block)
            bounds.append((digest.hexdigest(), size))
            if isinstance(block, dict) and block.get("cache_control"):
                marks.append(bounds[-1])
        cached = marks[-1][1] if marks else 0
        with self._lock:
            read = max((n for key, n in bounds if key in self._written and n <= cached), default=0)
            self._written.update(key for key, _ in marks)
        return {
            "input_tokens": max(estimate_tokens(request) - cached, 0),
            "cache_creation_input_tokens": cached - read,
            "cache_read_input_tokens": read,
        }

    def clear(self) -> None:
        """Forget everything written so far."""
        with self._lock:
            self._written.clear()
