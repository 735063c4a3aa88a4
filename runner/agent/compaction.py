"""Applying the context policy during a run: estimate, clear, summarise, follow the API's compaction.

``ContextKeeper`` is called by the loop before each request (``fit``) and after each response
(``observe`` and ``after_response``). It owns no network: the summary is a model call the loop
passes in, made with the same system prompt and tools as the run's own requests, the turns it
replaces and one instruction, with tool use turned off.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.agent.context import ContextPolicy, after_server_compaction, clear_tool_results, recent_start
from runner.agent.conversation import Conversation, encoded
from runner.agent.tokens import TokenEstimator

# Characters the two cache breakpoints add to a request's messages.
_MARKERS = 2 * len(',"cache_control":{"type":"ephemeral"}')
# Clearing aims at this share of the threshold (so it does not run again at the next turn)...
_CLEARED_TARGET = 0.6
# ...and when even the newest result alone leaves more than this share, a summary is written.
_CLEARED_ENOUGH = 0.85
# The recent turns kept word for word through a summary: at most this share of the threshold.
_RECENT_SHARE = 0.25

SUMMARY_INSTRUCTION = (
    "The conversation is about to pass the context window. Write a summary that lets you carry on "
    "the task without the earlier turns: the request and its constraints, what has been done and "
    "found (files read or changed, commands run and their results, decisions and why), what is "
    "left to do, and the exact state of any work in progress. Be complete but brief. Answer with "
    "the summary only; do not call tools."
)
SUMMARY_INTRO = (
    "This session continues from earlier turns that no longer fit the context window. A summary of them:\n\n"
)
DROPPED_NOTE = "Earlier turns were removed to fit the context window (a summary could not be written)."

Summarise = Callable[[list[dict[str, Any]]], "str | None"]
Count = Callable[[], "int | None"]


@dataclass
class ContextKeeper:
    """The context policy of one run, applied turn by turn."""

    policy: ContextPolicy
    fixed_size: int = 0  # the request without its messages: model, system prompt, tools
    estimator: TokenEstimator = field(default_factory=TokenEstimator)
    session_id: str = ""
    # The PreCompact hooks' call site: asked before the history is summarised ("auto"); False
    # keeps the history as it is.
    pre_compact: Callable[[str], bool] = lambda trigger: True
    # The PostCompact hooks' call site: told the trigger and the summary once it replaced the turns.
    post_compact: Callable[[str, str], None] = lambda trigger, summary: None

    server: bool = True  # the API's compaction, while it has not been refused

    def server_params(self) -> dict[str, Any]:
        """The request fields that ask the API to compact (none where it does not, or refused)."""
        return self.policy.server_params() if self.server else {}

    def refused(self, error: Exception) -> bool:
        """Whether ``error`` is the API refusing its compaction (a 400 naming it): then it is not
        asked again, and the request is sent without it."""
        message = str(error).lower()
        status = getattr(error, "status", None)
        if not (self.server and self.server_params() and status == 400):
            return False
        if "context_management" in message or "compact" in message:
            self.server = False
            return True
        return False

    def request_size(self, conversation: Conversation) -> int:
        """The JSON size of the next request (without encoding it)."""
        return self.fixed_size + conversation.size + _MARKERS

    def estimate(self, model: str, conversation: Conversation) -> int:
        """The tokens the next request will hold."""
        return self.estimator.estimate(model, self.request_size(conversation))

    def fit(
        self, model: str, conversation: Conversation, summarise: Summarise, count: Count | None = None
    ) -> dict[str, Any] | None:
        """Before a request: bring it under the threshold if it would pass it. Returns the
        ``compact_boundary`` event to emit when the history changed. ``count`` asks the API for
        the request's exact tokens (None where it cannot): used, and learnt from, when the
        estimate is over the threshold before any usage has calibrated it."""
        if not self.policy.auto_compact:
            return None
        before = self.estimate(model, conversation)
        if before > self.policy.threshold and count is not None and model not in self.estimator.ratios:
            exact = count()
            if exact:
                self.estimator.observe(model, self.request_size(conversation), {"input_tokens": exact})
                before = self.estimate(model, conversation)
        if before <= self.policy.threshold:
            return None
        cleared = self._clear(model, conversation)
        if cleared:
            after = self.estimate(model, conversation)
            if after <= self.policy.threshold * _CLEARED_ENOUGH:
                return self._event("clear_tool_results", before, after, cleared_tool_results=cleared)
        # PreCompact hooks may keep the history from being summarised.
        if not self.pre_compact("auto") or not self._summarise(model, conversation, summarise):
            if not cleared:
                return None
            after, strategy = self.estimate(model, conversation), "clear_tool_results"
        else:
            after, strategy = self.estimate(model, conversation), "summary"
        return self._event(strategy, before, after, cleared_tool_results=cleared)

    def _clear(self, model: str, conversation: Conversation) -> int:
        """Clear old tool results, keeping the newest few (down to the newest one when keeping
        more would leave the request near the threshold). Returns how many were cleared."""
        history, fixed = conversation.messages, self.fixed_size + _MARKERS
        target = self.policy.threshold * _CLEARED_TARGET
        for keep in range(max(self.policy.keep_tool_results, 1), 0, -1):
            cleared, count = clear_tool_results(history, keep)
            size = fixed + sum(len(encoded(m)) + 1 for m in cleared)
            if self.estimator.estimate(model, size) <= target or keep == 1:
                break
        if count:
            conversation.replace(cleared)
        return count

    def _summarise(self, model: str, conversation: Conversation, summarise: Summarise) -> bool:
        messages = conversation.messages
        sizes = [len(encoded(m)) for m in messages]  # only when compacting: not a per-turn cost
        budget = int(self.policy.threshold * _RECENT_SHARE * self.estimator.chars_per_token(model))
        start = recent_start(messages, sizes, budget)
        if start <= 1:
            return False  # nothing before the recent turns to summarise
        # Only the turns being replaced are summarised: that request stays under the threshold too.
        summary = summarise(messages[:start])
        first = messages[0]
        content = first.get("content")
        task = list(content) if isinstance(content, list) else [{"type": "text", "text": str(content)}]
        note = SUMMARY_INTRO + summary if summary else DROPPED_NOTE
        opening = {"role": "user", "content": [*task, {"type": "text", "text": note}]}
        conversation.replace([opening, *messages[start:]])
        self.post_compact("auto", summary or "")
        return True

    def observe(
        self, model: str, size: int, response_content: list[dict[str, Any]], usage: Mapping[str, Any]
    ) -> None:
        """After a response: learn the model's characters per token from the request just sent,
        unless the API changed that request (its compaction) before counting it."""
        if "iterations" in usage or any(b.get("type") == "compaction" for b in response_content):
            return
        self.estimator.observe(model, size, usage)

    def after_response(self, model: str, conversation: Conversation) -> dict[str, Any] | None:
        """After the assistant message is added: when the API compacted, drop what it now ignores."""
        kept = after_server_compaction(conversation.messages)
        if kept is None:
            return None
        before = self.estimate(model, conversation)
        conversation.replace(kept)
        return self._event("server", before, self.estimate(model, conversation))

    def _event(self, strategy: str, before: int, after: int, **extra: Any) -> dict[str, Any]:
        """Claude Code's ``compact_boundary`` event, with what the runner did."""
        return {
            "type": "system",
            "subtype": "compact_boundary",
            "compact_metadata": {
                "trigger": "auto",
                "pre_tokens": before,
                "post_tokens": after,
                "strategy": strategy,
                **extra,
            },
            "session_id": self.session_id,
            "uuid": str(uuid.uuid4()),
        }


def summary_request(params: dict[str, Any]) -> dict[str, Any]:
    """The request that asks for the summary, from the run's request for the turns to summarise:
    the same system prompt and tools, the instruction added to the last user message, no tools
    called and no server compaction."""
    messages = list(params["messages"])
    last = messages[-1]
    content = list(last["content"]) if isinstance(last.get("content"), list) else []
    instruction = {"type": "text", "text": SUMMARY_INSTRUCTION}
    if last.get("role") == "user":
        messages[-1] = {**last, "content": [*content, instruction]}
    else:
        messages.append({"role": "user", "content": [instruction]})
    request = {k: v for k, v in params.items() if k not in ("context_management", "betas", "messages")}
    request["messages"] = messages
    if request.get("tools"):
        request["tool_choice"] = {"type": "none"}
    return request
