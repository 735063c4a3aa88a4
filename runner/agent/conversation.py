"""The conversation sent to the model, built up one message at a time.

Each message is encoded to JSON once, when it is added; a request joins those pieces and
encodes only the newest messages again (they carry the moving cache breakpoints). Nothing
walks or copies the whole history per call, so the runner's CPU per turn stays flat as the
session grows, and the request's size in characters is known without encoding it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

CACHE = {"type": "ephemeral"}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(value: Any) -> str:
    """Compact JSON, as requests are sent (no ASCII escaping: fewer characters, the same text)."""
    return _dumps(value)


class WireMessages(list[dict[str, Any]]):
    """The ``messages`` of one request: a list (the SDK can send it as it is) that also knows its
    JSON, assembled from pieces encoded when each message was added."""

    def __init__(self, messages: Sequence[dict[str, Any]], pieces: Sequence[str]) -> None:
        super().__init__(messages)
        self._pieces = pieces

    def json(self) -> str:
        """The JSON array, without encoding the messages again."""
        return "[" + ",".join(self._pieces) + "]"

    @property
    def chars(self) -> int:
        """The JSON's length in characters."""
        return sum(len(p) for p in self._pieces) + len(self._pieces) + 1


class Conversation:
    """The message history, each message kept with its JSON encoding and its size."""

    def __init__(self, messages: Iterable[dict[str, Any]] = ()) -> None:
        self._messages: list[dict[str, Any]] = []
        self._pieces: list[str] = []
        self._chars = 0
        self.extend(messages)

    def __len__(self) -> int:
        return len(self._messages)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._messages[index]

    def __setitem__(self, index: int, message: dict[str, Any]) -> None:
        """Replace one message (it is encoded again; the others are not)."""
        piece = dumps(message)
        self._chars += len(piece) - len(self._pieces[index])
        self._messages[index], self._pieces[index] = message, piece

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._messages)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The history (a copy of the list; the messages themselves are shared, not copied)."""
        return list(self._messages)

    @property
    def chars(self) -> int:
        """The JSON length of the whole history (what estimates of its tokens start from)."""
        return self._chars + len(self._pieces) + 1

    def append(self, message: dict[str, Any]) -> None:
        """Add one message; it is encoded now, once."""
        piece = dumps(message)
        self._messages.append(message)
        self._pieces.append(piece)
        self._chars += len(piece)

    def extend(self, messages: Iterable[dict[str, Any]]) -> None:
        """Add messages in order."""
        for message in messages:
            self.append(message)

    def replace(self, messages: Iterable[dict[str, Any]]) -> None:
        """Start over with ``messages`` (after compaction or clearing)."""
        self._messages, self._pieces, self._chars = [], [], 0
        self.extend(messages)

    def wire(self, breakpoints: int = 2) -> WireMessages:
        """The messages of the next request: the last block of each of the ``breakpoints`` newest
        messages carries a cache breakpoint, so each turn reads everything before it from the
        cache and writes only what is new. Only those messages are copied and encoded again."""
        messages = list(self._messages)
        pieces = list(self._pieces)
        for index in range(len(messages) - 1, max(len(messages) - 1 - breakpoints, -1), -1):
            marked = with_breakpoint(messages[index])
            if marked is not messages[index]:
                messages[index] = marked
                pieces[index] = dumps(marked)
        return WireMessages(messages, pieces)


def with_breakpoint(message: Mapping[str, Any]) -> dict[str, Any]:
    """The message with a cache breakpoint on its last block (itself when it has no blocks)."""
    content = message.get("content")
    if not isinstance(content, list) or not content:
        return dict(message)
    last = {**content[-1], "cache_control": CACHE}
    return {**message, "content": [*content[:-1], last]}


def encode_body(params: Mapping[str, Any]) -> bytes:
    """The request body: ``messages`` from its pieces when it is ``WireMessages``, the rest encoded.

    ``betas`` is not part of the body (it travels as the ``anthropic-beta`` header).
    """
    messages = params.get("messages")
    parts = []
    for key, value in params.items():
        if key == "betas":
            continue
        encoded = value.json() if key == "messages" and isinstance(messages, WireMessages) else dumps(value)
        parts.append(f"{dumps(key)}:{encoded}")
    return ("{" + ",".join(parts) + "}").encode()
