"""Time from process start to the tracking comment: `claude-runner github` against a stdlib floor
and against claude-code-action's prepare step, on the same fake GitHub, in one run.

Three commands answer the same pull-request comment ("@claude explain this change") on one loopback
fake GitHub (`runner/testing/fake_github.py`), in turn, `--runs` times each:

- floor: `ack_floor.py`, a standard-library script making the same two requests (the
  requester's permission, the comment) and nothing else, run by the same interpreter as ours (the
  action venv's: a dev venv's `.pth` files would add their start-up to the floor);
- ours: `claude-runner github`, as the action runs it: from a venv installed the way action.yml
  installs it (uv, not editable; built and cached by `action_venv.py` in bench/.action-venv/);
  `--dev-venv` also times the console script of the venv this runs in (an editable install);
- peer: claude-code-action's prepare step (`src/entrypoints/prepare.ts`) run with Bun (the version
  its action.yml pins, from npm) and its dependencies (`bun install --production`, from npm).

Each sample is the time from starting the process to the fake receiving the comment's POST; the
process is stopped there. Targets (issue 17): ours <= 2x the floor, and <= 0.5x the peer.

    python bench/ack_latency.py [--runs 15] [--action-git PATH | --action-src DIR] [--no-peer] [--dev-venv]

The action's source: `--action-src` (a checkout), else `git archive` of `--action-git` (a clone;
$CLAUDE_CODE_ACTION_GIT), else a shallow clone of github.com/anthropics/claude-code-action, into
bench/.peer-action/ (not committed) with Bun and the dependencies.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.action_venv import action_venv  # noqa: E402
from runner.testing.fake_github import FakeGitHub  # noqa: E402
from runner.testing.fake_messages import FakeMessagesAPI, text  # noqa: E402
from tests.ci.github_flow_helpers import OWNER, REPO, ActionsJob, make_job, now_iso  # noqa: E402

PEER_DIR = HERE / ".peer-action"
ACTION_URL = "https://github.com/anthropics/claude-code-action"
TOKEN = "ghs_benchInstallationToken0123456789"  # an installation token, as Actions' GITHUB_TOKEN is
NUMBER = 5
FLOOR_RATIO, PEER_RATIO = 2.0, 0.5


def main() -> None:
    """Measure, print the medians and the two ratios."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--action-src", type=Path, help="a checkout of claude-code-action")
    parser.add_argument("--action-git", type=Path, default=os.environ.get("CLAUDE_CODE_ACTION_GIT"))
    parser.add_argument("--no-peer", action="store_true", help="floor and ours only")
    parser.add_argument(
        "--sdk-path", action="store_true", help="also time ours with CLAUDE_RUNNER_FAST_ACK=0"
    )
    parser.add_argument(
        "--dev-venv", action="store_true", help="also time this venv's console script (editable install)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    peer = None if args.no_peer else install_peer(args.action_src, args.action_git)
    installed = action_venv()
    with tempfile.TemporaryDirectory() as tmp, FakeMessagesAPI() as model:
        root = Path(tmp)
        github = FakeGitHub(
            OWNER, REPO, owner_type="User", default_branch="master", tokens=(TOKEN,), web_url=f"file://{root}"
        )
        with github:
            job = make_job(root, github, model)
            github.add_pull(
                NUMBER, head_ref="fix-calc", base_ref="master", head_sha=job.remote_branches()["fix-calc"]
            )
            model.add_turns([[text("ok")] for _ in range(4 * args.runs)])
            commands = contenders(
                job, github, peer, installed, sdk_path=args.sdk_path, dev_venv=args.dev_venv
            )
            samples: dict[str, list[float]] = {name: [] for name in commands}
            cpu: dict[str, list[float]] = {name: [] for name in commands}
            for i in range(args.runs):
                names = list(commands)
                for name in names[i % len(names) :] + names[: i % len(names)]:  # rotate who goes first
                    wall, used = time_to_comment(github, *commands[name]())
                    samples[name].append(wall)
                    cpu[name].append(used)
    report(samples, cpu, peer, args.json)


def contenders(
    job: ActionsJob,
    github: FakeGitHub,
    peer: dict[str, Any] | None,
    installed: Path,
    *,
    sdk_path: bool,
    dev_venv: bool,
) -> dict[str, Callable[[], tuple[list[str], dict[str, str], Path]]]:
    """Each contender: a function giving the command, its environment and its directory."""
    payload = job.payload("issue_comment")
    payload["issue"]["number"] = NUMBER
    payload["issue"]["pull_request"] = {"url": "x"}
    payload["comment"]["body"] = "@claude explain this change"
    actor = payload["sender"]["login"]
    event_path = job.root / "event.json"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "GITHUB_", "INPUT_"))}

    def fresh_event() -> None:
        payload["comment"]["created_at"] = payload["comment"]["updated_at"] = now_iso()
        event_path.write_text(json.dumps(payload))

    def floor() -> tuple[list[str], dict[str, str], Path]:
        env = {
            **base,
            "GITHUB_API_URL": github.api_url,
            "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
            "GITHUB_TOKEN": TOKEN,
            "ACTOR": actor,
            "NUMBER": str(NUMBER),
        }
        # The interpreter ours runs on (the action's venv): the same start-up (site, .pth files).
        return [str(installed.parent / "python"), str(HERE / "ack_floor.py")], env, job.root

    def ours(fast: bool = True, script: Path = installed) -> tuple[list[str], dict[str, str], Path]:
        fresh_event()
        env = {
            **base,
            "GITHUB_EVENT_NAME": "issue_comment",
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
            "GITHUB_API_URL": github.api_url,
            "GITHUB_SERVER_URL": github.web_url,
            "GITHUB_RUN_ID": "777",
            "GITHUB_WORKSPACE": str(job.workspace),
            "GITHUB_OUTPUT": str(job.root / "github_output"),
            "RUNNER_TEMP": str(job.root / "runner_temp"),
            "ANTHROPIC_BASE_URL": job.model.base_url,
            "ANTHROPIC_API_KEY": "sk-ant-bench",
            "CLAUDE_CONFIG_DIR": str(job.root / "claude-config"),
            "INPUT_GITHUB_TOKEN": TOKEN,
            **({} if fast else {"CLAUDE_RUNNER_FAST_ACK": "0"}),
        }
        return [str(script), "github"], env, job.workspace

    def action() -> tuple[list[str], dict[str, str], Path]:
        assert peer is not None
        fresh_event()
        (job.root / "peer_output").touch()  # Actions creates it; @actions/core appends to it
        src = Path(peer["src"])
        env = {
            **base,
            "GITHUB_EVENT_NAME": "issue_comment",
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
            "GITHUB_API_URL": github.api_url,
            "GITHUB_SERVER_URL": github.web_url,
            "GITHUB_RUN_ID": "777",
            "GITHUB_ACTOR": actor,
            "GITHUB_WORKSPACE": str(job.workspace),
            "GITHUB_OUTPUT": str(job.root / "peer_output"),
            "GITHUB_ACTION_PATH": str(src),
            "RUNNER_TEMP": str(job.root / "peer_temp"),
            "OVERRIDE_GITHUB_TOKEN": TOKEN,
            "DEFAULT_WORKFLOW_TOKEN": TOKEN,
            "TRIGGER_PHRASE": "@claude",
            "LABEL_TRIGGER": "claude",
            "BRANCH_PREFIX": "claude/",
            "USE_STICKY_COMMENT": "false",
            "ANTHROPIC_API_KEY": "sk-ant-bench",
        }
        cmd = [
            peer["bun"],
            "--no-env-file",
            f"--config={src / 'bunfig.toml'}",
            "run",
            str(src / peer["entry"]),
        ]
        return cmd, env, job.workspace

    found: dict[str, Callable[[], tuple[list[str], dict[str, str], Path]]] = {"floor": floor, "ours": ours}
    if sdk_path:
        found["ours (SDK path)"] = lambda: ours(fast=False)
    dev_script = Path(sys.executable).parent / "claude-runner"
    if dev_venv and dev_script.exists():
        found["ours (dev venv)"] = lambda: ours(script=dev_script)
    if peer is not None:
        found["claude-code-action"] = action
    return found


def time_to_comment(
    github: FakeGitHub, cmd: list[str], env: dict[str, str], cwd: Path
) -> tuple[float, float]:
    """Seconds from starting ``cmd`` to the fake receiving its tracking comment (it is stopped then),
    and the CPU seconds it had used when stopped (a few milliseconds later: the poll's interval)."""
    (cwd.parent / "peer_temp").mkdir(exist_ok=True)
    seen = len(github.requests)
    with tempfile.TemporaryFile() as log:
        started = time.time()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        ended: float | None = None  # the CPU seconds of a process that ended before its POST was seen
        try:
            while time.time() < started + 60:
                posts = [
                    r for r in github.requests[seen:]
                    if r.method == "POST" and r.path.endswith(f"/issues/{NUMBER}/comments")
                ]  # fmt: skip
                if posts:
                    if ended is None:
                        os.kill(proc.pid, signal.SIGKILL)  # not Popen.kill: its poll() would reap it
                    return posts[0].timestamp - started, ended if ended is not None else _cpu_of(proc)
                if ended is None:
                    # Reaped here, not by Popen.poll: its CPU time comes with it (the floor ends
                    # right after its comment, sometimes before the fake's record of it is seen).
                    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                    if pid:
                        proc.returncode = os.waitstatus_to_exitcode(status)
                        ended = usage.ru_utime + usage.ru_stime
                elif not any(r.method == "POST" for r in github.requests[seen:]):
                    log.seek(0)
                    output = log.read().decode(errors="replace")
                    raise SystemExit(f"{cmd[0]} ended ({proc.returncode}) without a comment:\n{output}")
                time.sleep(0.002)  # sleeping releases the GIL: the fake's thread answers at once
            raise SystemExit(f"{cmd[0]}: no comment within 60 s")
        finally:
            if proc.returncode is None:
                proc.kill()
                proc.wait()


def _cpu_of(proc: subprocess.Popen[bytes]) -> float:
    """The CPU seconds (user + system) of ``proc`` (and its waited-for children), reaped here."""
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = -9
    return usage.ru_utime + usage.ru_stime


def install_peer(src: Path | None, git_dir: Path | None) -> dict[str, Any]:
    """claude-code-action's source, Bun (the version its action.yml pins, from npm) and its
    dependencies, in bench/.peer-action/."""
    PEER_DIR.mkdir(exist_ok=True)
    if src is None:
        src = PEER_DIR / "action"
        if not (src / "action.yml").exists():
            src.mkdir(exist_ok=True)
            if git_dir is not None:
                archive = subprocess.run(
                    ["git", f"--git-dir={git_dir}", "archive", "HEAD"], check=True, capture_output=True
                )
                subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
                commit = _git(git_dir, "rev-parse", "HEAD")
            else:
                shutil.rmtree(src)
                cloned = subprocess.run(["git", "clone", "-q", "--depth", "1", ACTION_URL, str(src)])
                if cloned.returncode != 0:
                    sys.exit(f"error: cannot clone {ACTION_URL}: pass --action-git PATH or --no-peer")
                commit = _git(src / ".git", "rev-parse", "HEAD")
            (src / ".bench-commit").write_text(commit)
    commit_file = src / ".bench-commit"
    commit = commit_file.read_text().strip() if commit_file.exists() else "unknown"
    pinned = re.search(r"bun-version:\s*([\d.]+)", (src / "action.yml").read_text())
    bun_version = pinned.group(1) if pinned else "latest"
    bun_dir = PEER_DIR / f"bun-{bun_version}"
    bun = bun_dir / "node_modules" / ".bin" / "bun"
    if not bun.exists():
        subprocess.run(["npm", "i", "--silent", "--prefix", str(bun_dir), f"bun@{bun_version}"], check=True)
    if not (src / "node_modules").exists():
        subprocess.run([str(bun), "install", "--production", "--silent"], cwd=src, check=True)
    entry = "src/entrypoints/prepare.ts"
    if not (src / entry).exists():
        raise SystemExit(
            f"{src} has no {entry}: pass a claude-code-action checkout that has its prepare step"
        )
    version = subprocess.run(
        [str(bun), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return {"src": str(src), "bun": str(bun), "bun_version": version, "commit": commit, "entry": entry}


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], capture_output=True, text=True
    ).stdout.strip()


def report(
    samples: dict[str, list[float]], cpu: dict[str, list[float]], peer: dict[str, Any] | None, as_json: bool
) -> None:
    """The medians, the ratios, and what was measured where."""
    medians = {name: statistics.median(values) for name, values in samples.items()}
    ratios = {"ours/floor": medians["ours"] / medians["floor"]}
    if "claude-code-action" in medians:
        ratios["ours/peer"] = medians["ours"] / medians["claude-code-action"]
    met = {
        "ours/floor": ratios["ours/floor"] <= FLOOR_RATIO,
        **({"ours/peer": ratios["ours/peer"] <= PEER_RATIO} if "ours/peer" in ratios else {}),
    }
    facts = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "load": os.getloadavg()[0],
        "python": platform.python_version(),
        **({"bun": peer["bun_version"], "claude-code-action": peer["commit"]} if peer else {}),
    }
    if as_json:
        print(
            json.dumps(
                {"samples": samples, "cpu": cpu, "medians": medians, "ratios": ratios, "met": met, **facts}
            )
        )
        return
    runs = len(next(iter(samples.values())))
    print(f"time to the tracking comment, {runs} runs each: median (min-max) seconds, and CPU seconds used")
    for name, values in samples.items():
        print(
            f"  {name:<20} {medians[name]:.3f} ({min(values):.3f}-{max(values):.3f})"
            f"  cpu {statistics.median(cpu[name]):.3f}"
        )
    limits = {"ours/floor": FLOOR_RATIO, "ours/peer": PEER_RATIO}
    print(
        "  "
        + ", ".join(
            f"{k} = {v:.2f}x (<= {limits[k]}x: {'yes' if met[k] else 'NO'})" for k, v in ratios.items()
        )
    )
    print("  " + "; ".join(f"{k} {v}" for k, v in facts.items()))


if __name__ == "__main__":
    main()
