"""The container image, built for real: its size, what fills it, and its start-up against a venv's.

One command (as root, with Debian's buildah and debootstrap; no daemon, no registry):

    python bench/image.py                 # results in bench/results/image.json
    python bench/image.py --runs 5        # demo runs per side (default 3)
    python bench/image.py --against b8f5a7a   # also another commit's image: sizes, start-up alternately

1. Builds the Dockerfile with buildah (vfs storage, chroot isolation) on a Debian bookworm base made
   with debootstrap (scripts/container_image.py; the rootfs is cached under
   ~/.cache/claude-runner-image, so only the first run pays the ~1 min debootstrap).
2. Sizes: the image and its base uncompressed (as ``docker images`` shows them) and compressed (gzip
   layers, what a registry stores and a pull downloads), and what fills the image (``du`` inside).
3. Start-up: ``claude-runner demo``'s wall time inside the image (``buildah run``, timed inside, so the
   container's own set-up is not counted), and the time from starting ``claude-runner webhook`` inside
   to its first ``/healthz`` answer on localhost; then the same two in a plain venv made here
   (``python -m venv`` + ``pip install .[extras]``: bytecode for every file, nothing slimmed), with
   this machine's Python.

Target (issue 17, item 6): the image <= 200 MB.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import container_image as ci  # noqa: E402

RESULTS = REPO / "bench" / "results" / "image.json"
TARGET_MB = 200
TAG = "localhost/claude-runner:bench"
TAG_AGAINST = "localhost/claude-runner:bench-against"

# Run with the interpreter of the image's (or the venv's) runner: times `claude-runner demo` N times
# and the webhook's start to its first /healthz answer; prints one JSON line.
TIMER = r"""
import json, os, resource, subprocess, sys, time, urllib.request
runs, port, exe = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
demo, demo_cpu = [], []
for _ in range(runs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run([exe, "demo"], capture_output=True, text=True)
    demo.append(time.monotonic() - start)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    demo_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    if done.returncode != 0:
        sys.exit("demo failed: " + (done.stdout + done.stderr)[-2000:])
env = dict(os.environ, GITLAB_WEBHOOK_SECRET="image-bench", GITLAB_ACCESS_TOKEN="unused")
start = time.monotonic()
server = subprocess.Popen([exe, "webhook", "--host", "127.0.0.1", "--port", str(port)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
try:
    while True:
        if server.poll() is not None:
            sys.exit("webhook exited: " + server.stderr.read()[-2000:])
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                healthz = {"status": answer.status, "body": json.loads(answer.read())}
                break
        except OSError:
            if time.monotonic() - start > 60:
                sys.exit("no /healthz answer in 60 s")
            time.sleep(0.02)
    healthz["seconds"] = time.monotonic() - start
finally:
    server.terminate()
    server.wait(timeout=20)
print(json.dumps({"demo_seconds": demo, "demo_cpu_seconds": demo_cpu, "healthz": healthz}))
"""

# What fills the image, measured inside it (sizes in KB).
DU = r"""
cd /opt/claude-runner
du -sk /opt/claude-runner | awk '{print "venv", $1}'
find /opt/claude-runner -name __pycache__ -type d -prune -print0 | xargs -0 du -sck | tail -1 \
  | awk '{print "venv_pycache", $1}'
du -sk /opt/claude-runner/bin/rg | awk '{print "venv_rg", $1}'
cd /opt/claude-runner/lib/python3*/site-packages && du -sk * | sort -rn | head -8 \
  | awk '{print "pkg:" $2, $1}'
find /opt/claude-runner -name '*.pyc' | wc -l | awk '{print "venv_pyc_files", $1 * 1000}'
for d in botocore/data; do [ -e "$d" ] && du -sk "$d" | awk '{print "pkg:" $2, $1}'; done
for d in /usr/lib/x86_64-linux-gnu/perl /usr/share/perl /usr/lib/git-core /usr/bin/git \
    /usr/share/locale /usr/lib/python3.11 /usr/local/lib/python3.12; do
  [ -e "$d" ] && du -sk "$d" | awk '{print "path:" $2, $1}'
done
true
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _parse_du(text: str) -> dict[str, float]:
    """``name kilobytes`` lines to {name: MB}."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        name, _, kb = line.rpartition(" ")
        if name and kb.isdigit():
            out[name] = round(int(kb) / 1000, 1)
    return out


def _venv_side(runs: int, python: str, work: Path) -> dict[str, object]:
    """A venv made as the Dockerfile's stage 1 makes it, then the timer in it."""
    venv = work / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    spec = f"{REPO}[bedrock,vertex,webhook,webhook-postgres]"
    env = dict(os.environ)
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    installed = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", spec],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=work,
        env=env,
        check=False,
    )
    if installed.returncode != 0:
        raise ci.ImageError(f"pip install {spec} failed: {installed.stderr[-2000:]}")
    done = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            TIMER,
            str(runs),
            str(_free_port()),
            str(venv / "bin" / "claude-runner"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=work,
        check=False,
    )
    if done.returncode != 0:
        raise ci.ImageError(f"venv timer failed: {done.stdout}{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    result["python"] = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return result


def _time_image(buildah: ci.Buildah, tag: str, runs: int) -> dict[str, Any]:
    script = f"/opt/claude-runner/bin/python -c '{TIMER}' {runs} {_free_port()} claude-runner"
    result: dict[str, Any] = json.loads(buildah.run(tag, script, timeout=1800).splitlines()[-1])
    return result


def _against(buildah: ci.Buildah, ref: str, runs: int, work: Path) -> dict[str, Any]:
    """The image of another commit (its own Dockerfile and base), built beside this one; then the
    demo and /healthz in each, alternately, twice: a before/after read in one run."""
    context = work / "against"
    context.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(context)], input=archive.stdout, check=True)
    spec = importlib.util.spec_from_file_location("ci_against", context / "scripts" / "container_image.py")
    assert spec and spec.loader
    theirs = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = theirs  # its dataclasses look their module up
    spec.loader.exec_module(theirs)
    print(f"building {ref}'s image to compare ...", flush=True)
    theirs.build_offline(theirs.Buildah(buildah.store), TAG_AGAINST)
    plain, packed = buildah.image_sizes(TAG_AGAINST, work)
    sides: dict[str, dict[str, list[float]]] = {"this": {}, ref: {}}
    for _ in range(2):
        for name, tag in ((ref, TAG_AGAINST), ("this", TAG)):
            timed = _time_image(buildah, tag, runs)
            side = sides[name]
            for key, values in (
                ("demo_seconds", timed["demo_seconds"]),
                ("demo_cpu_seconds", timed["demo_cpu_seconds"]),
                ("healthz_seconds", [timed["healthz"]["seconds"]]),
            ):
                side.setdefault(key, []).extend(round(v, 2) for v in values)
    medians = {
        name: {key: round(statistics.median(values), 2) for key, values in side.items()}
        for name, side in sides.items()
    }
    return {
        "ref": ref,
        "mb": round(plain / 1e6, 1),
        "compressed_mb": round(packed / 1e6, 1),
        "runs": sides,
        "medians": medians,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="demo runs on each side")
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the venv side")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--against", metavar="REF", help="also build REF's image (a commit) and time both alternately"
    )
    args = parser.parse_args()
    if missing := ci.missing_tools():
        print(f"error: missing {', '.join(missing)}: apt-get install {' '.join(missing)}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="claude-runner-image-bench-") as tmp:
        work = Path(tmp)
        buildah = ci.Buildah(work / "store")
        try:
            print("building the image (debootstrap base, then the Dockerfile) ...", flush=True)
            seconds = ci.build_offline(buildah, TAG)
            base = ci.base_tag(ci.base_rootfs_tar())
            image_plain, image_packed = buildah.image_sizes(TAG, work)
            base_plain, base_packed = buildah.image_sizes(base, work)
            sizes = {
                "image_mb": round(image_plain / 1e6, 1),
                "image_compressed_mb": round(image_packed / 1e6, 1),
                "base_mb": round(base_plain / 1e6, 1),
                "base_compressed_mb": round(base_packed / 1e6, 1),
            }
            print(f"  built in {sum(seconds.values()):.0f} s; {sizes}", flush=True)
            fill = _parse_du(buildah.run(TAG, DU, timeout=300))
            print("timing the demo and /healthz inside the image ...", flush=True)
            image = _time_image(buildah, TAG, args.runs)
            image["user"] = buildah.run(TAG, "id -u").strip()
            image["python"] = buildah.run(
                TAG, "python3 -c 'import sys; print(sys.version.split()[0])'"
            ).strip()
            print("timing the same in a venv ...", flush=True)
            venv = _venv_side(args.runs, args.python, work)
            against = _against(buildah, args.against, args.runs, work) if args.against else None
        except (ci.ImageError, subprocess.CalledProcessError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            ci.remove_store(work / "store")
    image_demo = statistics.median(image["demo_seconds"])
    venv_demo = statistics.median(venv["demo_seconds"])  # type: ignore[arg-type]
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "buildah": subprocess.run(["buildah", "--version"], capture_output=True, text=True).stdout.strip(),
        "build_seconds": {k: round(v, 1) for k, v in seconds.items()},
        "sizes": sizes,
        "target_mb": TARGET_MB,
        "met_uncompressed": sizes["image_mb"] <= TARGET_MB,
        "met_compressed": sizes["image_compressed_mb"] <= TARGET_MB,
        "fill_mb": fill,
        "image": image,
        "venv": venv,
        "demo_median_seconds": {"image": round(image_demo, 2), "venv": round(venv_demo, 2)},
        "demo_image_over_venv": round(image_demo / venv_demo, 2),
        "against": against,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    plain, packed = ("PASS" if report[k] else "FAIL" for k in ("met_uncompressed", "met_compressed"))
    print(
        f"image {sizes['image_mb']:.0f} MB uncompressed ({plain} <= {TARGET_MB} MB), "
        f"{sizes['image_compressed_mb']:.0f} MB compressed ({packed}); base {sizes['base_mb']:.0f} MB"
    )
    print(f"what fills it (MB): {json.dumps(fill)}")
    ratio = report["demo_image_over_venv"]
    healthz = (image["healthz"]["seconds"], venv["healthz"]["seconds"])  # type: ignore[index]
    print(f"demo median: image {image_demo:.2f} s, venv {venv_demo:.2f} s ({ratio:.2f}x)")
    print(f"/healthz answered after: image {healthz[0]:.2f} s, venv {healthz[1]:.2f} s")
    if against:
        ours, theirs = against["medians"]["this"], against["medians"][against["ref"]]
        print(
            f"against {against['ref']} ({against['mb']:.0f} MB, {against['compressed_mb']:.0f} compressed), "
            f"alternately: demo CPU {ours['demo_cpu_seconds']:.2f} s "
            f"against {theirs['demo_cpu_seconds']:.2f} s, "
            f"wall {ours['demo_seconds']:.2f} s against {theirs['demo_seconds']:.2f} s; /healthz "
            f"{ours['healthz_seconds']:.2f} s against {theirs['healthz_seconds']:.2f} s"
        )
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
