"""`claude-runner run` end to end with the OS sandbox: a tool running as root attacks the runner,
the shell that started it and the network; and the same run without bubblewrap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runner.testing.fake_messages import FakeMessagesAPI, text, tool_use
from tests.conftest import base_env

SANDBOX_ON = json.dumps({"sandbox": {"enabled": True}})
PARENT_SECRET = "parent-kT9xQ2mZ7pL4vR8sW3nY6bHc"  # held by the shell that starts the runner

# The attack a prompt injection would run: every environment and the runner's memory it can reach.
ATTACK = r"""
import os, re
found = set()
pattern = re.compile(rb"sk-ant-[A-Za-z0-9_-]{8,}|parent-[A-Za-z0-9]{20,}")
runner, parent = (open(name).read().strip() for name in ("runner.pid", "parent.pid"))
pids = {runner, parent, str(os.getppid())} | {p for p in os.listdir("/proc") if p.isdigit()}
for pid in pids:
    try:
        found.update(pattern.findall(open(f"/proc/{pid}/environ", "rb").read()))
    except OSError as exc:
        print(f"environ {pid}: {exc.strerror}")
try:
    with open(f"/proc/{runner}/maps") as maps, open(f"/proc/{runner}/mem", "rb", 0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if perms.startswith("rw"):
                start, end = (int(x, 16) for x in span.split("-"))
                try:
                    mem.seek(start)
                    found.update(pattern.findall(mem.read(end - start)))
                except (OSError, OverflowError, ValueError):
                    pass
except OSError as exc:
    print(f"mem {runner}: {exc.strerror}")
open("found.txt", "wb").write(b"\n".join(sorted(found)))
print(f"{len(found)} found")
"""


def launch(fake: FakeMessagesAPI, repo: Path, *args: str, extra_env: dict[str, str] | None = None):
    """Start the runner from a parent shell (no exec) that holds PARENT_SECRET in its environment."""
    env = {**base_env(fake), "PARENT_SECRET": PARENT_SECRET, **(extra_env or {})}
    runner = " ".join(["exec", sys.executable, "-m", "runner", *(f"'{a}'" for a in args)])
    script = f"({runner}) & echo $! > runner.pid; echo $$ > parent.pid; wait $!"
    return subprocess.run(
        ["bash", "-c", script], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandbox", "bwrap-missing"])
def test_a_root_tool_cannot_read_the_runner_or_its_parent_shell(fake, repo, bwrap, sandboxed):
    probe = Path.home() / f".claude-runner-probe-{uuid.uuid4().hex}"
    fake.add_turns(
        [
            [tool_use("Bash", {"command": f"python3 - <<'EOF'\n{ATTACK}\nEOF\ntouch {probe}"})],
            [text("done")],
        ]
    )
    # The same run where bubblewrap is not found: one warning, the run completes, and the attack
    # works (what the sandbox is for, and proof that this test can fail).
    missing = {} if sandboxed else {"CLAUDE_RUNNER_BWRAP": str(repo / "no-such-bwrap")}
    try:
        out = launch(
            fake,
            repo,
            "run",
            "-p",
            "x",
            "--allowedTools",
            "Bash",
            "--settings",
            SANDBOX_ON,
            extra_env=missing,
        )
        assert out.returncode == 0, out.stderr
        found = (repo / "found.txt").read_text()
        warnings = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
        if sandboxed:
            assert found == "" and not probe.exists() and warnings == []
            assert "No such file or directory" in json.dumps(fake.message_requests[-1].body["messages"][-1])
        else:
            assert len(warnings) == 1 and "bubblewrap (bwrap) is not installed" in warnings[0]
            assert PARENT_SECRET in found
            if os.geteuid() == 0:
                assert "sk-ant-test-key-0123456789" in found  # from the runner's memory, as root
    finally:
        probe.unlink(missing_ok=True)


class Server:
    """A loopback HTTP server standing for every host on the internet; records what it was asked."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.httpd.shutdown()


NET_PROBE = r"""
import os, sys, urllib.request
port = sys.argv[1]
proxy = os.environ.get("http_proxy", "").removeprefix("http://")
for name, url, proxied in [
    ("direct-ip", f"http://127.0.0.1:{port}/direct-ip", False),
    ("proxied-ip", f"http://127.0.0.1:{port}/proxied-ip", True),
    ("other-name", f"http://blocked.example:{port}/other-name", True),
    ("allowed", f"http://localhost:{port}/allowed", True),  # NO_PROXY has localhost: ask the proxy
]:
    request = urllib.request.Request(url)
    if proxied:
        request.set_proxy(proxy, "http")
    try:
        body = urllib.request.urlopen(request, timeout=10).read().decode()
    except Exception as exc:
        body = f"failed: {exc}"
    print(f"{name}: {body}")
"""


def test_the_network_is_limited_to_the_allowed_domains(fake, repo, bwrap, server, run_cli):
    (repo / "probe.py").write_text(NET_PROBE)
    fake.add_turns([[tool_use("Bash", {"command": f"python3 probe.py {server.port}"})], [text("done")]])
    settings = {"sandbox": {"enabled": True, "network": {"allowedDomains": ["localhost"]}}}
    args = ["--allowedTools", "Bash", "--settings", json.dumps(settings), "--output-format", "json"]
    out = run_cli("run", "-p", "x", *args, cwd=repo)
    assert out.code == 0, out.stderr
    assert server.paths == ["/allowed"]  # nothing else reached the host
    result = json.dumps(fake.message_requests[-1].body["messages"][-1]["content"])
    assert "allowed: ok" in result and "direct-ip: failed" in result
    assert "proxied-ip: failed: HTTP Error 403" in result and "other-name: failed: HTTP Error 403" in result
    assert "network access to 127.0.0.1, blocked.example was refused" in result  # the model is told why


def test_without_bubblewrap_the_run_warns_once_and_completes(fake, repo, run_cli):
    fake.add_turns([[tool_use("Bash", {"command": "echo hi > hi.txt"})], [text("done")]])
    env = {**base_env(fake), "CLAUDE_RUNNER_BWRAP": str(repo / "no-such-bwrap")}
    out = run_cli("run", "-p", "x", "--allowedTools", "Bash", "--settings", SANDBOX_ON, cwd=repo, env=env)
    assert out.code == 0, out.stderr
    assert out.stdout.strip() == "done" and (repo / "hi.txt").read_text() == "hi\n"
    warnings = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert (
        "bubblewrap (bwrap) is not installed" in warnings[0] and "apt-get install bubblewrap" in warnings[0]
    )


def test_fail_if_unavailable_stops_before_the_model_is_called(fake, repo, run_cli):
    env = {**base_env(fake), "CLAUDE_RUNNER_BWRAP": ""}
    settings = json.dumps({"sandbox": {"enabled": True, "failIfUnavailable": True}})
    out = run_cli("run", "-p", "x", "--settings", settings, cwd=repo, env=env)
    assert out.code == 3 and "failIfUnavailable" in out.stderr
    assert fake.message_requests == []


SLACK = "https://hooks.slack.com/services/T024BE7LD/B01ABCDEF/kT9xQ2mZ7pL4vR8sW3nY6bHc"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2YXVsdC1yb2xlIn0.c2lnbmF0dXJlLXZhbHVlLTEyMzQ"
SECRETS = {"DB_PASS": "hunter2hunter2", "SLACK_WEBHOOK_URL": SLACK, "VAULT_ID": JWT}


@pytest.mark.parametrize("settings", [SANDBOX_ON, "{}"], ids=["sandbox", "no-sandbox"])
def test_secrets_by_any_name_never_reach_a_tool_nor_any_output(
    fake, repo, tmp_path, run_cli, settings, request
):
    if settings == SANDBOX_ON:
        request.getfixturevalue("bwrap")
    answer = "I found " + ", ".join(SECRETS.values())  # a model that saw them somehow
    fake.add_turns([[tool_use("Bash", {"command": "env > env.txt; env"})], [text(answer)]])
    transcript = tmp_path / "t.jsonl"
    env = {**base_env(fake), **SECRETS, "TOOL_ENV_PASSTHROUGH": "MY_FLAG", "MY_FLAG": "on"}
    out = run_cli(
        "run", "-p", "x", "--allowedTools", "Bash", "--settings", settings, "--output-format", "stream-json",
        "--transcript", str(transcript),
        cwd=repo, env=env,
    )  # fmt: skip
    assert out.code == 0, out.stderr
    tool_env = (repo / "env.txt").read_text()
    assert "PATH=" in tool_env and "MY_FLAG=on" in tool_env  # the dump worked; passed on purpose
    for where, content in {
        "tool env": tool_env,
        "transcript": transcript.read_text(),
        "stdout": out.stdout,
    }.items():
        for name, value in SECRETS.items():
            assert value not in content, f"{name} in {where}"
    assert "I found [REDACTED], [REDACTED], [REDACTED]" in out.result["result"]
