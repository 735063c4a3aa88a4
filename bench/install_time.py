"""How long the GitHub action's install step takes in a fresh venv, cold and with warm caches.

Runs the commands of the ``install`` step of ``action.yml``, from a directory outside the
repository, with each installer:

- uv (what the action does): ``python -I scripts/fetch_uv.py`` (the pinned uv wheel from the
  index with the standard library, hash-checked, its binary unpacked), ``uv venv`` and
  ``uv pip install --no-config --compile-bytecode --no-deps -r scripts/requirements/base.txt
  [-r <extra>.txt ...] <action dir>`` (the lock); the step's fallback for fetching uv,
  ``python -I -m pip download ... -r scripts/uv-requirements.txt``, is timed beside it;
- pip (the action's fallback when uv cannot be had): ``python -I -m venv`` and
  ``PIP_CONFIG_FILE=/dev/null <venv>/bin/python -I -m pip install --disable-pip-version-check
  --no-input <action dir>``;

each twice:

- cold: a fresh venv and empty, fresh ``PIP_CACHE_DIR`` and ``UV_CACHE_DIR`` (every wheel,
  uv's included, is downloaded): a GitHub-hosted runner's first job;
- warm: another fresh venv reusing the caches the cold run filled (the Actions cache missed but
  the installer's cache is warm, e.g. a persistent self-hosted runner).

Then the Actions cache hit: the venv packed as actions/cache packs it, and the time to unpack it.

The action directory is a clean copy of the repository (no ``.git``, ``build/``, caches), like
the checkout GitHub makes of an action, so the build does not write into the working tree.

    python bench/install_time.py                  # results in bench/results/install_time.json
    python bench/install_time.py --extras bedrock # as the action installs it with use_bedrock
    python bench/install_time.py --installer uv   # only the uv path (the pip path takes ~30 s)
    python bench/install_time.py --installer uv --runs 5  # five cold and warm installs (default 3)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "install_time.json"
PIP_FLAGS = ["--disable-pip-version-check", "--no-input"]  # the same flags as action.yml
UV_REQUIREMENTS = REPO / "scripts" / "uv-requirements.txt"
UV_DOWNLOAD_FLAGS = ["--quiet", "--no-deps", "--only-binary=:all:", "--require-hashes"]  # as action.yml
# as action.yml: every dependency from a wheel, only the runner itself built
UV_INSTALL_FLAGS = [
    "--no-config",
    "--only-binary",
    ":all:",
    "--no-binary",
    "claude-runner",
    "--compile-bytecode",
    "--no-deps",
]
TARGET_SECONDS = 5.0
# What a clean copy of the repository leaves out (as GitHub checks an action out): the benches'
# own caches (.peer-action, .action-venv) included.
SKIP = {".git", ".venv", ".cache", "build", "dist", "node_modules", "results", ".peer", ".peer-action"}
SKIP |= {".action-venv"}
SKIP_SUFFIXES = (".egg-info", "_cache", "__pycache__", ".pyc")


class BenchError(RuntimeError):
    pass


def clean_copy_ignore(_dir: str, names: list[str]) -> set[str]:
    """``shutil.copytree``'s ``ignore`` for a clean copy of the repository."""
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


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far: steadier than wall time
    on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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


def install_uv_once(
    python: str,
    spec: str,
    caches: Path,
    work: Path,
    label: str,
    timeout: float,
    *,
    compile_bytecode: bool = True,
) -> dict:
    """The action's uv path, timed step by step: fetch uv, make the venv, install the lock."""
    venv = work / f"venv-{label}"
    cwd = work / "cwd"
    cwd.mkdir(exist_ok=True)
    uv_dir = work / f"uv-{label}"
    uv_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_NO_CACHE_DIR", "VIRTUAL_ENV", "UV_NO_CACHE")}
    env.update(PIP_CACHE_DIR=str(caches / "pip"), UV_CACHE_DIR=str(caches / "uv"), PIP_CONFIG_FILE=os.devnull)
    action = Path(spec.split("[")[0])
    extras = spec.partition("[")[2].rstrip("]")
    fetch_uv = str(action / "scripts" / "fetch_uv.py")
    cpu_start = _children_cpu()
    fetch_s = _run([python, "-I", fetch_uv, str(uv_dir)], env=env, cwd=cwd, timeout=timeout)
    # the step's fallback, for comparison: pip download of the same pinned wheel, then unpack it
    pip_cpu_start = _children_cpu()
    pip_dir = work / f"uv-pip-{label}"
    pip_dir.mkdir()
    req = str(action / "scripts" / "uv-requirements.txt")
    pip_fetch_s = _run(
        [
            python,
            "-I",
            "-m",
            "pip",
            "download",
            *PIP_FLAGS,
            *UV_DOWNLOAD_FLAGS,
            "-r",
            req,
            "-d",
            str(pip_dir),
        ],
        env=env,
        cwd=cwd,
        timeout=timeout,
    )
    pip_fetch_s += _run([python, "-I", fetch_uv, "--unpack", str(pip_dir)], env=env, cwd=cwd, timeout=60)
    shutil.rmtree(pip_dir)
    pip_cpu = _children_cpu() - pip_cpu_start
    lock = ["-r", str(action / "scripts" / "requirements" / "base.txt")]
    for extra in filter(None, extras.split(",")):
        lock += ["-r", str(action / "scripts" / "requirements" / f"{extra}.txt")]
    uv = str(uv_dir / "uv")
    venv_s = _run(
        [uv, "venv", "--no-config", "--quiet", "--python", python, str(venv)], env=env, cwd=cwd, timeout=120
    )
    flags = (
        UV_INSTALL_FLAGS if compile_bytecode else [f for f in UV_INSTALL_FLAGS if f != "--compile-bytecode"]
    )
    install_s = _run(
        [uv, "pip", "install", *flags, "--python", str(venv / "bin" / "python"), *lock, str(action)],
        env=env,
        cwd=cwd,
        timeout=timeout,
    )
    cpu = _children_cpu() - cpu_start - pip_cpu
    if not (venv / "bin" / "claude-runner").exists():
        raise BenchError(f"{label}: the venv has no bin/claude-runner after the install")
    version = subprocess.run([uv, "--version"], capture_output=True, text=True, check=False).stdout.split()
    total = fetch_s + venv_s + install_s
    return {
        "fetch_uv_seconds": round(fetch_s, 2),
        "fetch_uv_with_pip_seconds": round(pip_fetch_s, 2),
        "venv_seconds": round(venv_s, 2),
        "install_seconds": round(install_s, 2),
        "total_seconds": round(total, 2),
        "cpu_seconds": round(cpu, 2),
        "fetch_uv_with_pip_cpu_seconds": round(pip_cpu, 2),
        "met_target": total <= TARGET_SECONDS,
        "compile_bytecode": compile_bytecode,
        "venv_size_mb": round(_size_mb(venv), 1),
        "uv_version": version[1] if len(version) > 1 else "?",
    }


def first_start(venv: Path, work: Path) -> float:
    """Seconds of the venv's first ``claude-runner demo`` (bytecode compiled then, if not at install)."""
    cwd = work / "cwd"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return _run([str(venv / "bin" / "claude-runner"), "demo"], env=env, cwd=cwd, timeout=300)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--python", default=sys.executable, help="the interpreter the venv is made from")
    parser.add_argument("--extras", default="", help="extras, as the action adds them: bedrock, vertex")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per pip install")
    parser.add_argument("--installer", choices=("uv", "pip", "both"), default="both")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--runs", type=int, default=3, help="uv cold and warm installs, each (median kept)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="claude-runner-install-") as tmp:
        work = Path(tmp)
        action = work / "action"
        shutil.copytree(REPO, action, ignore=clean_copy_ignore, symlinks=True)
        spec = f"{action}[{args.extras}]" if args.extras else str(action)
        cache = work / "pip-cache"
        cache.mkdir()
        results: dict[str, dict] = {}
        try:
            if args.installer in ("uv", "both"):
                runs: dict[str, list[dict]] = {"cold": [], "warm": []}
                for i in range(args.runs):
                    caches = work / f"uv-caches-{i}"  # empty: the cold run downloads uv and every wheel
                    for label in ("cold", "warm"):
                        print(
                            f"uv {label} #{i + 1}: fetch uv, uv venv, uv pip install {spec} ...", flush=True
                        )
                        r = install_uv_once(args.python, spec, caches, work, f"uv-{label}-{i}", args.timeout)
                        r["venv"] = f"venv-uv-{label}-{i}"
                        runs[label].append(r)
                        steps = ", ".join(
                            f"{name} {r[key]:.1f}"
                            for name, key in (
                                ("fetch uv", "fetch_uv_seconds"),
                                ("venv", "venv_seconds"),
                                ("install", "install_seconds"),
                            )
                        )
                        print(
                            f"  uv {label}: {r['total_seconds']:.1f} s, CPU {r['cpu_seconds']:.1f} s "
                            f"({steps}; "
                            f"fetching uv with pip instead: {r['fetch_uv_with_pip_seconds']:.1f})",
                            flush=True,
                        )
                for label, done in runs.items():
                    # the run with the median total, and every run's total
                    median = sorted(done, key=lambda r: r["total_seconds"])[len(done) // 2]
                    results[f"uv_{label}"] = {**median, "all_totals": [r["total_seconds"] for r in done]}
                print("uv cold without --compile-bytecode, then the first start of each ...", flush=True)
                r = results["uv_cold_no_bytecode"] = install_uv_once(
                    args.python,
                    spec,
                    work / "uv-caches-2",
                    work,
                    "uv-nopyc",
                    args.timeout,
                    compile_bytecode=False,
                )
                r["first_demo_seconds"] = round(first_start(work / "venv-uv-nopyc", work), 2)
                cold_venv = work / results["uv_cold"]["venv"]
                results["uv_cold"]["first_demo_seconds"] = round(first_start(cold_venv, work), 2)
                with_pyc = results["uv_cold"]["first_demo_seconds"]
                print(
                    f"  no bytecode: install {r['total_seconds']:.1f} s, first demo "
                    f"{r['first_demo_seconds']:.1f} s; with it: first demo {with_pyc:.1f} s",
                    flush=True,
                )
            if args.installer in ("pip", "both"):
                for label in ("cold", "warm"):
                    print(f"pip {label}: fresh venv, pip install {spec} ...", flush=True)
                    r = results[label] = install_once(args.python, spec, cache, work, label, args.timeout)
                    print(
                        f"  pip {label}: {r['total_seconds']:.1f} s (venv {r['venv_seconds']:.1f} s, "
                        f"pip {r['pip_seconds']:.1f} s), venv {r['venv_size_mb']:.0f} MB",
                        flush=True,
                    )
            cached = results["uv_cold"]["venv"] if "uv_cold" in results else "venv-warm"
            entry = cache_entry(work / cached, work)
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
    report: dict = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": base,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "extras": args.extras,
        "pip_flags": PIP_FLAGS,
        "target_seconds": TARGET_SECONDS,
        **results,
        "actions_cache_entry": entry,
    }
    if "cold" in results:
        report["pip_cache_mb"] = round(cache_mb, 1)
        report["warm_over_cold"] = round(
            results["warm"]["total_seconds"] / results["cold"]["total_seconds"], 2
        )
        if cache_mb < 1:
            # pip's HTTP cache only keeps responses that say they may be cached (PyPI's do); an index
            # or proxy that sends no Cache-Control leaves the cache empty, and "warm" is cold again.
            report["note"] = (
                "the pip cache stayed empty: the index's responses carry no caching headers, so the "
                "warm run downloaded everything again"
            )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for label in ("uv_cold", "uv_warm", "cold", "warm"):
        if label in results:
            r = results[label]
            verdict = "PASS" if r["total_seconds"] <= TARGET_SECONDS else "FAIL"
            name = label if label.startswith("uv") else f"pip_{label}"
            total, size = r["total_seconds"], r["venv_size_mb"]
            runs = f" (runs: {', '.join(f'{t:.1f}' for t in r['all_totals'])})" if "all_totals" in r else ""
            print(f"{name}: {total:.1f} s ({verdict} <= {TARGET_SECONDS:.0f} s), venv {size:.0f} MB{runs}")
    print(
        f"actions/cache hit: {entry['size_mb']:.0f} MB ({entry['compression']}), "
        f"unpacked in {entry['unpack_seconds']:.1f} s (plus the download)"
    )
    if "note" in report:
        print(f"note: {report['note']}")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
