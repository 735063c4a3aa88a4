"""Side by side: claude-runner and Claude Code's CLI on the same scripted task.

Runs ``../shared/bench/peer_task.sh runner`` and ``peer_task.sh claude`` alternately,
``--runs`` times each, takes medians and prints ratios against the targets of the
engine issue. Claude Code comes from npm (``@anthropic-ai/claude-code``), installed into
``bench/.peer/`` on first use, or from ``--claude-bin`` / ``$CLAUDE_BIN``.

    python bench/peer.py [--runs 5] [--claude-bin PATH] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGETS = {"effective_input_tokens": 0.6, "max_rss_kb": 0.45, "wall_s": 1.2}


def find_peer_task(explicit: str | None) -> Path:
    """The shared benchmark script (beside the checkout, in ``shared/bench/``)."""
    candidates = [Path(explicit)] if explicit else [ROOT.parent / "shared" / "bench" / "peer_task.sh"]
    for path in candidates:
        if path.is_file():
            return path
    sys.exit(f"error: peer_task.sh not found at {candidates[0]} — pass --peer-task PATH")


def claude_bin(explicit: str | None) -> str:
    """Claude Code's CLI: given, on PATH as ``claude``, or installed from npm into bench/.peer."""
    if explicit:
        return explicit
    prefix = HERE / ".peer"
    package = prefix / "node_modules" / "@anthropic-ai" / "claude-code"
    binary = package / "bin" / "claude.exe"
    if not binary.exists():
        subprocess.run(
            ["npm", "i", "--silent", "--prefix", str(prefix), "@anthropic-ai/claude-code"], check=True
        )
    if subprocess.run([str(binary), "--version"], capture_output=True).returncode != 0:
        # npm may skip the package's postinstall (which links the platform binary); run it.
        subprocess.run(["node", "install.cjs"], cwd=package, check=True, capture_output=True)
    return str(binary)


def runner_bin() -> str:
    """The claude-runner of this interpreter's environment."""
    local = Path(sys.executable).parent / "claude-runner"
    found = str(local) if local.exists() else shutil.which("claude-runner")
    if not found:
        sys.exit("error: claude-runner is not installed in this environment — pip install -e .")
    return found


def run_once(peer_task: Path, which: str, env: dict[str, str], port: int) -> dict[str, float]:
    """One run of the task; the numbers peer_task.sh prints."""
    out = subprocess.run(
        ["bash", str(peer_task), which],
        env={**env, "PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    numbers = {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", out)}
    fixed = "fixed=True" in out
    if not fixed or numbers.get("rc") != 0:
        sys.exit(f"error: the {which} run did not complete the task:\n{out}")
    return numbers


def main() -> None:
    """Run both peers, print medians and ratios, write JSON if asked."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--claude-bin", default=os.environ.get("CLAUDE_BIN"))
    parser.add_argument("--peer-task")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    peer_task = find_peer_task(args.peer_task)
    env = {**os.environ, "CLAUDE_BIN": claude_bin(args.claude_bin), "RUNNER_BIN": runner_bin()}
    samples: dict[str, list[dict[str, float]]] = {"runner": [], "claude": []}
    for i in range(args.runs):
        for offset, which in enumerate(("runner", "claude")):
            samples[which].append(run_once(peer_task, which, env, 18300 + 2 * i + offset))
    metrics = ("wall_s", "max_rss_kb", "effective_input_tokens", "total_request_bytes", "requests")
    medians = {w: {m: statistics.median(s[m] for s in runs) for m in metrics} for w, runs in samples.items()}
    print(f"{'metric':<24}{'runner':>12}{'claude':>12}{'ratio':>8}{'target':>9}  ok")
    report = {"runs": args.runs, "medians": medians, "ratios": {}}
    for metric in metrics:
        ours, theirs = medians["runner"][metric], medians["claude"][metric]
        ratio = ours / theirs if theirs else float("nan")
        report["ratios"][metric] = round(ratio, 3)
        target = TARGETS.get(metric)
        verdict = ("yes" if ratio <= target else "NO") if target else ""
        bound = f"<={target}" if target else ""
        print(f"{metric:<24}{ours:>12g}{theirs:>12g}{ratio:>8.2f}{bound:>9}  {verdict}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
