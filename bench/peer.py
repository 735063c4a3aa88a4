"""Side by side: claude-runner and Claude Code's CLI on the same scripted task.

Runs ``../shared/bench/peer_task.sh runner`` and ``peer_task.sh claude`` alternately,
``--runs`` times each, and times ``python -c "import anthropic"`` (this interpreter) between
them; takes medians and prints ratios against the targets of the engine issue (#12): effective
input tokens <= 0.25x, peak memory <= 0.4x, wall time <= the SDK import + 0.3 s. Claude Code
comes from npm (``@anthropic-ai/claude-code``, the newest), installed into ``bench/.peer/`` on
first use (``--update`` reinstalls), or from ``--claude-bin`` / ``$CLAUDE_BIN``.

    python bench/peer.py [--runs 5] [--claude-bin PATH] [--update] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGETS = {"effective_input_tokens": 0.25, "max_rss_kb": 0.4}
WALL_ALLOWANCE_S = 0.3  # our own share of the wall time, over importing the SDK


def find_peer_task(explicit: str | None) -> Path:
    """The shared benchmark script (beside the checkout, in ``shared/bench/``)."""
    beside = [ROOT.parent / "shared", ROOT.parent.parent / "shared"]  # a checkout, or a worktree under wt/
    candidates = [Path(explicit)] if explicit else [d / "bench" / "peer_task.sh" for d in beside]
    for path in candidates:
        if path.is_file():
            return path
    sys.exit(f"error: peer_task.sh not found at {candidates[0]} — pass --peer-task PATH")


def claude_bin(explicit: str | None, update: bool = False) -> str:
    """Claude Code's CLI: given, or installed from npm into bench/.peer (not committed)."""
    if explicit:
        return explicit
    prefix = HERE / ".peer"
    package = prefix / "node_modules" / "@anthropic-ai" / "claude-code"
    binary = package / "bin" / "claude.exe"
    if update or not binary.exists():
        subprocess.run(
            ["npm", "i", "--silent", "--prefix", str(prefix), "@anthropic-ai/claude-code@latest"], check=True
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


def time_sdk_import() -> tuple[float, float]:
    """Wall seconds and peak RSS (KB) of ``python -c "import anthropic"`` with this interpreter:
    the floor under any run of ours."""
    out = subprocess.run(
        ["/usr/bin/time", "-f", "wall_s=%e max_rss_kb=%M", sys.executable, "-c", "import anthropic"],
        capture_output=True,
        text=True,
        check=True,
    )
    wall, rss = re.findall(r"wall_s=([0-9.]+) max_rss_kb=([0-9]+)", out.stderr)[-1]
    return float(wall), float(rss)


def versions(claude: str) -> dict[str, str]:
    """What was measured, for the README: Claude Code, the SDK, Python, the machine."""
    import anthropic

    claude_version = subprocess.run([claude, "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "claude_code": claude_version,
        "anthropic_sdk": anthropic.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
    }


def main() -> None:
    """Run both peers, print medians and ratios, write JSON if asked."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--claude-bin", default=os.environ.get("CLAUDE_BIN"))
    parser.add_argument("--peer-task")
    parser.add_argument("--update", action="store_true", help="reinstall the newest Claude Code")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    peer_task = find_peer_task(args.peer_task)
    claude = claude_bin(args.claude_bin, args.update)
    env = {**os.environ, "CLAUDE_BIN": claude, "RUNNER_BIN": runner_bin()}
    samples: dict[str, list[dict[str, float]]] = {"runner": [], "claude": []}
    imports: list[tuple[float, float]] = []
    for i in range(args.runs):
        for offset, which in enumerate(("runner", "claude")):
            samples[which].append(run_once(peer_task, which, env, 18300 + 2 * i + offset))
        imports.append(time_sdk_import())
    metrics = ("wall_s", "max_rss_kb", "effective_input_tokens", "total_request_bytes", "requests")
    medians = {w: {m: statistics.median(s[m] for s in runs) for m in metrics} for w, runs in samples.items()}
    sdk_import_s = statistics.median(wall for wall, _ in imports)
    sdk_import_kb = statistics.median(rss for _, rss in imports)
    print(f"{'metric':<24}{'runner':>12}{'claude':>12}{'ratio':>8}{'target':>12}  ok")
    report: dict[str, object] = {
        "runs": args.runs,
        "medians": medians,
        "sdk_import_s": sdk_import_s,
        "sdk_import_rss_kb": sdk_import_kb,
    }
    ratios: dict[str, float] = {}
    for metric in metrics:
        ours, theirs = medians["runner"][metric], medians["claude"][metric]
        ratio = ours / theirs if theirs else float("nan")
        ratios[metric] = round(ratio, 3)
        target = TARGETS.get(metric)
        verdict = ("yes" if ratio <= target else "NO") if target else ""
        bound = f"<={target}x" if target else ""
        if metric == "wall_s":
            limit = sdk_import_s + WALL_ALLOWANCE_S
            verdict, bound = ("yes" if ours <= limit else "NO"), f"<={limit:.2f}s"
        print(f"{metric:<24}{ours:>12g}{theirs:>12g}{ratio:>8.2f}{bound:>12}  {verdict}")
    over = medians["runner"]["wall_s"] - sdk_import_s
    print(
        f"import anthropic: {sdk_import_s:.2f} s; the run's own share: {over:+.2f} s "
        f"(target <= +{WALL_ALLOWANCE_S} s)"
    )
    floor = sdk_import_kb / medians["claude"]["max_rss_kb"]
    print(f"import anthropic alone: {sdk_import_kb / 1024:.1f} MB peak = {floor:.2f}x Claude Code's peak")
    report["ratios"] = ratios
    report["versions"] = versions(claude)
    print(json.dumps(report["versions"]))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
