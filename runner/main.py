"""The ``claude-runner`` console script. ``claude-runner github``, what the action runs on every
mention, first acknowledges quickly (``runner/quick/``: the tracking comment posted before the job's
settings are built), then goes straight to the run (``runner.entry``), past click and the other
commands' flags. Everything else is the click command line (``runner/cli.py``); both end the same
way (``entry.run_guarded``).
"""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point: ``github`` without arguments runs at once, any other command line goes to click."""
    if sys.argv[1:] == ["github"]:
        from runner.quick.github import acknowledge_quickly
        from runner.settings.quick_ack import job_quick_inputs

        try:
            handover = acknowledge_quickly(job_quick_inputs)
        except KeyboardInterrupt:  # reported as any command reports it (entry.run_guarded)
            handover, interrupted = None, True
        else:
            interrupted = False
        from runner.entry import fast_exit, run_github_command, run_guarded

        fast_exit(run_guarded(_interrupt if interrupted else lambda: run_github_command(handover)))
    from runner.cli import main as cli_main

    cli_main()


def _interrupt() -> int:
    raise KeyboardInterrupt
