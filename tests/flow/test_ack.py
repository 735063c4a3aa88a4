"""The pieces of the acknowledgement (`runner/flow/ack.py`) the subprocess tests cannot isolate."""

from __future__ import annotations

import sys

import pytest

from runner.errors import PlatformError
from runner.flow.ack import Acknowledgement, Prefetch
from runner.flow.tracker import Tracker
from runner.platforms.base import CommentRef
from runner.sanitize import Redactor


def test_prefetch_loads_in_a_thread_and_a_missing_module_stops_it_quietly():
    sys.modules.pop("tabnanny", None)
    prefetch = Prefetch(["tabnanny", "no_such_module_anywhere", "this_comes_after_the_missing_one"])
    prefetch.wait()  # not started: returns at once
    assert "tabnanny" not in sys.modules
    prefetch.start()
    prefetch.wait()
    assert "tabnanny" in sys.modules
    assert "this_comes_after_the_missing_one" not in sys.modules


class Posted:
    """A platform that records what the tracker asks of it."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create_comment(self, number: int, body: str) -> CommentRef:
        self.created.append(body)
        return CommentRef(7, "https://example.test/c/7", "issue")


def test_a_failed_acknowledgement_is_raised_where_the_flow_reports_it():
    tracker = Tracker(Posted(), 3, None, Redactor([]))  # type: ignore[arg-type]
    ack = Acknowledgement(Redactor([]), tracker=tracker, failure=PlatformError("GitHub could not post"))
    with pytest.raises(PlatformError, match="could not post"):
        ack.comment()


def test_a_comment_the_acknowledgement_left_is_posted_by_the_flow_on_its_platform():
    first, platform = Posted(), Posted()
    tracker = Tracker(first, 3, "https://ci/1", Redactor([]))  # type: ignore[arg-type]
    ack = Acknowledgement(Redactor([]), tracker=tracker)
    assert ack.on(platform) is tracker  # type: ignore[arg-type]
    ref = ack.comment()
    assert ref.id == 7 and first.created == []
    (body,) = platform.created
    assert "**Claude is working…** [View job](https://ci/1)" in body and tracker.run_marker in body
    assert ack.comment() is ref  # posted once
