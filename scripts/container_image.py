"""Build the runner's container image without a daemon or a registry, and run commands in it.

The Dockerfile is built with Debian's ``buildah`` (``--storage-driver vfs --isolation chroot``: no
daemon, no cgroups, no OCI runtime). Where the Dockerfile's public base image cannot be pulled, its
base is made here: ``debootstrap --variant=minbase`` of Debian bookworm with the distribution's Python
3.11 and ca-certificates, slimmed the way Debian's official slim images are (no apt lists, no
downloaded .debs, no docs, man pages or translations, and a dpkg config that keeps them out of later
installs), packed as ``rootfs.tar`` and imported as ``FROM scratch`` + ``ADD rootfs.tar /``. The
rootfs is cached under ``~/.cache/claude-runner-image/base-<hash of its inputs>/``.

Used by ``bench/image.py`` (sizes and timings) and ``tests/packaging/test_image_build.py``; also a
command:

    python scripts/container_image.py build [--tag claude-runner:local] [--base-image IMAGE]
    python scripts/container_image.py run --tag claude-runner:local -- claude-runner demo
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "claude-runner-image"
SUITE = "bookworm"
# What the image needs from the base; the Dockerfile's build stage adds git and python3-venv itself
# (a base with git would carry Perl into the image: git's Debian package depends on it).
INCLUDE = ("python3", "ca-certificates")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# Removed from the debootstrapped tree (what the official slim images leave out too).
SLIM_REMOVE = (
    "var/cache/apt/archives/*.deb",
    "var/cache/apt/*.bin",
    "var/lib/apt/lists/*",
    "usr/share/doc/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/locale/*",
    "var/log/*.log",
    "var/log/apt/*",
)
# Debian's official images carry the same two files: later apt-get installs add no docs and keep no .debs.
DPKG_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
"""
_APT_RM = (
    "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"
)
APT_CLEAN = f"""\
DPkg::Post-Invoke {{ "{_APT_RM}"; }};
APT::Update::Post-Invoke {{ "{_APT_RM}"; }};
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""


def _blob(layout: Path, digest: str) -> Path:
    algorithm, _, value = digest.partition(":")
    return layout / "blobs" / algorithm / value


class ImageError(RuntimeError):
    """A step of the build failed; the message says which, with the tail of its output."""


def _run(
    argv: Sequence[str], *, timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    try:
        proc = subprocess.run(
            list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ImageError(f"timed out after {timeout:.0f} s: {' '.join(argv)}") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise ImageError(f"exit {proc.returncode}: {' '.join(argv)}\n{tail}")
    return proc.stdout


def missing_tools() -> list[str]:
    """The Debian packages this module needs that are not installed (by their commands)."""
    return [
        pkg for cmd, pkg in (("buildah", "buildah"), ("debootstrap", "debootstrap")) if not shutil.which(cmd)
    ]


def apt_mirror(sources: Sequence[Path] | None = None) -> str:
    """The Debian mirror apt on this machine uses (deb822 or one-line sources), else deb.debian.org."""
    if sources is None:
        sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for match in re.finditer(r"^\s*(?:URIs:|deb\s+(?:\[[^\]]*\]\s+)?)\s*(\S+)", text, re.MULTILINE):
            uri = match.group(1).rstrip("/")
            if uri.startswith(("http://", "https://")) and not uri.endswith("-security"):
                return uri
    return DEFAULT_MIRROR


def base_key(mirror: str) -> str:
    """A hash of everything the base's rootfs is made from: a change to any of it makes a new base."""
    inputs = {
        "suite": SUITE,
        "variant": "minbase",
        "include": INCLUDE,
        "mirror": mirror,
        "remove": SLIM_REMOVE,
        "dpkg": DPKG_EXCLUDES,
        "apt": APT_CLEAN,
        "arch": os.uname().machine,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def _slim(root: Path) -> None:
    for pattern in SLIM_REMOVE:
        for path in root.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    (root / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/dpkg/dpkg.cfg.d/excludes").write_text(DPKG_EXCLUDES)
    (root / "etc/apt/apt.conf.d/docker-clean").write_text(APT_CLEAN)


def base_rootfs_tar(cache: Path = CACHE, *, log: bool = True) -> Path:
    """The base's rootfs.tar, made with debootstrap on the first call and cached by its inputs' hash."""
    mirror = apt_mirror()
    home = cache / f"base-{base_key(mirror)}"
    tar = home / "rootfs.tar"
    if tar.exists():
        return tar
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=home) as tmp:
        root = Path(tmp) / "rootfs"
        if log:
            print(f"debootstrap {SUITE} from {mirror} into {home} (about a minute) ...", file=sys.stderr)
        argv = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(INCLUDE)}",
            SUITE,
            str(root),
            mirror,
        ]
        _run(argv, timeout=900)
        _slim(root)
        partial = Path(tmp) / "rootfs.tar"
        _run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."], timeout=300)
        partial.replace(tar)  # atomic: a half-written tar is never taken for the cached one
    return tar


@dataclass(frozen=True)
class Buildah:
    """buildah with its own vfs store under ``store`` (no daemon, no cgroups: chroot isolation)."""

    store: Path

    def argv(self, *args: str) -> list[str]:
        return [
            "buildah",
            "--root",
            str(self.store / "root"),
            "--runroot",
            str(self.store / "run"),
            "--storage-driver",
            "vfs",
            *args,
        ]

    def __call__(self, *args: str, timeout: float = 900) -> str:
        return _run(self.argv(*args), timeout=timeout)

    def bud(self, context: Path, tag: str, *, dockerfile: Path, build_args: dict[str, str]) -> float:
        """``buildah bud`` (never pulling a local base); returns the seconds it took."""
        extra = [arg for name, value in build_args.items() for arg in ("--build-arg", f"{name}={value}")]
        extra += _host_ca_mounts(self.store)
        start = time.monotonic()
        pull = "never" if build_args.get("BASE_IMAGE", "").startswith("localhost/") else "missing"
        self(
            "bud",
            "--isolation",
            "chroot",
            f"--pull={pull}",
            "--layers=false",
            *extra,
            "-f",
            str(dockerfile),
            "-t",
            tag,
            str(context),
            timeout=1800,
        )
        return time.monotonic() - start

    def image_sizes(self, tag: str, work: Path) -> tuple[int, int]:
        """The image's size in bytes: its layers as plain tars (the size ``docker images`` shows), and
        gzipped (what a registry stores and a pull downloads); measured by pushing it to an OCI layout.
        """
        layout = work / "oci-size"
        shutil.rmtree(layout, ignore_errors=True)
        self("push", "--quiet", "--compression-format", "gzip", tag, f"oci:{layout}", timeout=900)
        manifest = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
        layers = json.loads(_blob(layout, manifest).read_text())["layers"]
        packed = plain = 0
        for layer in layers:
            blob = _blob(layout, layer["digest"])
            packed += blob.stat().st_size
            with blob.open("rb") as raw:
                stream = gzip.GzipFile(fileobj=raw) if "gzip" in layer["mediaType"] else raw
                while chunk := stream.read(1 << 20):
                    plain += len(chunk)
        shutil.rmtree(layout, ignore_errors=True)
        return plain, packed

    def run(self, tag: str, script: str, *, timeout: float = 300, user: str | None = None) -> str:
        """``sh -c script`` in a new container of ``tag`` (its user, workdir and env); returns stdout."""
        container = self("from", "--pull=never", "--quiet", tag, timeout=300).strip()
        try:
            args = ["run", "--isolation", "chroot"]
            if user:
                args += ["--user", user]
            return self(*args, container, "--", "sh", "-c", script, timeout=timeout)
        finally:
            subprocess.run(self.argv("rm", container), capture_output=True, check=False, timeout=120)


def _host_ca_mounts(store: Path) -> list[str]:
    """``--volume`` flags that let pip in the build trust the CA bundle pip trusts here.

    Behind a TLS-inspecting proxy (PIP_CERT or SSL_CERT_FILE names a bundle with its CA), pip in a
    RUN step would reject the proxy's certificate. The bundle and a pip.conf naming it are mounted
    read-only for the RUN steps only: the Dockerfile stays as it is, and no CA goes into the image.
    """
    bundle = next(
        (
            Path(v)
            for v in (os.environ.get("PIP_CERT"), os.environ.get("SSL_CERT_FILE"))
            if v and Path(v).is_file()
        ),
        None,
    )
    if bundle is None:
        return []
    conf = store / "host-pip.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text("[global]\ncert = /etc/host-ca-bundle.crt\n")
    return [
        "--volume",
        f"{bundle.resolve()}:/etc/host-ca-bundle.crt:ro",
        "--volume",
        f"{conf}:/etc/pip.conf:ro",
    ]


def remove_store(store: Path) -> None:
    """Delete a vfs store (a full copy of the tree per layer: gigabytes); ``rm -rf`` is much faster
    than Python's rmtree here."""
    subprocess.run(["rm", "-rf", "--one-file-system", str(store)], check=False, timeout=1800)


def import_base(buildah: Buildah, tar: Path, tag: str) -> float:
    """``FROM scratch`` + ``ADD rootfs.tar /``, tagged ``tag``; returns the seconds it took."""
    with tempfile.TemporaryDirectory(prefix="base-context-") as tmp:
        context = Path(tmp)
        try:
            os.link(tar, context / "rootfs.tar")  # no copy of ~200 MB when on the same filesystem
        except OSError:
            shutil.copy(tar, context / "rootfs.tar")
        (context / "Containerfile").write_text('FROM scratch\nADD rootfs.tar /\nCMD ["bash"]\n')
        return buildah.bud(context, tag, dockerfile=context / "Containerfile", build_args={})


def build_runner_image(buildah: Buildah, tag: str, base_image: str, context: Path = REPO) -> float:
    """The repository's Dockerfile built on ``base_image``; returns the seconds it took."""
    return buildah.bud(context, tag, dockerfile=context / "Dockerfile", build_args={"BASE_IMAGE": base_image})


def base_tag(tar: Path) -> str:
    """The tag the debootstrap base is imported under: its inputs' hash, so a new base is a new tag."""
    return f"localhost/claude-runner-base:{SUITE}-{tar.parent.name.removeprefix('base-')}"


def build_offline(buildah: Buildah, tag: str, *, cache: Path = CACHE) -> dict[str, float]:
    """The debootstrap base (cached) imported as ``localhost/claude-runner-base``, then the image on it."""
    start = time.monotonic()
    tar = base_rootfs_tar(cache)
    rootfs_s = time.monotonic() - start
    import_s = import_base(buildah, tar, base_tag(tar))
    build_s = build_runner_image(buildah, tag, base_tag(tar))
    return {"rootfs_seconds": rootfs_s, "import_seconds": import_s, "build_seconds": build_s}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, default=CACHE / "storage", help="buildah's vfs store")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the image (on the debootstrap base unless --base-image)")
    build.add_argument("--tag", default="localhost/claude-runner:local")
    build.add_argument("--base-image", help="a base to pull instead, e.g. python:3.12-slim")
    run = sub.add_parser("run", help="run a shell command in a new container of the image")
    run.add_argument("--tag", default="localhost/claude-runner:local")
    run.add_argument("script", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if missing := missing_tools():
        print(f"error: missing {', '.join(missing)}: apt-get install {' '.join(missing)}", file=sys.stderr)
        return 1
    buildah = Buildah(args.store)
    try:
        if args.command == "build":
            if args.base_image:
                seconds = {"build_seconds": build_runner_image(buildah, args.tag, args.base_image)}
            else:
                seconds = build_offline(buildah, args.tag)
            print(json.dumps({k: round(v, 1) for k, v in seconds.items()}))
        else:
            script = " ".join(a for a in args.script if a != "--") or "claude-runner --version"
            sys.stdout.write(buildah.run(args.tag, script))
    except ImageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
