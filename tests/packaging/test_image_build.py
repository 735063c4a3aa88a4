"""The container image, built for real from the Dockerfile, and run.

buildah (vfs storage, chroot isolation: no daemon) builds the Dockerfile on a Debian bookworm base
made with debootstrap (no registry is needed: scripts/container_image.py, which caches the base's
rootfs under ~/.cache/claude-runner-image). In the built image, as its non-root user, the offline
demo plays the whole GitHub flow and the webhook listener answers /healthz on localhost.

It needs root and Debian's buildah and debootstrap (.ci/run installs them); without them it is
skipped, except under CI=true, where it fails. It takes about 1.5 minutes with the base cached
(about 1 more to make the base); sizes and timings are bench/image.py's.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import container_image as ci

TAG = "localhost/claude-runner:test"

# Run inside the image with the venv's Python: starts the listener, asks /healthz on localhost until
# it answers, prints the answer as JSON, stops the listener.
HEALTHZ = r"""
import json, os, subprocess, sys, time, urllib.request
port = sys.argv[1]
env = dict(os.environ, GITLAB_WEBHOOK_SECRET="image-test", GITLAB_ACCESS_TOKEN="unused")
server = subprocess.Popen(["claude-runner", "webhook", "--host", "127.0.0.1", "--port", port], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
deadline = time.monotonic() + 90
try:
    while True:
        if server.poll() is not None:
            sys.exit("webhook exited " + str(server.returncode) + ": " + server.stderr.read()[-2000:])
        try:
            with urllib.request.urlopen("http://127.0.0.1:" + port + "/healthz", timeout=5) as answer:
                print(json.dumps({"status": answer.status, "body": json.loads(answer.read())}))
                break
        except OSError:
            if time.monotonic() > deadline:
                sys.exit("no answer from /healthz in 90 s")
            time.sleep(0.05)
finally:
    server.terminate()
    server.wait(timeout=30)
"""


def _free_port() -> int:
    # buildah's chroot isolation shares this machine's network: the port must be free here.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def buildah(tmp_path: Path) -> Iterator[ci.Buildah]:
    why = ", ".join(f"{pkg} is not installed" for pkg in ci.missing_tools())
    if not why and os.geteuid() != 0:
        why = "debootstrap and buildah's chroot isolation need root"
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the image build test needs root, buildah and debootstrap under CI: {why}")
        pytest.skip(why)
    store = tmp_path / "buildah"
    try:
        yield ci.Buildah(store)
    finally:
        # vfs keeps a full copy of the tree per layer (~2 GB in all): never leave it behind
        ci.remove_store(store)


# One test for the build and every check on it: split, pytest-xdist could build it on each worker.
@pytest.mark.timeout(1500)
def test_the_built_image_runs_the_demo_and_answers_healthz(buildah: ci.Buildah) -> None:
    ci.build_offline(buildah, TAG)

    # The offline demo, as the image's non-root user, with the venv's tools on PATH.
    out = buildah.run(
        TAG, "set -e; id -u; command -v claude-runner; command -v rg; claude-runner demo", timeout=600
    )
    lines = out.splitlines()
    assert lines[0] == "10001"
    assert lines[1:3] == ["/opt/claude-runner/bin/claude-runner", "/opt/claude-runner/bin/rg"]
    # the demo's pull request got its fix, as a real run would push it
    assert "+    return a + b" in out
    assert "PR:     #1" in out

    # The listener, started in the background inside, answers /healthz on localhost.
    port = _free_port()
    out = buildah.run(TAG, f"/opt/claude-runner/bin/python -c '{HEALTHZ}' {port}", timeout=300)
    assert json.loads(out.splitlines()[-1]) == {"status": 200, "body": {"ok": True}}

    # Stage 1's build context, pip and binutils stayed behind; apt left no lists.
    leftovers = (
        "for p in /src /opt/claude-runner/bin/pip /usr/bin/strip /root/.cache/pip; do"
        ' [ -e "$p" ] && echo "present: $p"; done;'
        ' ls /var/lib/apt/lists | grep -v "^partial$\\|^lock$" | sed "s/^/list: /"; true'
    )
    assert buildah.run(TAG, leftovers, user="0:0").strip() == ""


def test_the_base_key_follows_its_inputs() -> None:
    """A change to the mirror (or any input) names another cached base; the same inputs the same one."""
    assert ci.base_key("http://deb.debian.org/debian") == ci.base_key("http://deb.debian.org/debian")
    assert ci.base_key("http://deb.debian.org/debian") != ci.base_key("http://mirror.example/debian")


def test_the_base_comes_from_the_mirror_apt_uses(tmp_path: Path) -> None:
    deb822 = tmp_path / "debian.sources"
    deb822.write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n"
    )
    one_line = tmp_path / "sources.list"
    one_line.write_text("# comment\ndeb [arch=amd64] https://other.example/debian bookworm main\n")
    assert ci.apt_mirror([deb822]) == "http://mirror.example/debian"
    assert ci.apt_mirror([one_line]) == "https://other.example/debian"
    assert ci.apt_mirror([tmp_path / "missing"]) == ci.DEFAULT_MIRROR
