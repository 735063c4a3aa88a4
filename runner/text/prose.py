"""The mention view of a comment in plain prose, without the parsers: ``runner/quick/prose.py``
(it lives there so the quick acknowledgement reads a mention without loading ``runner.text``)."""

from __future__ import annotations

from runner.quick.prose import prose_view

__all__ = ["prose_view"]
