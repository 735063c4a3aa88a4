"""Inline comments the agent left unconfirmed, and ``classify_inline_comments``.

In the mention flow an inline-comment tool call without ``confirmed: true`` is not posted at once
(subagents and probing calls leave test comments); it is kept in ``InlineBuffer``. When the turn
ends, a small model (the ``haiku`` alias, through the configured provider: the Anthropic API, a
gateway, Bedrock, Vertex or Foundry) says which of them are real review feedback, and only those
are posted. With ``classify_inline_comments: false`` every buffered comment is posted.

A classification that fails (the provider refuses, the answer is not a JSON array of one boolean
per comment) is not answered by posting everything: none is posted, the log says why, and the
final comment lists them, so nothing the agent wrote is lost and nothing unvetted appears on the
diff.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.platforms.base import InlineComment, Platform

MAX_COMMENTS = 50  # per classification request
CLASSIFY_PROMPT = """You sort inline code review comments that an automated reviewer drafted.
For each comment below, answer true if it is real review feedback meant for the pull request's
author (a bug, a risk, a requested change, a concrete suggestion), and false if it is a test, a
probe, a placeholder, a duplicate of an earlier one, or otherwise not meant to be posted.

Answer with a JSON array of booleans only, one per comment, in order. No other text.

<comments>
{comments}
</comments>"""


class ClassificationFailed(Exception):
    """The small model's classification could not be had or read."""


@dataclass
class InlineBuffer:
    """Unconfirmed inline comments of one run, in the order the agent made them."""

    comments: list[InlineComment] = field(default_factory=list)

    def add(self, comment: InlineComment) -> None:
        """Keep ``comment`` for the end of the turn."""
        self.comments.append(comment)


@dataclass(frozen=True)
class BufferOutcome:
    """What became of the buffered comments."""

    posted: tuple[InlineComment, ...] = ()
    dropped: tuple[InlineComment, ...] = ()  # classified as not meant to be posted
    held: tuple[InlineComment, ...] = ()  # not posted because the classification failed
    error: str = ""  # why ``held`` were not posted, as a clause

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


def _prompt(comments: Sequence[InlineComment]) -> str:
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


def classify(
    client: Any, model: str, comments: Sequence[InlineComment], *, timeout_s: float = 60.0
) -> list[bool]:
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


def post_buffered(
    platform: Platform,
    number: int,
    commit_sha: str,
    comments: Sequence[InlineComment],
    *,
    classifier: Callable[[Sequence[InlineComment]], list[bool]] | None,
    log: Callable[[str], None],
) -> BufferOutcome:
    """Classify (unless ``classifier`` is None: ``classify_inline_comments: false``) and post."""
    if not comments:
        return BufferOutcome()
    keep = list(comments)
    dropped: list[InlineComment] = []
    if classifier is not None:
        try:
            verdicts = classifier(comments)
        except ClassificationFailed as exc:
            log(f"warning: {len(comments)} inline comment(s) not posted: classifying them failed: {exc}")
            return BufferOutcome(held=tuple(comments), error=f"classifying them failed ({exc})")
        keep = [c for c, ok in zip(comments, verdicts, strict=True) if ok]
        dropped = [c for c, ok in zip(comments, verdicts, strict=True) if not ok]
        log(f"inline comments: {len(keep)} kept, {len(dropped)} dropped as tests or probes by the classifier")
    if keep:
        platform.post_inline_comments(number, keep, commit_sha=commit_sha, body="")
    return BufferOutcome(posted=tuple(keep), dropped=tuple(dropped))


def flush(
    buffer: InlineBuffer,
    platform: Platform,
    number: int | None,
    commit_sha: str | None,
    *,
    classify_comments: bool,
    make_client: Callable[[], Any],
    model: str,
    log: Callable[[str], None],
) -> BufferOutcome:
    """The end of a mention turn: the buffered comments classified (a client is built only then)
    and posted on change request ``number`` at ``commit_sha``."""
    if not buffer.comments:
        return BufferOutcome()
    if number is None or commit_sha is None:  # kept for the final comment rather than lost
        return BufferOutcome(
            held=tuple(buffer.comments), error="there is no pull or merge request to post them on"
        )

    def with_model(comments: Sequence[InlineComment]) -> list[bool]:
        try:
            client = make_client()
        except Exception as exc:  # a provider that fails to build: reported like a refusal
            raise ClassificationFailed(f"{type(exc).__name__}: {exc}".splitlines()[0][:300]) from None
        return classify(client, model, comments)

    classifier = with_model if classify_comments else None
    return post_buffered(platform, number, commit_sha, buffer.comments, classifier=classifier, log=log)


__all__ = [
    "BufferOutcome",
    "ClassificationFailed",
    "InlineBuffer",
    "classify",
    "flush",
    "parse_verdicts",
    "post_buffered",
]
