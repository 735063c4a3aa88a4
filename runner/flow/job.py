"""The CI job a flow runs in: where the workspace is, how to log, where outputs go."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from runner.flow.state import StateFile


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Job:
    """One CI job, as the flow needs it; built by ``ci/github.py`` (or ``ci/gitlab.py``)."""

    workspace: Path
    temp_dir: Path
    repo_url: str  # web URL of the repository, for branch and compare links
    platform: str = "github"  # whose URL and e-mail conventions the links and co-authors follow
    job_url: str | None = None
    run_id: str | None = None  # the CI run's id, for rescue branch names; None: the number ending job_url
    noreply_domain: str = "users.noreply.github.com"
    write_outputs: Callable[[Mapping[str, str]], None] = lambda outputs: None
    write_summary: Callable[[str], None] = lambda markdown: None
    mask: Callable[[str], None] = lambda value: None
    log: Callable[[str], None] = field(default=_stderr)
    group_start: str = ""  # e.g. "::group::{}" on GitHub Actions ({name}, {ts}: GitLab's section id, time)
    group_end: str = ""
    state_file: StateFile | None = None  # for `claude-runner finalize` (see flow/state.py)
    # How the run's one error line is shown: an annotation on GitHub, a section on GitLab.
    show_error: Callable[[str], None] | None = None
    show_warning: Callable[[str], None] | None = None  # GitHub: a ::warning:: annotation
    # The run report: into the summary (None, GitHub) or a file of its own (GitLab's artifact).
    write_report: Callable[[str], None] | None = None
    transcript_url: str | None = None  # where the transcript can be read once the job ends
    transcript_note: str = ""  # else where it is, in words

    def warning(self, message: str) -> None:
        """A warning the run goes on after (``warning: `` is added, or kept, in front)."""
        text = message.removeprefix("warning: ")
        if self.show_warning is not None:
            self.show_warning(text)
        else:
            self.log(f"warning: {text}")

    def error(self, message: str) -> None:
        """Report the error that ends the run: once, where the CI makes it stand out."""
        if self.show_error is not None:
            self.show_error(message)
        else:
            self.log(f"error: {message}")

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A collapsible log section where the CI supports one."""
        # GitLab's section markers also need a name and the time (fields GitHub's format ignores).
        name = re.sub(r"[^a-z0-9_]+", "_", title.lower()).strip("_") or "section"
        if self.group_start:
            self.log(self.group_start.format(title, name=name, ts=int(time.time())))
        else:
            self.log(f"== {title}")
        try:
            yield
        finally:
            if self.group_end:
                self.log(self.group_end.format(name=name, ts=int(time.time())))
