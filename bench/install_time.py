"""How long the GitHub action's install step takes in a fresh venv, cold and with a warm pip cache.

Runs the commands of the ``install`` step of ``action.yml``: ``python -I -m venv`` and then
``PIP_CONFIG_FILE=/dev/null <venv>/bin/python -I -m pip install --disable-pip-version-check
--no-input <action dir>``, from a directory outside the repository, twice:

- cold: a fresh venv and an empty, fresh ``PIP_CACHE_DIR`` (every wheel is downloaded);
- warm: another fresh venv reusing the cache the cold run filled (what a job pays when the
  Actions cache misses but pip's cache is warm, e.g. on a persistent self-hosted runner).

The action directory is a clean copy of the repository (no ``.git``, ``build/``, caches), like
the checkout GitHub makes of an action, so the build does not write into the working tree.

    python bench/install_time.py                  # results in bench/results/install_time.json
    python bench/install_time.py --extras bedrock # as the action installs it with use_bedrock
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "install_time.json"
PIP_FLAGS = ["--disable-pip-version-check", "--no-input"]  # the same flags as action.yml
SKIP = {".git", ".venv", ".cache", "build", "dist", "node_modules", "results", ".peer"}
SKIP_SUFFIXES = (".egg-info", "_cache", "__pycache__", ".pyc")


class BenchError(RuntimeError):
    pass


def _ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n in SKIP or n.endswith(SKIP_SUFFIXES)}


def _run(argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float) -> float:
    """Run ``argv``; returns the seconds it took. A failure raises with the output's tail."""
    start = time.monotonic()
    try:
        proc = subprocess.run(
            argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"timed out after {timeout:.0f}s: {' '.join(argv)}") from exc
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise BenchError(f"exit {proc.returncode}: {' '.join(argv)}\n{tail}")
    for line in proc.stderr.splitlines():
        if line.startswith("WARNING"):
            print(f"    pip: {line}", file=sys.stderr)
    return elapsed


def _size_mb(path: Path) -> float:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            file = Path(root, name)
            if not file.is_symlink():
                total += file.stat().st_size
    return total / 1e6


def cache_entry(venv: Path, work: Path) -> dict:
    """The venv as actions/cache stores it (tar + zstd, else gzip): size, and the time to unpack it.

    On a cache hit this, plus the download, is all the install costs.
    """
    if shutil.which("zstd"):
        tool, pack, unpack = "zstd", "zstd -T0 --long=30", "zstd -d --long=30"
    else:
        tool, pack, unpack = "gzip", "gzip", "gzip -d"
    archive = work / f"cache.tar.{tool}"
    env = dict(os.environ)
    pack_s = _run(
        ["tar", "--use-compress-program", pack, "-cf", str(archive), "-C", str(venv.parent), venv.name],
        env=env,
        cwd=work,
        timeout=300,
    )
    dest = work / "restored"
    dest.mkdir()
    unpack_s = _run(
        ["tar", "--use-compress-program", unpack, "-xf", str(archive), "-C", str(dest)],
        env=env,
        cwd=work,
        timeout=300,
    )
    return {
        "compression": tool,
        "size_mb": round(archive.stat().st_size / 1e6, 1),
        "pack_seconds": round(pack_s, 2),
        "unpack_seconds": round(unpack_s, 2),
    }


def install_once(python: str, spec: str, cache: Path, work: Path, label: str, timeout: float) -> dict:
    """A fresh venv plus the action's pip install into it, timed."""
    venv = work / f"venv-{label}"
    cwd = work / "cwd"  # an empty directory outside the repository, as the action uses
    cwd.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_NO_CACHE_DIR", "VIRTUAL_ENV")}
    env.update(PIP_CACHE_DIR=str(cache), PIP_CONFIG_FILE=os.devnull)
    venv_s = _run([python, "-I", "-m", "venv", str(venv)], env=env, cwd=cwd, timeout=120)
    vpy = str(venv / "bin" / "python")
    pip_s = _run([vpy, "-I", "-m", "pip", "install", *PIP_FLAGS, spec], env=env, cwd=cwd, timeout=timeout)
    pip_version = subprocess.run(
        [vpy, "-I", "-m", "pip", "--version"], capture_output=True, text=True, check=False, timeout=60
    ).stdout.split()[1:2]
    if not (venv / "bin" / "claude-runner").exists():
        raise BenchError(f"{label}: the venv has no bin/claude-runner after the install")
    return {
        "venv_seconds": round(venv_s, 2),
        "pip_seconds": round(pip_s, 2),
        "total_seconds": round(venv_s + pip_s, 2),
        "venv_size_mb": round(_size_mb(venv), 1),
        "pip_version": pip_version[0] if pip_version else "?",
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--python", default=sys.executable, help="the interpreter the venv is made from")
    parser.add_argument("--extras", default="", help="extras, as the action adds them: bedrock, vertex")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per pip install")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="claude-runner-install-") as tmp:
        work = Path(tmp)
        action = work / "action"
        shutil.copytree(REPO, action, ignore=_ignore, symlinks=True)
        spec = f"{action}[{args.extras}]" if args.extras else str(action)
        cache = work / "pip-cache"
        cache.mkdir()
        results: dict[str, dict] = {}
        try:
            for label in ("cold", "warm"):
                print(f"{label}: fresh venv, pip install {spec} ...", flush=True)
                r = results[label] = install_once(args.python, spec, cache, work, label, args.timeout)
                print(
                    f"  {label}: {r['total_seconds']:.1f} s (venv {r['venv_seconds']:.1f} s, "
                    f"pip {r['pip_seconds']:.1f} s), venv {r['venv_size_mb']:.0f} MB",
                    flush=True,
                )
            entry = cache_entry(work / "venv-warm", work)
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        cache_mb = _size_mb(cache)

    base = subprocess.run(
        [args.python, "-I", "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": base,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "extras": args.extras,
        "pip_flags": PIP_FLAGS,
        "cold": results["cold"],
        "warm": results["warm"],
        "pip_cache_mb": round(cache_mb, 1),
        "actions_cache_entry": entry,
        "warm_over_cold": round(results["warm"]["total_seconds"] / results["cold"]["total_seconds"], 2),
    }
    if cache_mb < 1:
        # pip's HTTP cache only keeps responses that say they may be cached (PyPI's do); an index
        # or proxy that sends no Cache-Control leaves the cache empty, and "warm" is cold again.
        report["note"] = (
            "the pip cache stayed empty: the index's responses carry no caching headers, so the "
            "warm run downloaded everything again"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        f"cold {report['cold']['total_seconds']:.1f} s, warm {report['warm']['total_seconds']:.1f} s "
        f"({report['warm_over_cold']:.2f}x), venv {report['warm']['venv_size_mb']:.0f} MB, "
        f"pip cache {report['pip_cache_mb']:.0f} MB"
    )
    print(
        f"actions/cache entry: {entry['size_mb']:.0f} MB ({entry['compression']}), "
        f"unpacked in {entry['unpack_seconds']:.1f} s"
    )
    if "note" in report:
        print(f"note: {report['note']}")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
