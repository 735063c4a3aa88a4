"""How a ``claude-runner`` command runs, with or without click: ``run_guarded`` turns every way
out into an exit code and at most one line (a user's mistake: what to fix, ``runner/errors.py``;
a bug: a request for a report; never a traceback), ``fast_exit`` skips the SDK's teardown, and
``run_github_command`` is ``claude-runner github``, which ``runner.main`` runs without click.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from runner.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, RunnerError, UsageError

if TYPE_CHECKING:
    from runner.quick.handover import Handover

# The optional packages and the extra that installs each.
EXTRA_OF = {
    "boto3": "bedrock",
    "botocore": "bedrock",
    "google": "vertex",
    "requests": "vertex",
    "waitress": "webhook",
    "psycopg": "webhook-postgres",
}


def run_github_command(handover: Handover | None = None) -> int:
    """``claude-runner github``: the job's variables, then the run (``runner.ci.github``);
    ``handover``: what the quick acknowledgement did first (``runner/quick/``), if anything."""
    import os

    from runner.ci.github import run_github
    from runner.settings.github import github_run_env, read_github_job

    # The job's variables first: with them known, a bad input still gets conclusion=failure.
    return run_github(github_run_env(os.environ), lambda: read_github_job(os.environ), handover)


def run_guarded(call: Callable[[], int | None]) -> int:
    """``call``'s exit code; a user's mistake prints one line and exits with its code, a bug
    prints one line asking for a report (the traceback with ``CLAUDE_RUNNER_DEBUG``)."""
    try:
        return call() or 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except RunnerError as exc:
        _say(f"error: {exc.one_line()}")
        return exc.exit_code
    except KeyboardInterrupt:
        _say("error: interrupted — nothing more was done; run the command again to finish")
        return EXIT_INTERRUPTED
    except ModuleNotFoundError as exc:
        extra = EXTRA_OF.get((exc.name or "").split(".")[0])
        if extra is None:
            return _internal_error(exc)
        _say(f"error: {exc.name} is not installed — pip install 'claude-runner[{extra}]'")
        return UsageError.exit_code
    except Exception as exc:
        if type(exc).__name__ == "Interrupted":  # runner.agent.cancel's, raised by a signal handler
            _say(f"error: interrupted ({exc}) — nothing more was done; run the command again")
            return EXIT_INTERRUPTED
        return _internal_error(exc)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _internal_error(exc: Exception) -> int:
    """A bug: one line, never a traceback unless asked for."""
    import os

    if os.environ.get("CLAUDE_RUNNER_DEBUG"):
        import traceback

        traceback.print_exc()
    _say(
        f"error: internal error: {type(exc).__name__}: {exc} — this is a bug in claude-runner: "
        "please report it (CLAUDE_RUNNER_DEBUG=1 prints the traceback)"
    )
    return EXIT_INTERNAL


def fast_exit(code: int) -> None:
    """Exit without interpreter teardown once the SDK is loaded.

    Tearing down the ~3,000 modules of the ``anthropic`` package takes about 0.2 s and
    does nothing for us: output is flushed and files are closed before this point.
    """
    if "anthropic" not in sys.modules:
        sys.exit(code)
    import contextlib
    import os

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
