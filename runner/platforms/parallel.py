"""Independent calls to a code host made at once, with a bound on how many are in flight.

GitLab's adapter uses it for the reads of a thread and for the pages of a list past the first
(GitHub's has its own scheduler, ``github_gather.py``). The results come back in the order the
calls were given; the first failure is raised once every call has ended, the ones not started
are not made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

IN_FLIGHT = 16  # requests at once: pages of a list past the first, a thread's independent reads


def together(calls: Sequence[Callable[[], Any]], workers: int = IN_FLIGHT) -> list[Any]:
    """The results of ``calls``, made concurrently (at most ``workers`` at a time), in order."""
    if len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=min(workers, len(calls)), thread_name_prefix="together") as pool:
        futures = [pool.submit(call) for call in calls]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            if future.done() and future.exception() is not None:
                for other in futures:
                    other.cancel()
                raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]
