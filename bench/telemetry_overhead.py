"""What telemetry costs a `claude-runner run`, against the same run without it.

1. The run (read a file, answer) with telemetry off, with traces and metrics to a collector on
   loopback, and with a collector that is down (OTEL_EXPORTER_OTLP_TIMEOUT=1000): median wall
   seconds of each, alternated.
2. The SDK's import in a fresh interpreter (what a run pays when telemetry is on).

    python bench/telemetry_overhead.py [--runs 5]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.testing.fake_messages import FakeMessagesAPI, text, tool_use
from runner.testing.otlp_collector import FakeCollector
from tests.conftest import base_env


def one_run(mode: str, work: Path) -> float:
    repo = work / "repo"
    repo.mkdir(parents=True)
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    with FakeMessagesAPI() as fake, FakeCollector() as collector:
        fake.add_turns([[tool_use("Read", {"file_path": str(repo / "calc.py")})], [text("It subtracts.")]])
        env = base_env(fake)
        if mode != "off":
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
            env.update(
                CLAUDE_CODE_ENABLE_TELEMETRY="1",
                OTEL_TRACES_EXPORTER="otlp",
                OTEL_METRICS_EXPORTER="otlp",
                OTEL_EXPORTER_OTLP_ENDPOINT=collector.base_url if mode == "collector" else dead,
                OTEL_EXPORTER_OTLP_TIMEOUT="1000",
            )
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "runner", "run", "-p", "what does add do", "--allowedTools", "Read"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        seconds = time.monotonic() - started
        if done.returncode != 0:
            raise SystemExit(f"{mode}: exit {done.returncode}: {done.stderr}")
        if mode == "collector" and not collector.spans:
            raise SystemExit("the collector received nothing")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    times: dict[str, list[float]] = {"off": [], "collector": [], "dead collector": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            for mode in times:
                times[mode].append(
                    one_run("dead" if mode == "dead collector" else mode, Path(tmp) / f"{mode}{i}")
                )
    off = statistics.median(times["off"])
    for mode, values in times.items():
        median = statistics.median(values)
        print(f"run, telemetry {mode}: {median:.2f} s median of {runs} (+{median - off:.2f} s)")
    imports = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import runner.telemetry.otel"], check=True)
        imported = time.monotonic() - started
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import runner.telemetry"], check=True)
        imports.append(imported - (time.monotonic() - started))
    print(f"the SDK's import: {statistics.median(imports):.2f} s median")


if __name__ == "__main__":
    main()
