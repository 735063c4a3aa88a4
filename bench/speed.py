"""Wall-clock targets of a few paths, each once asserted in a test and failed there by busy machines.

- the review's file selection and diff for 5,000 files / 100,000 lines (test_review_selection.py);
- the mention parser on the worst 64 KB bodies (test_triggers.py);
- 100 MB of Bash output streamed through the tool's cap (test_tools_bash.py);
- `claude-runner demo`, each GitHub scenario end to end (test_demo.py);
- `claude-runner explain` on a 60 MB comment (test_explain_more.py: its output is cut; before the
  cut and the bounded mention search it took 16 s and 1.1 GB, and printed 360 MB).

The tests keep what these produce; this times them against the bounds they used to assert.

    python bench/speed.py [--runs 3] [--json]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.agent.tools.base import ToolContext
from runner.agent.tools.bash import Bash
from runner.review.selection import render_diff, select_files
from runner.triggers import find_mention
from tests.review.test_review_selection import five_thousand_changed_files
from tests.test_triggers import ADVERSARIAL_BODIES


def review_selection() -> bool:
    """Select and render 5,000 changed files (100,000 lines) into a 150,000-token budget."""
    files = five_thousand_changed_files()
    selection = select_files(files, budget_tokens=150_000)
    render_diff(selection)
    return len(selection.excluded) == 2_000


def adversarial_mentions() -> bool:
    """Decide the four worst-shaped 64 KB comment bodies (none is a request)."""
    return all(find_mention(body[:65536], "@claude") is None for body in ADVERSARIAL_BODIES)


def bash_output(work: Path) -> Callable[[], bool]:
    """100 MB through the Bash tool, which keeps its head and tail."""

    def run() -> bool:
        ctx = ToolContext(cwd=work, subprocess_env={"PATH": os.environ["PATH"]})
        result = Bash().run({"command": "head -c 100000000 /dev/zero | tr '\\0' a; echo; echo done"}, ctx)
        return isinstance(result.content, str) and result.content.endswith("a\ndone")

    return run


def demo(*args: str) -> Callable[[], bool]:
    """`claude-runner demo` in a subprocess, as a user first runs it."""

    def run() -> bool:
        argv = [sys.executable, "-m", "runner", "demo", *args]
        return subprocess.run(argv, capture_output=True, timeout=120).returncode == 0

    return run


def explain_huge(work: Path) -> Callable[[], bool]:
    """`claude-runner explain` on an issue comment of 60 million characters after the mention."""
    event = work / "huge_event.json"
    payload = json.loads(
        (
            Path(__file__).resolve().parent.parent
            / "tests/fixtures/github/webhooks/issue_comment/created.payload.json"
        ).read_text()
    )
    payload["comment"]["body"] = "@claude fix " + "x" * 60_000_000
    event.write_text(json.dumps(payload))

    def run() -> bool:
        argv = [
            sys.executable,
            "-m",
            "runner",
            "explain",
            "--event-name",
            "issue_comment",
            "--event-path",
            str(event),
        ]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120).stdout
        return len(out) < 5000 and "more characters)" in out

    return run


def main() -> None:
    """Time each path ``--runs`` times; every run must beat its target (as the tests asserted)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="one JSON object per case")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        cases: list[tuple[str, Callable[[], bool], float]] = [
            ("review: select and render 5,000 files", review_selection, 1.5),
            ("triggers: the worst 64 KB bodies", adversarial_mentions, 2.0),
            ("Bash: 100 MB of output", bash_output(Path(tmp)), 10.0),
            ("demo: pr-comment", demo("--json"), 10.0),
            ("demo: issue", demo("--scenario", "issue", "--json"), 10.0),
            ("demo: pr-comment, human output", demo(), 10.0),
            ("explain: a 60 MB comment", explain_huge(Path(tmp)), 5.0),
        ]
        for name, case, target in cases:
            seconds, right = [], True
            for _ in range(args.runs):
                started = time.perf_counter()
                right = case() and right
                seconds.append(time.perf_counter() - started)
            passed = right and max(seconds) < target
            ok = ok and passed
            row = {
                "case": name,
                "median_s": round(statistics.median(seconds), 3),
                "max_s": round(max(seconds), 3),
                "target_s": target,
                "correct": right,
                "pass": passed,
            }
            if args.json:
                print(json.dumps(row))
                continue
            wrong = "" if right else " (wrong result)"
            print(
                f"{name}: median {row['median_s']} s, max {row['max_s']} s, target < {target:g} s every run: "
                f"{'PASS' if passed else 'FAIL'}{wrong}"
            )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
