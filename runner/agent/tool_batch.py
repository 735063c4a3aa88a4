"""Running the tool calls of one assistant turn: in order, except that consecutive calls of a tool
that may run alongside itself (the Agent tool: each subagent waits on the model most of the time)
run at once, at most ``MAX_PARALLEL`` together. Results always come back in the calls' order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

MAX_PARALLEL = 4  # subagents at once: each holds a model stream and may run commands

Result = TypeVar("Result")


def run_calls(
    calls: Sequence[dict[str, Any]],
    run_one: Callable[[dict[str, Any]], Result],
    concurrent: Callable[[dict[str, Any]], bool],
    limit: int = MAX_PARALLEL,
) -> list[Result]:
    """``run_one`` for every call; runs of consecutive ``concurrent`` calls share a bounded pool."""
    results: list[Result] = []
    start = 0
    while start < len(calls):
        end = start + 1
        if concurrent(calls[start]):
            while end < len(calls) and concurrent(calls[end]):
                end += 1
        group = calls[start:end]
        if len(group) == 1 or limit <= 1:
            results.extend(run_one(call) for call in group)
        else:
            workers = min(limit, len(group))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="subagent") as pool:
                futures = [pool.submit(run_one, call) for call in group]
                results.extend(future.result() for future in futures)
        start = end
    return results
