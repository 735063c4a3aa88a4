"""Running the ``rg`` binary for Glob and Grep: an argv list (never a shell), the scrubbed
environment, a timeout and a cap on the output kept.

Output is read in large blocks, from several rg processes at once if asked.
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import sys
import sysconfig
import time
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


def run_rg(args: list[str], ctx: ToolContext, cwd: Path, terminator: bytes = b"\n") -> RgRun:
    """Run rg with ``args`` in ``cwd``; stdout is kept up to ``RG_MAX_BYTES`` (whole records, each
    ended by ``terminator``), then rg is stopped."""
    return run_rgs([args], ctx, cwd, terminator)[0]


def run_rgs(argvs: list[list[str]], ctx: ToolContext, cwd: Path, terminator: bytes = b"\n") -> list[RgRun]:
    """``run_rg`` for several rg processes at once, read by one loop (no thread per process)."""
    timeout = _timeout(ctx)
    rg = find_rg()
    procs: list[subprocess.Popen[bytes]] = []
    outs = [bytearray() for _ in argvs]
    errs = [bytearray() for _ in argvs]
    cut = [False for _ in argvs]
    open_streams = [0 for _ in argvs]  # per process: its pipes not at their end yet
    end = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as sel:
            for i, args in enumerate(argvs):
                proc = subprocess.Popen(
                    [rg, "--no-config", *args],  # --no-config: RIPGREP_CONFIG_PATH must not change results
                    cwd=cwd,
                    env=dict(ctx.subprocess_env),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
                procs.append(proc)
                for stream, sink in ((proc.stdout, outs[i]), (proc.stderr, errs[i])):
                    if stream is not None:
                        sel.register(stream, selectors.EVENT_READ, (i, sink))
                        open_streams[i] += 1
            while sel.get_map():
                left = end - time.monotonic()
                if left <= 0:
                    raise ToolError(
                        f"the search timed out after {timeout:.0f} s; narrow the path, glob or pattern"
                    )
                for key, _ in sel.select(left):
                    i, sink = key.data
                    chunk = os.read(key.fd, READ_BYTES)
                    if chunk:
                        sink.extend(chunk)
                    if chunk and not (sink is outs[i] and len(sink) > RG_MAX_BYTES):
                        continue
                    # At its end, or enough to answer with: stop reading it (rg is stopped below).
                    cut[i] = cut[i] or bool(chunk)
                    pipes = (procs[i].stdout, procs[i].stderr)
                    for fd in [pipe.fileno() for pipe in pipes if pipe is not None] if cut[i] else [key.fd]:
                        registered = sel.get_map().get(fd)
                        if registered is not None:
                            sel.unregister(registered.fileobj)
                            open_streams[i] -= 1
    finally:
        for i, proc in enumerate(procs):
            if open_streams[i] or cut[i]:  # timed out, cut, or interrupted: rg must not outlive the call
                proc.kill()
        codes = [proc.wait() for proc in procs]
        for proc in procs:
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
    runs = []
    for out, err, was_cut, code in zip(outs, errs, cut, codes, strict=True):
        if was_cut:  # keep whole records only, within the cap
            del out[out.rfind(terminator, 0, RG_MAX_BYTES) + len(terminator) :]
        runs.append(RgRun(code, bytes(out), err.decode("utf-8", "replace"), was_cut))
    return runs
