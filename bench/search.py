"""Glob and Grep against ripgrep run directly, on a generated 50,000-file tree (issue #17, target 5).

Targets: Grep <= 1.5x ripgrep run directly (the same search, the same files), Glob <= 2.5x
`rg --files` listing the same files (Glob's newest-first order costs a stat per match, which
`rg --files` does not pay). Every ratio is measured in the same run, alternating the two sides.

    python bench/search.py [--files 50000] [--runs 7] [--tree DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.agent.tools.base import ToolContext
from runner.agent.tools.rg import find_rg
from runner.agent.tools.search import Glob, Grep

EXTENSIONS = (".py", ".py", ".py", ".ts", ".md")  # four in five are source files Glob looks for
WORDS = ("alpha", "beta", "gamma", "delta", "config", "handler", "request", "value", "result")


def make_tree(root: Path, count: int, seed: int = 17) -> None:
    """``count`` small files in 100 files a directory, two levels deep, with spread-out mtimes."""
    rng = random.Random(seed)
    now = time.time()
    for i in range(count):
        folder = root / f"pkg{i // 2000:02}" / f"mod{(i // 100) % 20:02}"
        if i % 100 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"file{i:05}{EXTENSIONS[i % len(EXTENSIONS)]}"
        lines = [" ".join(rng.choice(WORDS) for _ in range(8)) for _ in range(12)]
        if i % 250 == 0:
            lines.append("NEEDLE_marker = True")  # 200 files match the Grep pattern
        path.write_text("\n".join(lines) + "\n")
        stamp = now - rng.uniform(0, 86_400 * 30)
        os.utime(path, (stamp, stamp))
    (root / ".gitignore").write_text("*.log\n")


def _cpu() -> float:
    """CPU seconds of this process and its finished children (rg): user + system."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call (the CPU of rg's processes included)."""
    cpu, start = _cpu(), time.perf_counter()
    fn()
    return time.perf_counter() - start, _cpu() - cpu


def rg(rg_bin: str, cwd: Path, *args: str) -> Callable[[], object]:
    argv = [rg_bin, "--no-config", *args]
    quiet = subprocess.DEVNULL
    return lambda: subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=quiet, check=False)


def tool(instance: Glob | Grep, ctx: ToolContext, **args: Any) -> Callable[[], object]:
    def run() -> object:
        result = instance.run(args, ctx)
        assert not result.is_error, result.content
        return result

    return run


def compare(
    name: str, ours: Callable[[], object], peer: Callable[[], object], runs: int, target: float
) -> dict[str, Any]:
    """Median wall (and CPU) times of ``ours`` and ``peer``, run alternately ``runs`` times, and
    their ratio. The target is on wall time; CPU shows what a loaded machine will see."""
    ours(), peer()  # warm the page cache and the dentry cache for both
    mine, theirs = [], []
    for _ in range(runs):
        mine.append(timed(ours))
        theirs.append(timed(peer))
    ours_s, peer_s = (statistics.median(wall for wall, _ in side) for side in (mine, theirs))
    ours_cpu, peer_cpu = (statistics.median(cpu for _, cpu in side) for side in (mine, theirs))
    ratio = ours_s / peer_s
    return {
        "case": name, "ours_s": round(ours_s, 4), "rg_s": round(peer_s, 4),
        "ratio": round(ratio, 2), "target": target, "met": ratio <= target,
        "ours_cpu_s": round(ours_cpu, 4), "rg_cpu_s": round(peer_cpu, 4),
        "cpu_ratio": round(ours_cpu / peer_cpu, 2) if peer_cpu else None,
    }  # fmt: skip


def main() -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tree", type=Path, help="generate the tree here once and reuse it (kept)")
    opts = parser.parse_args()
    rg_bin = find_rg()
    version = subprocess.run([rg_bin, "--version"], capture_output=True, text=True, check=False).stdout
    version = version.split("\n")[0]
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        root = Path(os.path.realpath(opts.tree or tmp))
        marker = root / f".bench-tree-{opts.files}"
        if not marker.exists():
            root.mkdir(parents=True, exist_ok=True)
            make_tree(root, opts.files)
            marker.touch()
        ctx = ToolContext(cwd=root, subprocess_env={"PATH": os.environ.get("PATH", "")})
        listing = ("--files", "--no-ignore", "--hidden", "--glob", "!.git")
        rows = [
            compare(
                "Glob **/*.py vs rg --files (same files)",
                tool(Glob(), ctx, pattern="**/*.py"),
                rg(rg_bin, root, *listing[:3], "--glob", "**/*.py", *listing[3:]),
                opts.runs, 2.5,
            ),
            compare(
                "Glob **/* vs rg --files (every file)",
                tool(Glob(), ctx, pattern="**/*"),
                rg(rg_bin, root, *listing),
                opts.runs, 2.5,
            ),
            compare(
                "Grep files_with_matches vs rg -l",
                tool(Grep(), ctx, pattern="NEEDLE_\\w+"),
                rg(rg_bin, root, "--hidden", "--files-with-matches", "--regexp", "NEEDLE_\\w+"),
                opts.runs, 1.5,
            ),
            compare(
                "Grep content vs rg -n",
                tool(Grep(), ctx, pattern="NEEDLE_\\w+", output_mode="content"),
                rg(rg_bin, root, "--hidden", "--line-number", "--regexp", "NEEDLE_\\w+"),
                opts.runs, 1.5,
            ),
            compare(
                "Grep count vs rg -c",
                tool(Grep(), ctx, pattern="handler", output_mode="count"),
                rg(rg_bin, root, "--hidden", "--count", "--regexp", "handler"),
                opts.runs, 1.5,
            ),
        ]  # fmt: skip
    load = os.getloadavg()[0]
    if opts.json:
        report = {"rg": version, "files": opts.files, "runs": opts.runs, "load": load, "rows": rows}
        print(json.dumps(report, indent=2))
    else:
        print(f"{version}; {opts.files} files; median of {opts.runs} runs each, alternating; load {load:.1f}")
        for row in rows:
            verdict = "PASS" if row["met"] else "FAIL"
            print(
                f"{verdict}  {row['case']:<44} ours {row['ours_s'] * 1000:7.1f} ms  "
                f"rg {row['rg_s'] * 1000:7.1f} ms  {row['ratio']:.2f}x (target <= {row['target']}x); "
                f"CPU {row['ours_cpu_s'] * 1000:.0f}/{row['rg_cpu_s'] * 1000:.0f} ms {row['cpu_ratio']:.2f}x"
            )
    return 0 if all(row["met"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
