"""A response cut off at ``max_tokens`` is never an answer: ask the model to go on, or stop with an error.

The API's guidance for ``stop_reason: "max_tokens"`` is to continue the conversation: the cut-off
assistant message goes back as it is (minus a thinking block cut before its signature, which the
API would reject) and a user message asks the model to carry on from where it stopped; its text
is joined onto what it had written. A cut-off ``tool_use`` block cannot be continued (its input is
incomplete), nor can a response that was all thinking: the run then ends with the subtype
``error_max_output_tokens``. The loop's turn, budget and time limits apply to every continuation
call, and at most ``MAX_IN_A_ROW`` follow one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SUBTYPE = "error_max_output_tokens"
MAX_IN_A_ROW = 5
CONTINUE_PROMPT = (
    "Your response was cut off because it reached the output token limit. Continue exactly where "
    "you stopped, without repeating anything you already wrote."
)


@dataclass(frozen=True)
class Cut:
    """What to do about a cut-off response: ``error`` to stop, else replace the assistant message
    with ``replay`` and send ``prompt``."""

    error: str | None = None
    replay: list[dict[str, Any]] | None = None
    prompt: dict[str, Any] | None = None


@dataclass
class Continuation:
    """The text of the cut-off responses so far, and how many came in a row."""

    prefix: str = ""
    in_a_row: int = 0

    def joined(self, texts: list[str]) -> str:
        """This response's text, after the text of the cut-off responses it continues."""
        return self.prefix + "\n".join(texts)

    def after(self, stop_reason: str | None, content: list[dict[str, Any]], max_tokens: int) -> Cut | None:
        """None when the response was not cut off; else what to do about it."""
        if stop_reason != "max_tokens":
            self.prefix, self.in_a_row = "", 0
            return None
        limit = f"the output limit of {max_tokens} tokens"
        if any(block.get("type") == "tool_use" for block in content):
            return Cut(error=f"a tool call was cut off at {limit}; raise --max-output-tokens")
        replay = [block for block in content if not _unsigned_thinking(block)]
        if not any(block.get("type") == "text" and block.get("text") for block in replay):
            return Cut(error=f"the response was all thinking at {limit}; raise --max-output-tokens")
        if self.in_a_row >= MAX_IN_A_ROW:
            return Cut(error=f"the answer was still cut off at {limit} after {MAX_IN_A_ROW} continuations")
        self.in_a_row += 1
        self.prefix = self.joined([b["text"] for b in replay if b.get("type") == "text" and b.get("text")])
        prompt = {"role": "user", "content": [{"type": "text", "text": CONTINUE_PROMPT}]}
        return Cut(replay=replay, prompt=prompt)


def _unsigned_thinking(block: dict[str, Any]) -> bool:
    return block.get("type") == "thinking" and not block.get("signature")


__all__ = ["CONTINUE_PROMPT", "MAX_IN_A_ROW", "SUBTYPE", "Continuation", "Cut"]
