"""``classify_inline_comments``: which inline comments the agent left unconfirmed get posted.

In the mention flow an inline-comment call without ``confirmed`` is kept until the turn ends
(``runner/platform_tools/inline.py``; subagents and probing calls leave test comments). Before the
kept comments are posted, a small model (the ``haiku`` alias, through the configured provider:
the Anthropic API, a gateway, Bedrock, Vertex or Foundry) says which are real review feedback,
and only those stay. With ``classify_inline_comments: false`` all of them are posted.

A classification that fails (the provider refuses, the answer is not a JSON array of one boolean
per comment) is not answered by posting everything, as claude-code-action does: none is posted,
the log says why, and the final comment lists them, so nothing the agent wrote is lost and nothing
unvetted appears on the diff.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

MAX_COMMENTS = 50  # per classification request
CLASSIFY_PROMPT = """You sort inline code review comments that an automated reviewer drafted.
For each comment below, answer true if it is real review feedback meant for the pull request's
author (a bug, a risk, a requested change, a concrete suggestion), and false if it is a test, a
probe, a placeholder, a duplicate of an earlier one, or otherwise not meant to be posted.

Answer with a JSON array of booleans only, one per comment, in order. No other text.

<comments>
{comments}
</comments>"""


class Drafted(Protocol):
    """An inline comment as drafted: where, and what it says."""

    @property
    def path(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def body(self) -> str: ...


T = TypeVar("T", bound=Drafted)


class ClassificationFailed(Exception):
    """The small model's classification could not be had or read."""


@dataclass(frozen=True)
class BufferOutcome(Generic[T]):
    """What becomes of the kept comments: posted, dropped as probes, or held back."""

    kept: tuple[T, ...] = ()
    dropped: tuple[T, ...] = ()  # classified as not meant to be posted
    held: tuple[T, ...] = ()  # not posted because they could not be classified
    error: str = ""  # why ``held`` are not posted, as a clause

    def note(self) -> str:
        """The final comment's section on held comments (markdown), or ""."""
        if not self.held:
            return ""
        lines = [
            f"⚠️ {len(self.held)} inline comment(s) were not posted: {self.error}.",
            "",
            "<details><summary>The comments</summary>",
            "",
        ]
        for c in self.held:
            lines += [f"**`{c.path}:{c.line}`**", "", c.body.strip(), ""]
        return "\n".join([*lines, "</details>"])


def _prompt(comments: Sequence[Drafted]) -> str:
    listed = [{"n": i + 1, "file": c.path, "line": c.line, "comment": c.body} for i, c in enumerate(comments)]
    return CLASSIFY_PROMPT.format(comments=json.dumps(listed, ensure_ascii=False, indent=1))


def parse_verdicts(text: str, count: int) -> list[bool]:
    """The model's answer as ``count`` booleans; anything else is ``ClassificationFailed``."""
    cleaned = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        verdicts = json.loads(cleaned)
    except ValueError:
        raise ClassificationFailed("the classifier did not answer with JSON") from None
    if not isinstance(verdicts, list) or not all(isinstance(v, bool) for v in verdicts):
        raise ClassificationFailed("the classifier's answer is not an array of booleans")
    if len(verdicts) != count:
        raise ClassificationFailed(f"the classifier judged {len(verdicts)} comments, not {count}")
    return verdicts


def classify(client: Any, model: str, comments: Sequence[Drafted], *, timeout_s: float = 60.0) -> list[bool]:
    """One verdict per comment (True: post it), from ``model`` through ``client``."""
    verdicts: list[bool] = []
    for start in range(0, len(comments), MAX_COMMENTS):
        batch = comments[start : start + MAX_COMMENTS]
        try:
            message = client.messages.create(
                model=model,
                max_tokens=16 + 8 * len(batch),
                messages=[{"role": "user", "content": _prompt(batch)}],
                timeout=timeout_s,
            )
        except Exception as exc:  # the provider's error, whatever its SDK: reported, not raised
            raise ClassificationFailed(f"{type(exc).__name__}: {exc}".splitlines()[0][:300]) from None
        text = "".join(getattr(b, "text", "") for b in getattr(message, "content", []) or [])
        verdicts += parse_verdicts(text, len(batch))
    return verdicts


def sort_buffered(
    comments: Sequence[T],
    *,
    classifier: Callable[[Sequence[T]], list[bool]] | None,
    log: Callable[[str], None],
) -> BufferOutcome[T]:
    """Which ``comments`` to post: all without a ``classifier``; else the ones it keeps, or none
    when it fails."""
    if not comments or classifier is None:
        return BufferOutcome(kept=tuple(comments))
    try:
        verdicts = classifier(comments)
    except ClassificationFailed as exc:
        log(f"warning: {len(comments)} inline comment(s) not posted: classifying them failed: {exc}")
        return BufferOutcome(held=tuple(comments), error=f"classifying them failed ({exc})")
    kept = tuple(c for c, ok in zip(comments, verdicts, strict=True) if ok)
    dropped = tuple(c for c, ok in zip(comments, verdicts, strict=True) if not ok)
    log(f"inline comments: {len(kept)} kept, {len(dropped)} dropped as tests or probes by the classifier")
    return BufferOutcome(kept=kept, dropped=dropped)


def model_classifier(make_client: Callable[[], Any], model: str) -> Callable[[Sequence[Drafted]], list[bool]]:
    """A classifier that builds its client only when there is something to classify."""

    def run(comments: Sequence[Drafted]) -> list[bool]:
        try:
            client = make_client()
        except Exception as exc:  # a provider that fails to build: reported like a refusal
            raise ClassificationFailed(f"{type(exc).__name__}: {exc}".splitlines()[0][:300]) from None
        return classify(client, model, comments)

    return run


__all__ = [
    "BufferOutcome",
    "ClassificationFailed",
    "Drafted",
    "classify",
    "model_classifier",
    "parse_verdicts",
    "sort_buffered",
]
