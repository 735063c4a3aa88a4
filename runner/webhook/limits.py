"""What one client may cost the listener: how deep a JSON body nests, and how many connections it
holds, for how long.

Depth: ``json.loads`` recurses once per level, so a body of 100,000 ``[`` (well under the size
limit) would end in ``RecursionError``, a 500 and no log line. ``json_depth`` measures the nesting
without parsing and without recursion, so the handler answers 400 and says why first.

Connections: waitress stops accepting once ``connection_limit`` connections are open and closes
idle ones only after ``channel_timeout``: a client holding a thousand idle connections kept valid
hooks waiting. ``guard_connections`` makes the listener accept always: at the limit, it closes the
connection that has been idle longest (no request being served) to make room, or refuses the new
one when every connection is busy; and it closes a connection idle for ``idle_s``, or whose request
has not fully arrived ``request_s`` after it started (a client that trickles its headers).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from runner.settings.webhook import ConnectionLimits

_ESCAPES = re.compile(rb"\\.", re.DOTALL)  # first, so each quote left closes the string it opens
_STRINGS = re.compile(rb'"[^"]*"')  # linear: no quote can start a scan that another already made
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(raw: bytes) -> int:
    """How deep the arrays and objects of the JSON text ``raw`` nest (0 for a scalar); text that is
    not JSON gets some number, and the parser then says what is wrong with it."""
    brackets = _STRINGS.sub(b"", _ESCAPES.sub(b"", raw)).translate(None, _NOT_BRACKETS)
    return max(accumulate(1 if b in b"[{" else -1 for b in brackets), default=0)


def guard_connections(server: Any, limits: ConnectionLimits, clock: Callable[[], float] = time.time) -> None:
    """Install the limits on a waitress server (its ``readable`` and ``handle_accept``); ``clock``
    is what waitress stamps channels with (``time.time``), offset in tests."""
    accept = server.handle_accept
    # channel -> (the request being read, when it started: the channel's last activity when a sweep
    # first saw it, before any later byte could refresh that)
    started: dict[int, tuple[int, float]] = {}

    def sweep(now: float) -> None:
        channels = list(server.active_channels.values())
        for gone in started.keys() - {id(c) for c in channels}:
            del started[gone]
        for channel in channels:
            request = channel.request
            if request is None:
                started.pop(id(channel), None)
            else:
                seen = started.get(id(channel))
                if seen is None or seen[0] != id(request):
                    seen = started[id(channel)] = (id(request), channel.last_activity)
                if seen[1] < now - limits.request_s:
                    channel.will_close = True  # its request has been arriving for too long
                    continue
            if not channel.requests and channel.last_activity < now - limits.idle_s:
                channel.will_close = True

    def readable() -> bool:
        now = clock()
        if now >= server.next_channel_cleanup:
            server.next_channel_cleanup = now + server.adj.cleanup_interval
            sweep(now)
        return bool(server.accepting)

    def handle_accept() -> None:
        channels = list(server.active_channels.values())
        if len(channels) >= limits.max_connections:
            idle = [c for c in channels if not c.requests]
            if not idle:  # every connection is serving a request: refuse this one
                pair = server.accept()
                if pair is not None:
                    pair[0].close()
                return
            min(idle, key=lambda c: c.last_activity).handle_close()
        accept()

    server.readable = readable
    server.handle_accept = handle_accept


__all__ = ["guard_connections", "json_depth"]
