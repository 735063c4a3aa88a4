"""The conversation sent to the model, built up one message at a time.

Each message is encoded to JSON once, when it is added, onto a running buffer of the history's
JSON; a request copies that buffer once and encodes again only the newest messages (they carry
the moving cache breakpoints). Nothing walks, copies piece by piece or re-encodes the whole
history per call, so the runner's CPU per turn stays flat as the session grows, and the size of
a request is known without encoding it.
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


def encoded(value: Any) -> bytes:
    """``dumps`` as the UTF-8 bytes that are sent."""
    return _dumps(value).encode()


class WireMessages(list[dict[str, Any]]):
    """The ``messages`` of one request: a list (the SDK can send it as it is) that also holds its
    JSON, assembled from the conversation's buffer."""

    def __init__(self, messages: Sequence[dict[str, Any]], body: bytes) -> None:
        super().__init__(messages)
        self._body = body

    def json(self) -> bytes:
        """The JSON array, as sent."""
        return self._body


class Conversation:
    """The message history, with its JSON kept as one buffer that grows as messages are added."""

    def __init__(self, messages: Iterable[dict[str, Any]] = ()) -> None:
        self._messages: list[dict[str, Any]] = []
        self._pieces: list[bytes] = []
        self._starts: list[int] = []  # where each message's JSON starts in the buffer
        self._buffer = bytearray()  # the messages' JSON, comma-separated
        self.extend(messages)

    def __len__(self) -> int:
        return len(self._messages)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._messages[index]

    def __setitem__(self, index: int, message: dict[str, Any]) -> None:
        """Replace one message (it and those after it are joined again; the others are not)."""
        index = range(len(self._messages))[index]
        self._messages[index] = message
        self._pieces[index] = encoded(message)
        del self._buffer[max(self._starts[index] - 1, 0) :]  # from the comma before it
        del self._starts[index:]
        for piece in self._pieces[index:]:
            self._join(piece)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._messages)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The history (a copy of the list; the messages themselves are shared, not copied)."""
        return list(self._messages)

    @property
    def size(self) -> int:
        """The bytes of the history's JSON array (what estimates of its tokens start from)."""
        return len(self._buffer) + 2

    def append(self, message: dict[str, Any]) -> None:
        """Add one message; it is encoded now, once."""
        piece = encoded(message)
        self._messages.append(message)
        self._pieces.append(piece)
        self._join(piece)

    def _join(self, piece: bytes) -> None:
        if self._buffer:
            self._buffer += b","
        self._starts.append(len(self._buffer))
        self._buffer += piece

    def extend(self, messages: Iterable[dict[str, Any]]) -> None:
        """Add messages in order."""
        for message in messages:
            self.append(message)

    def replace(self, messages: Iterable[dict[str, Any]]) -> None:
        """Start over with ``messages`` (after compaction or clearing)."""
        self._messages, self._pieces, self._starts, self._buffer = [], [], [], bytearray()
        self.extend(messages)

    def wire(self, breakpoints: int = 2) -> WireMessages:
        """The messages of the next request: the last block of each of the ``breakpoints`` newest
        messages carries a cache breakpoint, so each turn reads everything before it from the
        cache and writes only what is new. Only those messages are encoded again."""
        count = len(self._messages)
        first = max(count - breakpoints, 0)
        marked = [with_breakpoint(m) for m in self._messages[first:]]
        tail = b",".join(encoded(m) for m in marked)
        cut = self._starts[first] if first < count else len(self._buffer)
        with memoryview(self._buffer) as view:
            head = view[: max(cut - 1, 0)]  # the plain messages before the tail, without the comma
            body = b"".join((b"[", head, b"," if head and tail else b"", tail, b"]"))
            head.release()
        return WireMessages([*self._messages[:first], *marked], body)


def with_breakpoint(message: Mapping[str, Any]) -> dict[str, Any]:
    """The message with a cache breakpoint on its last block (a copy when it has no blocks)."""
    content = message.get("content")
    if not isinstance(content, list) or not content:
        return dict(message)
    last = {**content[-1], "cache_control": CACHE}
    return {**message, "content": [*content[:-1], last]}


def encode_body(params: Mapping[str, Any]) -> bytes:
    """The request body: ``messages`` from the conversation's JSON when it is ``WireMessages``,
    the other fields encoded. ``betas`` is not part of the body (it travels as a header)."""
    pieces = [b"{"]
    for key, value in params.items():
        if key == "betas":
            continue
        data = value.json() if key == "messages" and isinstance(value, WireMessages) else encoded(value)
        pieces += [b"," if len(pieces) > 1 else b"", encoded(key), b":", data]
    pieces.append(b"}")
    return b"".join(pieces)
