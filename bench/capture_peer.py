"""Capture the requests a peer CLI sends on the shared scripted task, bodies included.

``../shared/bench/fake_messages.py`` logs sizes and token estimates only. This copies it and
``peer_task.sh`` into a temporary directory, makes the copy keep each request's body, runs the
task with ``claude`` (Claude Code, from bench/.peer like ``peer.py``) or ``runner``, and writes
the requests as JSON lines: what the model was told, to read side by side with ours.

    python bench/capture_peer.py claude OUT.jsonl [--peer-task PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from peer import claude_bin, find_peer_task, runner_bin  # type: ignore[import-not-found]

KEEP_BODY = '        entry["body"] = req\n        with lock, open(LOG, "a") as f:'


def main() -> None:
    """Run the task once with the peer and save the request bodies."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("which", choices=("claude", "runner"))
    parser.add_argument("out", type=Path)
    parser.add_argument("--peer-task")
    args = parser.parse_args()
    task = find_peer_task(args.peer_task)
    with tempfile.TemporaryDirectory() as tmp:
        here = Path(tmp)
        fake = (task.parent / "fake_messages.py").read_text()
        marker = '        with lock, open(LOG, "a") as f:'
        if marker not in fake:
            raise SystemExit("fake_messages.py changed: cannot add body logging")
        (here / "fake_messages.py").write_text(fake.replace(marker, KEEP_BODY, 1))
        script = task.read_text().replace("kill $FAKE", 'kill $FAKE; cp "$W/log.jsonl" "$KEEP_LOG"')
        (here / "peer_task.sh").write_text(script)
        env = {
            **os.environ,
            "CLAUDE_BIN": claude_bin(None),
            "RUNNER_BIN": runner_bin(),
            "KEEP_LOG": str(args.out.resolve()),
            "PORT": "18299",
        }
        out = subprocess.run(["bash", str(here / "peer_task.sh"), args.which], env=env, text=True)
        shutil.rmtree(here, ignore_errors=True)
        raise SystemExit(out.returncode)


if __name__ == "__main__":
    main()
