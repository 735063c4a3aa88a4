"""Error types the user can act on: each has an exit code and a one-line fix.

The CLI catches ``RunnerError`` and prints ``error: <message>`` (plus the fix) on one
line, then exits with the error's code. Anything else is a bug: one line asks to report it
(``CLAUDE_RUNNER_DEBUG=1`` adds the traceback) and the exit code is ``EXIT_INTERNAL``.
"""

from __future__ import annotations

from typing import ClassVar


class RunnerError(Exception):
    """Base for errors caused by input, configuration or the environment."""

    exit_code: ClassVar[int] = 1
    kind: ClassVar[str] = "error"

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def one_line(self) -> str:
        """The message and its fix, as printed to stderr."""
        text = self.message.replace("\n", " ").strip()
        if self.fix:
            text += f" — {self.fix.strip()}"
        return text


class UsageError(RunnerError):
    """A flag or its value is wrong."""

    exit_code = 2
    kind = "usage"


class SettingsError(RunnerError):
    """A settings file (``.claude/settings.json``, ``--settings``) is unreadable or invalid."""

    exit_code = 3
    kind = "settings"


class CredentialsError(RunnerError):
    """No usable credentials for the model provider, or the provider rejected them."""

    exit_code = 4
    kind = "credentials"


class ModelError(RunnerError):
    """The model id is unknown to us or to the provider."""

    exit_code = 5
    kind = "model"


class ProviderError(RunnerError):
    """The model provider failed and retries did not help."""

    exit_code = 6
    kind = "provider"


class WorkspaceError(RunnerError):
    """The working directory or an ``--add-dir`` is missing or unusable."""

    exit_code = 7
    kind = "workspace"


class GitError(RunnerError):
    """A local git command failed, a branch name is invalid, or a push was refused."""

    exit_code = 8
    kind = "git"


class PlatformError(RunnerError):
    """GitHub or GitLab refused or failed a call the run needs."""

    exit_code = 9
    kind = "platform"


class PlatformUnavailable(PlatformError):
    """GitHub or GitLab could not be reached, or kept failing (5xx, rate limits), after retries:
    nothing to fix in the configuration; running the job again later may succeed."""

    exit_code = 10
    kind = "platform-unavailable"


class OutputError(RunnerError):
    """The run's answer was printed, but its transcript or the job's outputs or step summary
    could not be written (a full disk, a read-only path)."""

    exit_code = 11
    kind = "output"


# Exit code of a run that started but ended in an error result (max turns, timeout,
# budget, error during execution). The result object is still printed.
EXIT_RUN_FAILED = 1
# A bug in claude-runner (an exception no check foresaw): one line asks to report it.
EXIT_INTERNAL = 70
# Interrupted (Ctrl-C, SIGINT) before the run could finish in order.
EXIT_INTERRUPTED = 130

EXIT_CODES: dict[int, str] = {
    0: "success",
    EXIT_RUN_FAILED: "the agent run ended with an error result",
    UsageError.exit_code: "bad command-line flag or value, or a missing optional extra",
    SettingsError.exit_code: "unreadable or invalid settings file",
    CredentialsError.exit_code: "missing or rejected credentials",
    ModelError.exit_code: "unknown or unavailable model",
    ProviderError.exit_code: "the model provider failed after retries",
    WorkspaceError.exit_code: "working directory or --add-dir unusable",
    GitError.exit_code: "a git command, branch name or push failed",
    PlatformError.exit_code: "the code host (GitHub, GitLab) refused or failed a call",
    PlatformUnavailable.exit_code: "the code host (GitHub, GitLab) was unreachable or kept failing",
    OutputError.exit_code: "the answer was printed, but the transcript, outputs or summary were not written",
    EXIT_INTERNAL: "internal error: a bug in claude-runner (please report it)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, SIGINT)",
}
