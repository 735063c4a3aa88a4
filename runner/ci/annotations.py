"""How a failure stands out in a CI log: GitHub workflow commands, GitLab log sections."""

from __future__ import annotations

import time
from collections.abc import Callable


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as the runner expects (``%``, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (``title=...``): also ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(level: str, message: str, title: str = "claude-runner") -> str:
    """``::error title=...::message`` (or ``warning``, ``notice``): shown on the run's summary page."""
    return f"::{level} title={escape_property(title)}::{escape_data(message)}"


def gitlab_error_section(message: str, now: Callable[[], float] = time.time) -> list[str]:
    """The error as an expanded GitLab log section with a red title, easy to spot in a long log."""
    ts = int(now())
    return [
        f"\x1b[0Ksection_start:{ts}:claude_runner_error\r\x1b[0K\x1b[31;1mclaude-runner failed\x1b[0m",
        f"error: {message}",
        f"\x1b[0Ksection_end:{ts}:claude_runner_error\r\x1b[0K",
    ]
