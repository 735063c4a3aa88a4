"""The run's state file: what ``claude-runner finalize`` needs to finish a run that was killed.

A run rewrites one small JSON file at each phase change (``PHASES``), atomically (a temporary
file, then a rename), in a place the job's next step can find: ``$RUNNER_TEMP`` on GitHub
Actions, the checkout's ``.git`` directory on GitLab CI (see ``runner/settings/``). When the
run is cancelled, killed or times out before its comment is final, ``finalize`` reads the file
and finishes the comment with what the run had done (the branch it pushed, the pull request).

The file carries an HMAC of its content keyed with the job's platform credential, which the
agent never sees: ``finalize`` does not act on a state file the agent (or anything else without
the credential) wrote or changed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.errors import SettingsError
from runner.platforms.refs import CommentRef
from runner.telemetry.base import NoTelemetry, RunObserver

STATE_VERSION = 1
# In order. "finishing": the final comment body is known (and kept in the file) but not yet
# delivered; "finalised": the comment (if any) is final and the outputs are written.
PHASES = ("acknowledged", "gathering", "running", "publishing", "finishing", "finalised")


def utc_now() -> str:
    """The current time as ISO 8601 UTC (``2025-01-31T12:00:00Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RunState:
    """What one run has done so far, as the state file holds it."""

    platform: str  # "github" or "gitlab"
    repo_url: str  # the repository's web URL: finalize checks it is the one its job runs for
    run_id: str | None  # GITHUB_RUN_ID / CI_JOB_ID: a stale file from another job is ignored
    job_url: str | None
    requester: str
    started_at: str = field(default_factory=utc_now)
    number: int | None = None  # the issue / pull request / merge request
    phase: str = "acknowledged"
    conclusion: str | None = None  # success, failure or cancelled, once known
    comment: CommentRef | None = None  # the tracking comment, once posted
    planned_branch: str | None = None  # where the work goes (it may not have been pushed)
    branch: str | None = None  # where the work was pushed
    pr_url: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, url): job, branch, PR
    final_body: str | None = None  # "finishing": the final comment, for finalize to deliver
    updated_at: str = field(default_factory=utc_now)

    def span_attributes(self) -> dict[str, str | int | None]:
        """What the run's telemetry says of the job: platform, repository, the thread's number."""
        return {"platform": self.platform, "repository": self.repo_url, "number": self.number}

    def to_json(self) -> dict[str, Any]:
        """A JSON object (``comment`` as an object, ``links`` as [label, url] pairs)."""
        data = dataclasses.asdict(self)
        data["links"] = [[label, url] for label, url in self.links]
        return {"version": STATE_VERSION, **data}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunState:
        """The state ``to_json`` wrote; ``ValueError`` for anything else."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {STATE_VERSION}")
        values: dict[str, Any] = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        if values.get("phase") not in PHASES:
            raise ValueError(f"unknown phase {values.get('phase')!r}")
        comment = values.get("comment")
        try:
            values["comment"] = CommentRef(**comment) if isinstance(comment, dict) else None
            values["links"] = [(str(label), str(url)) for label, url in values.get("links") or []]
            return cls(**values)
        except TypeError as exc:
            raise ValueError(str(exc)) from exc


def _mac(key: str, data: Mapping[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class StateFile:
    """Where the state file is, and the key its HMAC is made with (a platform credential)."""

    path: Path
    key: str | None = field(default=None, repr=False)

    def write(self, state: RunState) -> None:
        """Replace the file atomically (readable by the job's user only). Raises ``OSError``."""
        data = state.to_json()
        if self.key:
            data["mac"] = _mac(self.key, data)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2)
                fh.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def read(self) -> RunState | None:
        """The state, or None when there is no file; ``SettingsError`` when it is unreadable,
        invalid, or its HMAC does not match (written or changed without the credential)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SettingsError(f"state file {self.path}: {exc.strerror}") from exc
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            mac = data.pop("mac", None)
            if self.key and not (isinstance(mac, str) and hmac.compare_digest(mac, _mac(self.key, data))):
                raise ValueError("its HMAC does not match: it was not written by this job's runner")
            return RunState.from_json(data)
        except ValueError as exc:
            raise SettingsError(
                f"state file {self.path} is not valid: {exc}", "not acting on it; see the main step's log"
            ) from exc

    def clear(self) -> None:
        """Remove the file (a run starts with none: an older one is not this run's)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class RunRecord:
    """Keeps the state file in step with the run. Writing is best effort: a failure is logged
    once and the run goes on (finalize then has nothing, or an older phase, to work from)."""

    def __init__(self, file: StateFile | None, state: RunState, log: Callable[[str], None]) -> None:
        self.file, self.state, self.log = file, state, log
        self._lock = threading.Lock()
        self._warned = False
        self._started = time.monotonic()
        self._logged_phase: str | None = None
        self.observer: RunObserver = NoTelemetry()  # told each new phase; closed by finish_run
        # (phase, epoch seconds) as entered, for the run report's time per phase and timeline.
        self.phase_times: list[tuple[str, float]] = [("starting", time.time())]
        if file is not None:
            try:
                file.clear()
            except OSError as exc:
                self._warn(exc)

    def phase(self, phase: str, **changes: Any) -> None:
        """Enter ``phase`` (one of ``PHASES``) with ``changes`` to the state, and write it."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        if phase != self._logged_phase:  # one line per phase in the job log
            self._logged_phase = phase
            self.phase_times.append((phase, time.time()))
            self.log(f"phase: {phase} ({time.monotonic() - self._started:.1f} s)")
            self.observer.phase(phase)
        self.update(phase=phase, **changes)

    def update(self, **changes: Any) -> None:
        """Change fields of the state and write it."""
        with self._lock:
            self.state = dataclasses.replace(self.state, **changes, updated_at=utc_now())
            if self.file is None:
                return
            try:
                self.file.write(self.state)
            except OSError as exc:
                self._warn(exc)

    def _warn(self, exc: OSError) -> None:
        if not self._warned and self.file is not None:
            self._warned = True
            self.log(
                f"warning: could not write the state file {self.file.path} ({exc.strerror or exc}): "
                "`claude-runner finalize` cannot finish this run's comment if the job is killed"
            )
