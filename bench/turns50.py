"""CPU cost of the runner itself over a 50-turn scripted session against the fake API.

The model is scripted (49 tool turns cycling Read, Edit, Write, Glob and LS, then an
answer), so what is measured is the runner: startup, SDK, streaming, tools, permission
checks, cache breakpoints, output. The number is the runner process's rusage (user +
sys) including its children: Read, Edit, Write and LS run in-process, and Glob's ripgrep
subprocess is counted too, so it is an upper bound on the runner's own CPU time.
Target: under 1.5 s.

    python bench/turns50.py [--runs 3] [--turns 50]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.testing.fake_messages import FakeMessagesAPI
from runner.testing.scripting import text, tool_use

TARGET_CPU_S = 1.5


def script(repo: Path, turns: int) -> list[list[dict[str, object]]]:
    """``turns - 1`` tool turns then a final answer; every edit is real and succeeds."""
    out: list[list[dict[str, object]]] = []
    edits = 0
    for i in range(turns - 1):
        step = i % 5
        if step == 0:
            out.append([tool_use("Read", {"file_path": str(repo / "calc.py")})])
        elif step == 1:
            old, new = f"v = {edits}", f"v = {edits + 1}"
            edits += 1
            out.append(
                [tool_use("Edit", {"file_path": str(repo / "calc.py"), "old_string": old, "new_string": new})]
            )
        elif step == 2:
            out.append(
                [tool_use("Write", {"file_path": str(repo / f"notes/n{i}.txt"), "content": f"note {i}\n"})]
            )
        elif step == 3:
            out.append([tool_use("Glob", {"pattern": "**/*.txt"})])
        else:
            out.append([text(f"Step {i}."), tool_use("LS", {"path": str(repo)})])
    out.append([text("All steps done.")])
    return out


def one_run(turns: int) -> dict[str, float]:
    """Run the session once in a fresh repo; the child's CPU, wall time and peak memory."""
    import resource

    work = Path(tempfile.mkdtemp(prefix="turns50-"))
    try:
        repo = work / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        (repo / "calc.py").write_text("def f():\n    v = 0\n    return v\n")
        with FakeMessagesAPI(script(repo, turns)) as fake:
            env = {**os.environ, "ANTHROPIC_BASE_URL": fake.base_url, "ANTHROPIC_API_KEY": "sk-bench-fake"}
            # The fake runs in this process's threads, so the only child measured is the runner.
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "runner",
                    "run",
                    "-p",
                    "Do the steps.",
                    "--output-format",
                    "json",
                    "--allowedTools",
                    "Read,Edit,Write,Glob,LS",
                    "--max-turns",
                    str(turns + 5),
                ],
                cwd=repo,
                env=env,
                capture_output=True,
                text=True,
            )
            wall = time.monotonic() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        if result.get("is_error") or result.get("num_turns") != turns:
            sys.exit(f"error: session failed: {result}\n{proc.stderr}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {"wall_s": wall, "cpu_s": cpu, "num_turns": result["num_turns"]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    """Run the session ``--runs`` times and report the median CPU time against the target."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--turns", type=int, default=50)
    args = parser.parse_args()
    runs = [one_run(args.turns) for _ in range(args.runs)]
    cpu = statistics.median(r["cpu_s"] for r in runs)
    wall = statistics.median(r["wall_s"] for r in runs)
    per_run = ", ".join(f"{r['cpu_s']:.3f}" for r in runs)
    print(
        f"turns={args.turns} runs={args.runs} runner_cpu_s={cpu:.3f} (per run: {per_run}) wall_s={wall:.3f} "
        f"target_cpu_s<={TARGET_CPU_S} ok={'yes' if cpu <= TARGET_CPU_S else 'NO'}"
    )


if __name__ == "__main__":
    main()
