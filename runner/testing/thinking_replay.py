"""Thinking blocks for the fake Messages API: signed when served, checked when sent back (stdlib only).

The API signs each ``thinking`` block (``signature``) and requires the last assistant message of a
tool-use loop to carry its thinking and ``redacted_thinking`` blocks back exactly as they were
served, ahead of its ``tool_use`` blocks; a dropped or edited block is a 400
``invalid_request_error``. ``ThinkingLedger`` does the same for the fake: it signs what it serves
(an HMAC of the text, so an edit shows) and, when asked to check, answers a request that breaks
the rule with the error the API would give.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from typing import Any

THINKING_TYPES = ("thinking", "redacted_thinking")


class ThinkingLedger:
    """The thinking blocks served ahead of each tool call, by tool_use id."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(16)
        self._by_tool_use: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def sign(self, content: list[dict[str, Any]]) -> None:
        """Give unsigned thinking blocks a signature and redacted ones data (in place)."""
        for block in content:
            if block.get("type") == "thinking" and not block.get("signature"):
                block["signature"] = self._signature(str(block.get("thinking", "")))
            elif block.get("type") == "redacted_thinking" and not block.get("data"):
                block["data"] = base64.b64encode(secrets.token_bytes(24)).decode()

    def record(self, content: list[dict[str, Any]]) -> None:
        """Remember a served message's thinking blocks against its tool calls."""
        thinking = [dict(b) for b in content if b.get("type") in THINKING_TYPES]
        if not thinking:
            return
        with self._lock:
            for block in content:
                if block.get("type") == "tool_use":
                    self._by_tool_use[str(block.get("id"))] = thinking

    def check(self, request: dict[str, Any]) -> str | None:
        """The API's error message if the request's last assistant message did not send back the
        thinking blocks served with its tool calls unchanged; None when it did."""
        messages = request.get("messages") or []
        index = next(
            (i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "assistant"), None
        )
        if index is None or not isinstance(messages[index].get("content"), list):
            return None
        content = messages[index]["content"]
        served: list[dict[str, Any]] | None = None
        with self._lock:
            for block in content:
                if block.get("type") == "tool_use" and str(block.get("id")) in self._by_tool_use:
                    served = self._by_tool_use[str(block["id"])]
                    break
        if served is None:
            return None
        sent = [b for b in content if b.get("type") in THINKING_TYPES]
        if not sent or content[0].get("type") not in THINKING_TYPES:
            first = content[0].get("type") if content else "nothing"
            return (
                f"messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
                f"`{first}`. When `thinking` is enabled, a final `assistant` message must start with a "
                "thinking block (preceding the last set of `tool_use` and `tool_result` blocks)."
            )
        for position, (was, now) in enumerate(zip(served, sent, strict=False)):
            if _strip(was) != _strip(now) or not self._valid(now):
                return (
                    f"messages.{index}.content.{position}: `thinking` or `redacted_thinking` blocks in the "
                    "latest assistant message cannot be modified. These blocks must remain as they were "
                    "in the original response."
                )
        if len(sent) != len(served):
            return (
                f"messages.{index}.content: the thinking blocks of the latest assistant message must be "
                "sent back as they were in the original response."
            )
        return None

    def _signature(self, text: str) -> str:
        digest = hmac.new(self._key, text.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def _valid(self, block: dict[str, Any]) -> bool:
        if block.get("type") != "thinking":
            return True
        return hmac.compare_digest(
            str(block.get("signature", "")), self._signature(str(block.get("thinking", "")))
        )


def _strip(block: dict[str, Any]) -> dict[str, Any]:
    # cache_control may be added by the client; it is not part of the block's content.
    return {k: v for k, v in block.items() if k != "cache_control"}
