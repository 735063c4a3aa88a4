"""The container image, built for real from the Dockerfile, and run.

buildah (vfs storage, chroot isolation: no daemon) builds the Dockerfile on a Debian bookworm base
made with debootstrap (no registry is needed: scripts/container_image.py, which caches the base's
rootfs under ~/.cache/claude-runner-image). In the built image, as its non-root user: the offline
demo plays the whole GitHub flow and the webhook listener answers /healthz on localhost, neither
importing a module of the venv that has no bytecode; git (without Perl) clones, commits, rebases
and pushes over smart HTTP; Bedrock runs sign with STS credentials and with keys against the fake
AWS (botocore's models are pruned); every extension module imports (they are stripped).

It needs root and Debian's buildah and debootstrap (.ci/run installs them); without them it is
skipped, except under CI=true, where it fails. It takes about 2 minutes with the base cached
(131 s at load 4-5; about 1 more to make the base); sizes and timings are bench/image.py's.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.testing.fake_aws import FakeAWS, make_jwt
from runner.testing.fake_messages import FakeMessagesAPI
from runner.testing.otlp_collector import FakeCollector
from runner.testing.scripting import text, tool_use
from tests.packaging import image_checks
from tests.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import container_image as ci

TAG = "localhost/claude-runner:test"
ROLE = "arn:aws:iam::123456789012:role/claude-runner"
AMBIENT_KEY, AMBIENT_SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
READ_THEN_ANSWER = [
    [text("Let me look."), tool_use("Read", {"file_path": "notes.txt"})],
    [text("notes.txt says the answer is 42.")],
]


def _free_port() -> int:
    # buildah's chroot isolation shares this machine's network: the port must be free here.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _in_image(script: str, files: dict[str, str]) -> str:
    """``script`` preceded by writing ``files`` (path: text) inside the container."""
    writes = "".join(f"cat > {path} <<'CHECK_EOF'\n{body}\nCHECK_EOF\n" for path, body in files.items())
    return writes + script


def _uncompiled(out: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.startswith("UNCOMPILED "))
    return list(json.loads(line.removeprefix("UNCOMPILED ")))


def _run_in_image(env: dict[str, str]) -> str:
    """``claude-runner run`` inside, with ``env``, reading notes.txt and answering (as JSON)."""
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    return (
        'set -e; cd "$(mktemp -d)"; echo "the answer is 42" > notes.txt; '
        f"env {assignments} claude-runner run -p 'What does notes.txt say?' --output-format json "
        "--allowedTools Read"
    )


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


def check_demo_and_healthz(buildah: ci.Buildah, tag: str) -> None:
    """The demo and the listener as the image's user, importing nothing of the venv uncompiled."""
    files = {"/tmp/uncompiled.py": image_checks.UNCOMPILED}
    script = (
        "set -e; id -u; command -v claude-runner; command -v rg;"
        " UNCOMPILED_REPORT=/tmp/demo.json python /tmp/uncompiled.py demo;"
        ' echo "UNCOMPILED $(cat /tmp/demo.json)"'
    )
    out = buildah.run(tag, _in_image(script, files), timeout=600)
    lines = out.splitlines()
    assert lines[0] == "10001"
    assert lines[1:3] == ["/opt/claude-runner/bin/claude-runner", "/opt/claude-runner/bin/rg"]
    # the demo's pull request got its fix, as a real run would push it
    assert "+    return a + b" in out
    assert "PR:     https://github.example/Codertocat/Hello-World/pull/1 (#1, " in out
    assert _uncompiled(out) == []

    # The listener, started in the background inside, answers /healthz on localhost.
    files["/tmp/healthz.py"] = image_checks.HEALTHZ
    script = (
        "set -e; UNCOMPILED_REPORT=/tmp/webhook.json"
        f" python /tmp/healthz.py {_free_port()} /tmp/uncompiled.py;"
        ' echo "UNCOMPILED $(cat /tmp/webhook.json)"'
    )
    out = buildah.run(tag, _in_image(script, files), timeout=300)
    assert json.loads(out.splitlines()[-2]) == {"status": 200, "body": {"ok": True}}
    assert _uncompiled(out) == []


def check_git(buildah: ci.Buildah, tag: str, tmp_path: Path) -> None:
    """git without Perl: clone, diff, commit, rebase and push over smart HTTP (git-remote-http)."""
    bare = image_checks.bare_project(tmp_path / "remotes")
    with image_checks.git_http_server(bare.parent) as base_url:
        out = buildah.run(tag, f"export REMOTE={base_url}/project.git\n{image_checks.GIT_OVER_HTTP}")
    assert "calc.py | 2 +-" in out
    assert out.splitlines()[-3:] == ["Fix add", "Docs", "Initial"]
    pushed = subprocess.run(
        ["git", "-C", str(bare), "log", "--format=%s", "fix"], capture_output=True, text=True, check=True
    )
    assert pushed.stdout.splitlines() == ["Fix add", "Docs", "Initial"]
    # Perl (the `perl` package, 47 MB, with git's Perl modules) is not there, only Debian's
    # essential perl-base; dpkg does not claim git (`apt-get install git` installs the package over
    # its files); the package database is consistent.
    script = (
        "for pkg in perl git; do dpkg-query -W -f='${db:Status-Abbrev}' $pkg 2>/dev/null | grep -q '^ii'"
        ' && echo "$pkg is installed"; done; ls -d /usr/share/perl/* /usr/share/perl5/Git* 2>/dev/null;'
        " dpkg --audit && apt-get check -qq && echo consistent"
    )
    assert buildah.run(tag, script, user="0:0").split() == ["consistent"]


def check_bedrock(buildah: ci.Buildah, tag: str) -> None:
    """Bedrock with botocore's models pruned: STS web identity, then boto3's default chain (keys in
    the environment); SigV4 and the event stream each time. The fake checks every signature."""
    now = int(time.time())
    claims = {
        "iss": "https://gitlab.com",
        "aud": "sts.amazonaws.com",
        "sub": "project_path:mygroup/myproject:ref_type:branch:ref:main",
        "iat": now,
        "exp": now + 3600,
    }
    with FakeAWS(
        role_arn=ROLE,
        trusted_subs=["project_path:mygroup/myproject:*"],
        issuers=["https://gitlab.com"],
        static_keys={AMBIENT_KEY: AMBIENT_SECRET},
    ) as aws:
        common = {
            "CLAUDE_RUNNER_PROVIDER": "bedrock",
            "AWS_REGION": "us-east-1",
            "ANTHROPIC_BEDROCK_BASE_URL": aws.url,
            "ANTHROPIC_MODEL": "us.anthropic.claude-sonnet-4-6",
        }
        role = {
            **common,
            "AWS_ROLE_TO_ASSUME": ROLE,
            "AWS_ENDPOINT_URL_STS": aws.url,
            "GITLAB_CI": "true",
            "CLAUDE_OIDC_TOKEN": make_jwt(claims),
        }
        keys = {**common, "AWS_ACCESS_KEY_ID": AMBIENT_KEY, "AWS_SECRET_ACCESS_KEY": AMBIENT_SECRET}
        for env in (role, keys):
            aws.add_turns(READ_THEN_ANSWER)
            out = buildah.run(tag, _run_in_image(env), timeout=300)
            assert json.loads(out.splitlines()[-1])["result"] == "notes.txt says the answer is 42."
        assert len(aws.sts_requests) == 1
        assert len(aws.runtime_requests) == 4
        assert all(request.signature_valid for request in aws.runtime_requests)
        assert aws.runtime_requests[-1].access_key_id == AMBIENT_KEY


def check_telemetry(buildah: ci.Buildah, tag: str) -> None:
    """OTLP over HTTP reaches a collector; gRPC, whose exporter the image leaves out, is one line."""
    with FakeMessagesAPI() as fake, FakeCollector() as collector:
        env = {
            "ANTHROPIC_BASE_URL": fake.base_url,
            "ANTHROPIC_API_KEY": "sk-ant-test-key-0123456789",
            "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.base_url,
        }
        fake.add_turns(READ_THEN_ANSWER)
        out = buildah.run(tag, _run_in_image(env), timeout=300)
        assert json.loads(out.splitlines()[-1])["result"] == "notes.txt says the answer is 42."
        assert "claude_code.interaction" in {span.name for span in collector.spans}
        assert collector.metric("claude_code.session.count")

        fake.add_turns(READ_THEN_ANSWER)
        grpc = {**env, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
        out = buildah.run(tag, _run_in_image(grpc) + " 2>&1", timeout=300)
        warnings = [line for line in out.splitlines() if "telemetry" in line]
        assert len(warnings) == 1 and "claude-runner[telemetry-grpc]" in warnings[0], out
        assert json.loads(out.splitlines()[-1])["result"] == "notes.txt says the answer is 42."


# One test for the build and every check on it: split, pytest-xdist could build it on each worker.
@pytest.mark.timeout(1500)
def test_the_built_image_runs_the_demo_and_answers_healthz(buildah: ci.Buildah, tmp_path: Path) -> None:
    ci.build_offline(buildah, TAG)
    check_demo_and_healthz(buildah, TAG)
    check_git(buildah, TAG, tmp_path)
    check_bedrock(buildah, TAG)
    check_telemetry(buildah, TAG)
    # Every extension module imports after strip.
    assert buildah.run(TAG, f"python -c '{image_checks.EXTENSIONS}'").strip() == ""

    # Stage 1's build context, git's staging, pip and binutils stayed behind; apt left no lists.
    leftovers = (
        "for p in /src /git-root /opt/claude-runner/bin/pip /usr/bin/strip /root/.cache/pip; do"
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
