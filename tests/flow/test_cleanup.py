"""The bounded cleanup (``flow/cleanup.py``): a signal during cleanup is noted, not fatal, and
starts the bound; a step that outlives the bound is given up."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from runner.flow.cleanup import Cleanup, CleanupTimeout


def test_a_signal_during_cleanup_is_noted_and_the_step_finishes():
    lines: list[str] = []
    cleanup = Cleanup(lines.append, bound_s=30)
    release = threading.Event()

    def step() -> str:
        release.wait(10)
        return "done"

    with cleanup.signals():
        threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
        threading.Timer(0.5, release.set).start()
        assert cleanup.call("a push", step) == "done"
    assert cleanup.deadline is not None  # the signal started the bound
    assert len(lines) == 1 and lines[0].startswith("signal during cleanup (SIGTERM): finishing within")


def test_after_an_interrupted_run_a_signal_is_the_second():
    lines: list[str] = []
    cleanup = Cleanup(lines.append, bound_s=30)
    cleanup.interrupted = True
    with cleanup.signals():
        os.kill(os.getpid(), signal.SIGINT)
        assert cleanup.sleep(0.1)
    assert lines and lines[0].startswith("second signal during cleanup (SIGINT): finishing within")


def test_the_handlers_are_restored_afterwards():
    before = signal.getsignal(signal.SIGTERM)
    with Cleanup(lambda line: None).signals():
        assert signal.getsignal(signal.SIGTERM) != before
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_step_that_outlives_the_bound_is_given_up():
    cleanup = Cleanup(lambda line: None, bound_s=0.3)
    cleanup.start_clock()
    with pytest.raises(CleanupTimeout, match="gave up on the final comment update"):
        cleanup.call("the final comment update", lambda: threading.Event().wait(10))
    assert not cleanup.sleep(5)  # no time left for a pause before a retry


def test_a_reserve_keeps_time_for_what_comes_after():
    cleanup = Cleanup(lambda line: None, bound_s=10)
    cleanup.start_clock()
    with pytest.raises(CleanupTimeout):
        cleanup.call("a push", lambda: threading.Event().wait(10), reserve_s=9.8)
    assert (cleanup.remaining() or 0) > 5


def test_errors_of_a_step_reach_the_caller():
    with pytest.raises(ValueError, match="boom"):
        Cleanup(lambda line: None).call("x", lambda: (_ for _ in ()).throw(ValueError("boom")))
