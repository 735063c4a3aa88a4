"""Fetch the pinned uv wheel with the standard library alone, check its hash, unpack its binary.

Used by the action's install step (action.yml), run with ``python -I``:

    fetch_uv.py DIR           the wheel of scripts/uv-requirements.txt's version for this machine,
                              from the job's package index, as DIR/uv
    fetch_uv.py --unpack DIR  DIR/uv from the one uv wheel already in DIR (the step's fallback:
                              `pip download` of the same requirements file)

The index is the job's: UV_DEFAULT_INDEX, else UV_INDEX_URL, else PIP_INDEX_URL, else PyPI (the order
the step gives uv itself), read through its simple API (PEP 691 JSON or PEP 503 HTML). Proxies come
from https_proxy/http_proxy/no_proxy (or PIP_PROXY), certificates from PIP_CERT or the system's
(SSL_CERT_FILE). The wheel is refused unless its sha256 is one of the requirements file's, and the
binary must then answer ``uv --version`` with the pinned version. Any failure exits 1 with one line
on stderr, and the step falls back to ``pip download`` (which also reads extra indexes, find-links
and netrc); a job that says no index (PIP_NO_INDEX, UV_NO_INDEX, UV_OFFLINE) goes there directly.
It saves pip's start-up: ~0.3 s against ~1.5 s (bench/README.md).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import os
import platform
import re
import ssl
import stat
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from html.parser import HTMLParser
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent / "uv-requirements.txt"
PYPI = "https://pypi.org/simple"
ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
TIMEOUT_SECONDS = 15
# manylinux's legacy names and the glibc each stands for (PEP 600)
LEGACY_MANYLINUX = {"manylinux2014": (2, 17), "manylinux2010": (2, 12), "manylinux1": (2, 5)}


class FetchError(Exception):
    """A reason the fast path cannot be used; the step then uses pip."""


def pinned(requirements: Path) -> tuple[str, set[str]]:
    """The uv version and the sha256 hashes that scripts/uv-requirements.txt allows."""
    text = re.sub(r"\\\n", " ", requirements.read_text(encoding="utf-8"))
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) != 1 or not (match := re.match(r"\s*uv==(\S+)\s", lines[0] + " ")):
        raise FetchError(f"{requirements.name} must pin exactly one uv==VERSION")
    hashes = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", lines[0]))
    if not hashes:
        raise FetchError(f"{requirements.name} has no sha256 hashes")
    return match.group(1), hashes


def index_url(env: dict[str, str]) -> str:
    """The job's index: uv's settings first, then pip's, as the step passes them to uv."""
    for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        if env.get(name, "").strip():
            return env[name].strip()
    return PYPI


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def redact(url: str) -> str:
    """The URL without its user:password, for messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def platform_rank(tag: str, machine: str, system: str, version: tuple[int, int]) -> tuple[int, int] | None:
    """How well a wheel's platform tag fits this machine (higher is closer), or None if it does not.

    ``version`` is glibc's on Linux, the macOS release on macOS. musl, Windows and the rest are left
    to pip (None).
    """
    if system == "Linux":
        legacy = re.fullmatch(r"(manylinux2014|manylinux2010|manylinux1)_(\w+)", tag)
        if legacy:
            needs, arch = LEGACY_MANYLINUX[legacy.group(1)], legacy.group(2)
        elif m := re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", tag):
            needs, arch = (int(m.group(1)), int(m.group(2))), m.group(3)
        else:
            return None
        return needs if arch == machine and needs <= version else None
    if system == "Darwin" and (m := re.fullmatch(r"macosx_(\d+)_(\d+)_(\w+)", tag)):
        needs = (int(m.group(1)), int(m.group(2)))
        archs = {"arm64": ("arm64", "universal2"), "x86_64": ("x86_64", "intel", "universal2")}
        return needs if m.group(3) in archs.get(machine, ()) and needs <= version else None
    return None


def this_machine() -> tuple[str, str, tuple[int, int]]:
    """(machine, system, glibc or macOS version) of the running interpreter."""
    system, machine = platform.system(), platform.machine().lower()
    if system == "Linux":
        machine = {"arm64": "aarch64", "amd64": "x86_64"}.get(machine, machine)
        if machine == "x86_64" and sys.maxsize <= 2**32:
            machine = "i686"  # a 32-bit Python on a 64-bit kernel
        libc = os.confstr("CS_GNU_LIBC_VERSION") if "CS_GNU_LIBC_VERSION" in os.confstr_names else None
        m = re.fullmatch(r"glibc (\d+)\.(\d+).*", libc or "")
        if not m:
            raise FetchError("not a glibc Linux (musl?): left to pip")
        return machine, system, (int(m.group(1)), int(m.group(2)))
    if system == "Darwin":
        release = [int(p) for p in (platform.mac_ver()[0] or "0").split(".")[:2]] + [0]
        return machine, system, (release[0], release[1])
    raise FetchError(f"no fast path on {system}: left to pip")


class _Links(HTMLParser):
    """The anchors of a PEP 503 page: (href, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def project_files(
    body: bytes, content_type: str, page_url: str, prefix: str = ""
) -> list[tuple[str, str, str | None]]:
    """(filename, absolute URL, sha256 or None) of the files named ``prefix...`` on a simple-API page."""
    kind = content_type.split(";")[0].strip().lower()
    files: list[tuple[str, str, str | None]] = []
    if kind == "application/vnd.pypi.simple.v1+json":
        page = json.loads(body)
        if not str(page.get("meta", {}).get("api-version", "1.0")).startswith("1."):
            raise FetchError("the index speaks an unknown simple-API version")
        for entry in page.get("files", []):
            if not entry["filename"].startswith(prefix):
                continue  # PyPI's page lists every release: ~2,000 files
            url = urllib.parse.urljoin(page_url, entry["url"])
            files.append((entry["filename"], url, (entry.get("hashes") or {}).get("sha256")))
        return files
    if kind in ("text/html", "application/vnd.pypi.simple.v1+html"):
        parser = _Links()
        parser.feed(body.decode("utf-8", "replace"))
        for href, text in parser.links:
            url, _, fragment = urllib.parse.urljoin(page_url, href).partition("#")
            name = text or urllib.parse.unquote(url.rsplit("/", 1)[-1])
            if not name.startswith(prefix):
                continue
            digest = fragment[len("sha256=") :] if fragment.startswith("sha256=") else None
            files.append((name, url, digest))
        return files
    raise FetchError(f"the index answered {kind or 'no content type'}, not a simple-API page")


def choose_wheel(
    files: list[tuple[str, str, str | None]], version: str, machine: tuple[str, str, tuple[int, int]]
) -> tuple[str, str, str | None]:
    """The uv wheel of ``version`` whose platform tags fit this machine best."""
    best: tuple[tuple[int, int], tuple[str, str, str | None]] | None = None
    for file in files:
        parts = file[0].removesuffix(".whl").split("-")
        if not file[0].endswith(".whl") or len(parts) != 5 or parts[:2] != ["uv", version]:
            continue
        ranks = [r for tag in parts[4].split(".") if (r := platform_rank(tag, *machine)) is not None]
        if ranks and (best is None or max(ranks) > best[0]):
            best = (max(ranks), file)
    if best is None:
        raise FetchError(f"the index has no uv {version} wheel for {machine[1]} {machine[0]}")
    return best[1]


class _Fetcher:
    """GETs with the job's proxies and certificates; the index's credentials go to its host only."""

    def __init__(self, index: str, env: dict[str, str]) -> None:
        parts = urllib.parse.urlsplit(index)
        self.index_host = parts.netloc.rpartition("@")[2]
        self.auth: str | None = None
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            secret = urllib.parse.unquote(parts.password or "")
            self.auth = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
        self.index = urllib.parse.urlunsplit(parts._replace(netloc=self.index_host))
        context = ssl.create_default_context(cafile=env.get("PIP_CERT") or None)
        proxy = env.get("PIP_PROXY", "").strip()
        proxies = {"http": proxy, "https": proxy} if proxy else None  # None: the *_proxy variables
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler(proxies), urllib.request.HTTPSHandler(context=context)
        )

    def get(self, url: str, accept: str = "*/*") -> tuple[bytes, str, str]:
        """(body, content type, final URL) of a GET."""
        request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "claude-runner"})
        if self.auth and urllib.parse.urlsplit(url).netloc == self.index_host:
            # unredirected: a redirect to another host does not carry the index's credentials
            request.add_unredirected_header("Authorization", self.auth)
        try:
            with self.opener.open(request, timeout=TIMEOUT_SECONDS) as response:
                return response.read(), response.headers.get("Content-Type", ""), response.geturl()
        except urllib.error.HTTPError as exc:
            raise FetchError(f"GET {redact(url)}: HTTP {exc.code} {exc.reason}") from None
        except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError, timeouts, TLS
            reason = getattr(exc, "reason", None) or exc
            raise FetchError(f"GET {redact(url)}: {reason}") from None


def fetch(directory: Path, env: dict[str, str], requirements: Path = REQUIREMENTS) -> Path:
    """DIR/uv, the pinned uv's binary for this machine, fetched from the job's index and checked."""
    for name in ("PIP_NO_INDEX", "UV_NO_INDEX", "UV_OFFLINE"):
        if _truthy(env.get(name, "")):
            raise FetchError(f"{name} is set: left to pip")
    version, hashes = pinned(requirements)
    machine = this_machine()
    fetcher = _Fetcher(index_url(env), env)
    page_url = fetcher.index.rstrip("/") + "/uv/"
    body, content_type, final_url = fetcher.get(page_url, ACCEPT)
    name, url, listed = choose_wheel(
        project_files(body, content_type, final_url, f"uv-{version}-"), version, machine
    )
    if listed is not None and listed.lower() not in hashes:
        raise FetchError(f"the index lists {name} with a sha256 that {requirements.name} does not pin")
    wheel, _, _ = fetcher.get(url)
    digest = hashlib.sha256(wheel).hexdigest()
    if digest not in hashes:
        raise FetchError(f"{name} has sha256 {digest}, not one that {requirements.name} pins: refused")
    target = _binary_out_of(io.BytesIO(wheel), name, directory)
    try:
        answer = subprocess.run([str(target), "--version"], capture_output=True, text=True, timeout=30)
    except OSError as exc:
        target.unlink()
        raise FetchError(f"the uv binary of {name} does not run here: {exc}") from None
    if not answer.stdout.startswith(f"uv {version}"):
        target.unlink()
        raise FetchError(f"the uv binary of {name} does not run here: {answer.stderr.strip()[:200]}")
    return target


def _binary_out_of(wheel: io.BytesIO | Path, name: str, directory: Path) -> Path:
    """DIR/uv from the wheel's ``uv-<version>.data/scripts/uv``, made executable."""
    target = directory / "uv"
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = [n for n in archive.namelist() if n.endswith(".data/scripts/uv")]
            if len(members) != 1:
                raise FetchError(f"no uv binary in {name}")
            target.write_bytes(archive.read(members[0]))
    except zipfile.BadZipFile:
        raise FetchError(f"{name} is not a zip archive") from None
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return target


def unpack(directory: Path) -> Path:
    """DIR/uv from the one uv wheel that `pip download` left in DIR (the wheel is then removed)."""
    wheels = sorted(directory.glob("uv-*.whl"))
    if len(wheels) != 1:
        raise FetchError(f"expected one uv wheel in {directory}, found {len(wheels)}")
    target = _binary_out_of(wheels[0], wheels[0].name, directory)
    wheels[0].unlink()
    return target


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--unpack":
        action, directory = unpack, Path(argv[1])
    elif len(argv) == 1 and not argv[0].startswith("-"):
        directory = Path(argv[0])

        def action(d: Path) -> Path:
            return fetch(d, dict(os.environ))
    else:
        print("usage: fetch_uv.py [--unpack] DIR", file=sys.stderr)
        return 2
    try:
        action(directory)
    except FetchError as exc:
        print(f"fetch_uv: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # whatever it is, the step falls back to pip
        print(f"fetch_uv: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
