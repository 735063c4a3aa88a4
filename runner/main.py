"""The ``claude-runner`` console script. ``claude-runner github``, what the action runs on every
mention, goes straight to the run (``runner.entry``): the tracking comment is posted before click
and the other commands' flags are loaded. Everything else is the click command line
(``runner/cli.py``); both end the same way (``entry.run_guarded``).
"""

from __future__ import annotations

import sys

from runner.entry import fast_exit, run_github_command, run_guarded


def main() -> None:
    """Entry point: ``github`` without arguments runs at once, any other command line goes to click."""
    if sys.argv[1:] == ["github"]:
        fast_exit(run_guarded(run_github_command))
    from runner.cli import main as cli_main

    cli_main()
