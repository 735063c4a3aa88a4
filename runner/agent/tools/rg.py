"""Running the ``rg`` binary for Glob and Grep: an argv list (never a shell), the scrubbed
environment, a timeout and a cap on the output kept.

Output is read in large blocks; a caller may take its records (paths, lines) as they arrive,
so it works while rg still walks the tree.
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runner.agent.tools.base import ToolContext, ToolError

RG_TIMEOUT_S = 30.0
RG_MAX_BYTES = 8 * 1024 * 1024  # raw rg output kept; more than this is cut and reported
READ_BYTES = 256 * 1024  # one read from rg's stdout


def find_rg() -> str:
    """The ``rg`` binary: the ripgrep wheel's (next to this Python) first, then ``PATH``."""
    name = "rg.exe" if os.name == "nt" else "rg"
    # sys.executable is not resolved on purpose: in a venv it is the venv's bin/python.
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("rg")
    if found is None:
        raise ToolError(
            "ripgrep (rg) is not installed; install the `ripgrep` Python package (pip install ripgrep)"
        )
    return found


def _timeout(ctx: ToolContext, limit: float = RG_TIMEOUT_S) -> float:
    if ctx.deadline is None:
        return limit
    remaining = ctx.deadline - time.monotonic()
    if remaining <= 0:
        raise ToolError("the run's time limit has been reached")
    return min(limit, remaining)


@dataclass(frozen=True)
class RgRun:
    """How rg ended: its exit code, its stdout (empty when records were handed on), its stderr,
    and whether stdout was cut at ``RG_MAX_BYTES`` (rg was stopped)."""

    code: int
    out: bytes
    err: str
    cut: bool


def run_rg(
    args: list[str],
    ctx: ToolContext,
    cwd: Path,
    on_records: Callable[[list[bytes]], None] | None = None,
    terminator: bytes = b"\n",
) -> RgRun:
    """Run rg with ``args`` in ``cwd``; stdout is kept up to ``RG_MAX_BYTES``, then rg is stopped.

    With ``on_records``, stdout's complete records (each ended by ``terminator``, which is not
    passed on) are handed to it as they arrive, and the ``out`` returned is empty."""
    timeout = _timeout(ctx)
    proc = subprocess.Popen(
        [find_rg(), "--no-config", *args],  # --no-config: RIPGREP_CONFIG_PATH must not change results
        cwd=cwd,
        env=dict(ctx.subprocess_env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = bytearray(), bytearray()
    cut = drained = False
    sent = 0  # stdout bytes already handed to on_records
    end = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as sel:
            for stream, sink in ((proc.stdout, out), (proc.stderr, err)):
                if stream is not None:
                    sel.register(stream, selectors.EVENT_READ, sink)
            while sel.get_map() and not cut:
                left = end - time.monotonic()
                if left <= 0:
                    raise ToolError(
                        f"the search timed out after {timeout:.0f} s; narrow the path, glob or pattern"
                    )
                for key, _ in sel.select(left):
                    chunk = os.read(key.fd, READ_BYTES)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        continue
                    key.data.extend(chunk)
                    if on_records is not None and key.data is out:
                        sent += _hand_on(out, on_records, terminator)
                    # Enough to answer with: stop rg, don't buffer it all.
                    cut = sent + len(out) > RG_MAX_BYTES
            drained = not cut
    finally:
        if not drained:  # timed out, cut, or interrupted: rg must not outlive the call
            proc.kill()
        code = proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    if cut:  # keep whole records only, within the cap
        del out[out.rfind(terminator, 0, max(0, RG_MAX_BYTES - sent)) + len(terminator) :]
    if on_records is not None:
        if out and not cut:
            out.extend(terminator)  # a last record without its terminator
        _hand_on(out, on_records, terminator)
        out.clear()
    return RgRun(code, bytes(out), err.decode("utf-8", "replace"), cut)


def _hand_on(out: bytearray, on_records: Callable[[list[bytes]], None], terminator: bytes) -> int:
    """Pass ``out``'s complete records to ``on_records`` and drop them from it; returns their size."""
    end = out.rfind(terminator) + len(terminator)
    if end >= len(terminator):
        on_records(bytes(out[: end - len(terminator)]).split(terminator))
        del out[:end]
        return end
    return 0
