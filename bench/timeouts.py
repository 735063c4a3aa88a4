"""How soon a limit takes effect: the run's ``--timeout-minutes`` and the Bash tool's timeout.

These bounds used to be asserted in tests (tests/agent/test_run_e2e.py, test_tools_bash.py), where
a busy machine failed them. The tests keep the behaviour (the limit fires; the command, its children
and grandchildren are killed); this measures how soon, against the same targets.

The run cases start the real ``claude-runner run`` against the fake Messages API in this process; a
run that answers at once is timed alongside as the peer (interpreter start-up and SDK import), so a
slow machine shows up as a slow peer rather than as a slow limit.

    python bench/timeouts.py [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.agent.tools.base import ToolContext
from runner.agent.tools.bash import Bash
from runner.testing.fake_messages import FakeMessagesAPI, text, tool_use, turn
from tests.conftest import base_env

ALLOWANCE_S = 2.0  # what the run may take past its limit to stop the call or command and report
STARTUP_S = 1.5  # interpreter start-up and the SDK import, as the tests allowed for it
PEER = "run answering at once (the peer)"


def make_repo(root: Path) -> Path:
    """A committed git repository for the run to work in."""
    repo = root / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    return repo


def timed_run(turns: list[Any], flags: list[str], repo: Path) -> tuple[float, dict[str, Any]]:
    """Seconds from start to exit of one ``claude-runner run``, and its result object."""
    with FakeMessagesAPI(turns) as fake:
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "runner", "run", "-p", "x", "--output-format", "json", *flags],
            cwd=repo,
            env=base_env(fake),
            capture_output=True,
            text=True,
            timeout=120,
        )
        seconds = time.perf_counter() - started
    return seconds, json.loads(proc.stdout.strip().splitlines()[-1])


@dataclass
class Case:
    """One thing to time: ``measure`` returns (seconds, result); a run's result object or the tool's."""

    name: str
    measure: Callable[[], tuple[float, dict[str, Any]]]
    target_s: float | None  # None: reported, not gated (the peer)
    expected: str  # the run's result subtype, or "ok" / "error" for the tool
    limit_s: float | None = None  # a run's time limit: reported beyond the peer too


def run_cases(repo: Path) -> list[Case]:
    """The real command: the peer, then the limit while waiting on the model and while a command runs."""
    slow_model = [turn(text("slow"), delay_s=600)]
    slow_command = [[tool_use("Bash", {"command": "sleep 600"})], [text("never")]]
    return [
        Case(PEER, lambda: timed_run([[text("done")]], [], repo), None, "success"),
        Case(
            "run, 1.2 s limit, the model never answers",
            lambda: timed_run(slow_model, ["--timeout-minutes", "0.02"], repo),
            1.2 + ALLOWANCE_S + STARTUP_S,
            "error_timeout",
            1.2,
        ),
        Case(
            "run, 1.8 s limit, the command never ends",
            lambda: timed_run(slow_command, ["--timeout-minutes", "0.03", "--allowedTools", "Bash"], repo),
            1.8 + ALLOWANCE_S + STARTUP_S,
            "error_timeout",
            1.8,
        ),
    ]


def timed_bash(command: str, ctx: ToolContext, **args: Any) -> tuple[float, dict[str, Any]]:
    """Seconds one Bash tool call takes, and whether it reported an error."""
    started = time.perf_counter()
    result = Bash().run({"command": command, **args}, ctx)
    return time.perf_counter() - started, {"is_error": result.is_error}


def bash_cases(work: Path) -> list[Case]:
    """The tool in this process: a timeout, a lingering child, the run's deadline, stdin."""
    ctx = ToolContext(cwd=work, subprocess_env={"PATH": os.environ["PATH"]})
    tree = "(trap '' TERM; exec sleep 600) & bash -c 'sleep 600 & wait' & sleep 600"  # ignores SIGTERM

    def clamped() -> tuple[float, dict[str, Any]]:
        return timed_bash(
            "sleep 600",
            ToolContext(cwd=work, subprocess_env=ctx.subprocess_env, deadline=time.monotonic() + 0.5),
        )

    return [
        Case("Bash: a 500 ms timeout kills a tree", lambda: timed_bash(tree, ctx, timeout=500), 3.0, "error"),
        Case(
            "Bash: a background child holds the pipe",
            lambda: timed_bash("sleep 600 & echo x", ctx),
            3.0,
            "ok",
        ),
        Case("Bash: a 0.5 s run deadline clamps the timeout", clamped, 3.0, "error"),
        Case("Bash: reading stdin meets EOF", lambda: timed_bash("cat; read x || echo eof", ctx), 2.0, "ok"),
    ]


def outcome(result: dict[str, Any]) -> str:
    """The result subtype of a run, or "ok" / "error" for a tool call."""
    if "subtype" in result:
        return str(result["subtype"])
    return "error" if result["is_error"] else "ok"


def measure(case: Case, runs: int) -> dict[str, Any]:
    """``runs`` measurements of ``case``; passes when every one is under the target (as the test was)."""
    samples = [case.measure() for _ in range(runs)]
    seconds = sorted(s for s, _ in samples)
    outcomes = [outcome(r) for _, r in samples]
    right = all(o == case.expected for o in outcomes)
    return {
        "case": case.name,
        "median_s": round(statistics.median(seconds), 3),
        "max_s": round(seconds[-1], 3),
        "target_s": case.target_s and round(case.target_s, 2),
        "outcome": case.expected if right else outcomes,
        "pass": right and (case.target_s is None or seconds[-1] < case.target_s),
    }


def main() -> None:
    """Time every case, print one line (or JSON object) each; exit 1 if any missed its target."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="one JSON object per case")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cases = [*run_cases(make_repo(root)), *bash_cases(root)]
        peer_s = 0.0
        for case in cases:
            row = measure(case, args.runs)
            if case.name == PEER:
                peer_s = row["median_s"]
            if case.limit_s is not None:
                # What the limit costs beyond start-up as measured now: compare with ALLOWANCE_S.
                row["beyond_limit_and_peer_s"] = round(row["median_s"] - case.limit_s - peer_s, 3)
            rows.append(row)
            if args.json:
                print(json.dumps(row))
                continue
            extra = ""
            if "beyond_limit_and_peer_s" in row:
                beyond = row["beyond_limit_and_peer_s"]
                extra = f"; past the limit, beyond the peer: {beyond} s (allowance {ALLOWANCE_S:g} s)"
            wrong = "" if row["outcome"] == case.expected else f" — outcomes {row['outcome']}"
            verdict = "reference" if case.target_s is None else "PASS" if row["pass"] else "FAIL"
            target = "" if case.target_s is None else f", target < {row['target_s']} s every run"
            print(
                f"{case.name}: median {row['median_s']} s, max {row['max_s']} s{target}: "
                f"{verdict}{wrong}{extra}"
            )
    sys.exit(0 if all(row["pass"] for row in rows) else 1)


if __name__ == "__main__":
    main()
