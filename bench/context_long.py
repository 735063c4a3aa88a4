"""Long sessions: the context stays inside the window, and the runner's CPU per turn stays flat.

Runs, in one go, this tree's engine and a baseline engine (a git worktree of ``--baseline``,
by default the commit before context management) against the loopback fake Messages API in
this process (its billing counts content tokens and prompt-cache reads and writes):

1. ``--turns`` (300) scripted turns, each reading a different ``--lines`` (300) line file, with
   ``--model`` (Opus 4.5, a 200K window; the window is the catalog's for the model, so a 1M-window
   model needs more turns to reach it): the largest request as a share of the window (target:
   no request over 80%), effective input tokens (writes 1.25x, reads 0.1x), runner CPU;
2. the 50-turn session of ``turns50.py``: runner CPU against ``python -c "import anthropic"``
   measured in the same run (target: <= import + 0.2 s);
3. the same mix over ``--flat-turns`` (200) turns: CPU per turn over turns 1-50 and 150-200,
   read from ``/proc/<pid>/stat`` as each request arrives (target: flat).

    python bench/context_long.py [--runs 3] [--baseline REF] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from turns50 import script as mixed_script  # noqa: E402

from runner.providers.catalog import MODELS  # noqa: E402
from runner.testing.fake_messages import FakeMessagesAPI  # noqa: E402
from runner.testing.scripting import text, tool_use  # noqa: E402

# The engine before context management and incremental requests (the branch's base on main).
DEFAULT_BASELINE = "8689246"
TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """A process's CPU seconds so far: its main thread's, to the nanosecond (``schedstat``), and
    its waited-for children's (``stat``, in clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    with open(f"/proc/{pid}/schedstat") as f:
        running_ns = int(f.read().split()[0])
    return running_ns / 1e9 + sum(int(v) for v in fields[13:15]) / TICK


def run_runner(
    engine: Path | None,
    repo: Path,
    fake: FakeMessagesAPI,
    prompt: str,
    extra: list[str],
    pid_box: dict[str, int],
) -> dict[str, Any]:
    """One ``claude-runner run`` against the fake; its CPU (rusage of the child) and result."""
    env = {**os.environ, "ANTHROPIC_BASE_URL": fake.base_url, "ANTHROPIC_API_KEY": "sk-bench-fake"}
    if engine is not None:
        env["PYTHONPATH"] = str(engine)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    argv = [sys.executable, "-m", "runner", "run", "-p", prompt, "--output-format", "json", *extra]
    proc = subprocess.Popen(
        argv, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    pid_box["pid"] = proc.pid
    out, err = proc.communicate()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = out.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {"is_error": True, "errors": [err[-500:]]}
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu_s": cpu, "wall_s": wall, "result": result, "stderr": err}


def prompt_tokens(record: Any) -> int:
    usage = record.usage or {}
    return sum(
        usage.get(k, 0) for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def long_session(engine: Path | None, turns: int, lines: int, model: str) -> dict[str, Any]:
    """``turns`` turns, each reading its own ``lines``-line file."""
    window = next((m.context for m in MODELS if m.id == model), 200_000)
    work = Path(tempfile.mkdtemp(prefix="ctxlong-"))
    try:
        repo = work / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        body = "".join(
            f"    value_{n:04d} = compute(value_{n - 1:04d}, step={n})  # line {n}\n" for n in range(lines)
        )
        for i in range(turns - 1):
            (repo / f"mod{i:03d}.py").write_text(f"def f{i}():\n{body}")
        turn_list = [
            [tool_use("Read", {"file_path": str(repo / f"mod{i:03d}.py")})] for i in range(turns - 1)
        ]
        turn_list.append([text("Read every module.")])
        with FakeMessagesAPI(turn_list) as fake:
            extra = ["--model", model, "--allowedTools", "Read", "--max-turns", str(turns + 5)]
            run = run_runner(engine, repo, fake, "Read every module.", extra, {})
            requests = fake.message_requests
            sizes = [prompt_tokens(r) for r in requests]
            main = [
                prompt_tokens(r) for r in requests if (r.body.get("tool_choice") or {}).get("type") != "none"
            ]
            return {
                "subtype": run["result"].get("subtype"),
                "num_turns": run["result"].get("num_turns"),
                "requests": len(requests),
                "max_request_tokens": max(sizes),
                "max_request_pct_of_window": round(100 * max(sizes) / window, 1),
                "requests_over_80pct": sum(s > 0.8 * window for s in main),
                "effective_input_tokens": round(fake.effective_input_tokens),
                "max_request_bytes": max(r.nbytes for r in requests),
                "cpu_s": round(run["cpu_s"], 3),
                "wall_s": round(run["wall_s"], 2),
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def mixed_session(engine: Path | None, turns: int, marks: tuple[int, ...] = ()) -> dict[str, Any]:
    """The turns50 mix over ``turns`` turns; CPU at the requests numbered in ``marks`` (from 0)."""
    work = Path(tempfile.mkdtemp(prefix="ctxmix-"))
    try:
        repo = work / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        (repo / "calc.py").write_text("def f():\n    v = 0\n    return v\n")
        pid_box: dict[str, int] = {}
        cpu_at: dict[int, float] = {}

        def marked(index: int, content: list[dict[str, object]]) -> Callable[[Any], Any]:
            def reply(request: Any) -> Any:
                if index in marks and "pid" in pid_box:
                    cpu_at[index] = proc_cpu(pid_box["pid"])
                return content

            return reply

        script = mixed_script(repo, turns)
        if marks:  # the per-turn measure: Write overwrites one note, so Glob's and LS's work stays the same
            for content in script:
                for block in content:
                    if block.get("name") == "Write":
                        block["input"] = {**block["input"], "file_path": str(repo / "notes" / "n.txt")}  # type: ignore[dict-item]
        turn_list = [marked(i, content) for i, content in enumerate(script)]
        with FakeMessagesAPI(turn_list) as fake:
            extra = ["--allowedTools", "Read,Edit,Write,Glob,LS", "--max-turns", str(turns + 5)]
            run = run_runner(engine, repo, fake, "Do the steps.", extra, pid_box)
        if run["result"].get("num_turns") != turns or run["result"].get("is_error"):
            sys.exit(f"error: the {turns}-turn session failed: {run['result']}\n{run['stderr'][-2000:]}")
        return {"cpu_s": run["cpu_s"], "wall_s": run["wall_s"], "cpu_at": cpu_at}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def import_anthropic_cpu() -> float:
    """CPU of ``python -c "import anthropic"``, as the runner's interpreter runs it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", "import anthropic"], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def baseline_tree(ref: str) -> Path:
    """A detached worktree of ``ref`` in a temporary directory."""
    path = Path(tempfile.mkdtemp(prefix="ctxbase-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(path), ref], check=True)
    return path


def version(engine: Path | None) -> str:
    cwd = engine or ROOT
    return subprocess.run(
        ["git", "-C", str(cwd), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    ).stdout.strip()[:70]


def main() -> None:
    """Measure both engines and print one JSON object with every number."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of the CPU measurements (medians)")
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--flat-turns", type=int, default=200)
    parser.add_argument("--model", default="claude-opus-4-5")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git ref of the engine to compare with")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    import anthropic

    base = None if args.skip_baseline else baseline_tree(args.baseline)
    engines: dict[str, Path | None] = {"this": None}
    if base is not None:
        engines["baseline"] = base
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "python": platform.python_version(),
        "anthropic": anthropic.__version__,
        "engines": {name: version(path) for name, path in engines.items()},
    }
    try:
        report["long_session"] = {
            name: long_session(path, args.turns, args.lines, args.model) for name, path in engines.items()
        }
        imports = [import_anthropic_cpu() for _ in range(args.runs)]
        report["import_anthropic_cpu_s"] = round(statistics.median(imports), 3)
        for name, path in engines.items():
            fifty = [mixed_session(path, 50)["cpu_s"] for _ in range(args.runs)]
            n = args.flat_turns
            flats = [mixed_session(path, n, (0, 50, n - 51, n - 1)) for _ in range(args.runs)]
            early = statistics.median((f["cpu_at"][50] - f["cpu_at"][0]) / 50 for f in flats)
            late = statistics.median((f["cpu_at"][n - 1] - f["cpu_at"][n - 51]) / 50 for f in flats)
            cpu50 = statistics.median(fifty)
            report[f"cpu_{name}"] = {
                "turns50_cpu_s": round(cpu50, 3),
                "turns50_over_import_s": round(cpu50 - report["import_anthropic_cpu_s"], 3),
                "target_ok": cpu50 <= report["import_anthropic_cpu_s"] + 0.2,
                f"turns{n}_cpu_s": round(statistics.median(f["cpu_s"] for f in flats), 3),
                "ms_per_turn_1_50": round(1000 * early, 2),
                f"ms_per_turn_{n - 50}_{n}": round(1000 * late, 2),
                "late_over_early": round(late / early, 2) if early else None,
            }
    finally:
        if base is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
