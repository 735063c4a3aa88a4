"""What the quick acknowledgement did, handed to the full run (``ci/github.py``, ``flow/ack.py``):
the requester's permission when it was asked, and the tracking comment when it was posted (or
may have been: its request went out and no clear answer came back)."""

from __future__ import annotations

import time

from runner.settings.quick_ack import QuickInputs


class Handover:
    """``number``: the issue or pull request; ``requester``: who asked; ``login`` / ``level``:
    whose permission was asked and the answer (None: not asked); ``comment_id`` and
    ``comment_url``: the tracking comment posted; ``run_id``: the run marker of its body
    ``body``; ``uncertain``: its request went out without a clear answer (the full run looks for
    it before posting: the body is the same); ``inputs``: what it read (the token, the API);
    ``started``: when (``time.monotonic``), for the duration a final comment shows."""

    __slots__ = (
        "body",
        "comment_id",
        "comment_url",
        "inputs",
        "level",
        "login",
        "number",
        "requester",
        "run_id",
        "started",
        "uncertain",
    )

    def __init__(
        self,
        number: int,
        requester: str,
        login: str | None = None,
        level: str | None = None,
        *,
        comment_id: int | None = None,
        comment_url: str | None = None,
        run_id: str | None = None,
        body: str | None = None,
        uncertain: bool = False,
        inputs: QuickInputs | None = None,
    ) -> None:
        self.number, self.requester, self.login, self.level = number, requester, login, level
        self.comment_id, self.comment_url, self.run_id, self.body = comment_id, comment_url, run_id, body
        self.uncertain, self.inputs, self.started = uncertain, inputs, time.monotonic()

    @property
    def posted(self) -> bool:
        """The tracking comment exists (its id is known)."""
        return self.comment_id is not None and self.comment_url is not None

    def __repr__(self) -> str:
        return (
            f"Handover(number={self.number}, requester={self.requester!r}, level={self.level!r}, "
            f"comment_id={self.comment_id}, uncertain={self.uncertain})"
        )
