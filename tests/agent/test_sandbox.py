"""The OS sandbox, proven through the Bash tool with the real bubblewrap: what a command can see,
write and reach, and what becomes of it when it times out."""

from __future__ import annotations

import os
import re
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from runner.agent import sandbox as sandbox_module
from runner.agent.sandbox import Sandbox, plan_sandbox, unavailable_reason
from runner.agent.sandbox_settings import SandboxConfig
from runner.agent.tools.base import ToolContext, ToolResult
from runner.agent.tools.bash import Bash
from runner.errors import SettingsError


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    path = Path(os.path.realpath(tmp_path)) / "ws"
    path.mkdir()
    return path


@contextmanager
def started(bwrap: str, roots: tuple[Path, ...], **config: object) -> Iterator[Sandbox]:
    plan, warnings = plan_sandbox(
        SandboxConfig(enabled=True, **config),  # type: ignore[arg-type]
        default_on=False,
        bwrap=bwrap,
        roots=roots,
        home=Path.home(),
    )
    assert plan is not None and warnings == []
    with Sandbox(plan) as box:
        yield box


def bash(box: Sandbox, cwd: Path, command: str, timeout_ms: int | None = None) -> ToolResult:
    ctx = ToolContext(
        cwd=cwd, subprocess_env={"PATH": os.environ["PATH"], "HOME": str(Path.home())}, sandbox=box
    )
    args: dict[str, object] = {"command": command}
    if timeout_ms:
        args["timeout"] = timeout_ms
    return Bash().run(args, ctx)


def host_processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def gone(marker: str, within_s: float = 10.0) -> bool:
    """Whether no host process runs ``sleep <marker>`` (the kernel ends a sandbox's processes
    right after its bwrap, not in the same instant: wait a little)."""
    deadline = time.monotonic() + within_s
    while host_processes_with(f"sleep\0{marker}"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_the_runners_processes_are_out_of_sight(bwrap: str, ws: Path) -> None:
    me = os.getpid()
    with started(bwrap, (ws,)) as box:
        result = bash(
            box,
            ws,
            f"ls /proc | grep -c '^[0-9]'; cat /proc/{me}/environ; cat /proc/{me}/mem | head -c 1",
        )
    text = str(result.content)
    assert f"/proc/{me}/environ: No such file or directory" in text
    assert f"/proc/{me}/mem: No such file or directory" in text
    assert int(text.splitlines()[0]) <= 6  # bwrap's init, bash, ls, grep (and a relay): nothing of the host


def test_writes_land_only_in_the_workspace_add_dirs_and_a_private_tmp(
    bwrap: str, ws: Path, tmp_path: Path
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    probe = Path.home() / f".claude-runner-probe-{uuid.uuid4().hex}"
    host_tmp = Path("/tmp") / f"claude-runner-probe-{uuid.uuid4().hex}"
    try:
        with started(bwrap, (ws, extra)) as box:
            result = bash(
                box,
                ws,
                f"echo a > in-ws; echo b > {extra}/in-extra; echo c > {host_tmp}; echo $TMPDIR;"
                f" touch {probe}; touch /etc/claude-runner-probe;"
                ' mkdir -p "$XDG_CACHE_HOME/tool" && echo cache-ok',  # caches go to the private /tmp
            )
            again = bash(box, ws, f"cat {host_tmp}")  # the run's /tmp is kept between commands
        assert (ws / "in-ws").read_text() == "a\n" and (extra / "in-extra").read_text() == "b\n"
        assert not host_tmp.exists() and not probe.exists() and not Path("/etc/claude-runner-probe").exists()
        text = str(result.content)
        assert "/tmp\n" in text and text.count("Read-only file system") == 2 and "cache-ok" in text
        assert "sandbox.filesystem.allowWrite" in text  # the model is told how to widen it
        assert again.content == "c"
    finally:
        probe.unlink(missing_ok=True)
        host_tmp.unlink(missing_ok=True)


def test_filesystem_rules(bwrap: str, ws: Path, tmp_path: Path) -> None:
    (ws / "locked").mkdir()
    (ws / "private").mkdir()
    (ws / "private" / "secret.txt").write_text("s3cr3t")
    (ws / "private" / "shared.txt").write_text("shared")
    (ws / "token.txt").write_text("t0ken")
    elsewhere = Path.home() / f".claude-runner-probe-{uuid.uuid4().hex}"
    elsewhere.mkdir()
    try:
        with started(
            bwrap,
            (ws,),
            allow_write=(elsewhere,),
            deny_write=(ws / "locked",),
            deny_read=(ws / "private", ws / "token.txt"),
            allow_read=(ws / "private" / "shared.txt",),
        ) as box:
            result = bash(
                box,
                ws,
                "touch locked/x; cat private/secret.txt; cat token.txt; cat private/shared.txt;"
                f" echo ok > {elsewhere}/f",
            )
        text = str(result.content)
        assert "s3cr3t" not in text and "t0ken" not in text and "shared" in text
        assert not (ws / "locked" / "x").exists() and (elsewhere / "f").read_text() == "ok\n"
    finally:
        for f in elsewhere.iterdir():
            f.unlink()
        elsewhere.rmdir()


def test_excluded_commands_run_outside_the_sandbox(bwrap: str, ws: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"  # under the host's /tmp: inside, that is the sandbox's own /tmp
    outside.mkdir()
    with started(bwrap, (ws,), excluded_commands=("touch *",)) as box:
        bash(box, ws, f"touch {outside}/excluded")
        bash(box, ws, f"touch {outside}/compound && echo done")  # `echo` is not excluded: all runs inside
    assert (outside / "excluded").exists() and not (outside / "compound").exists()


def test_a_timeout_ends_everything_in_the_sandbox(bwrap: str, ws: Path) -> None:
    marker = f"{600 + uuid.uuid4().int % 1000}.25"
    with started(bwrap, (ws,)) as box:
        result = bash(box, ws, f"sleep {marker} & (trap '' TERM; sleep {marker}) & wait", timeout_ms=1500)
    assert result.is_error and "timed out" in str(result.content)
    assert gone(marker)


def test_background_processes_end_with_their_command(bwrap: str, ws: Path) -> None:
    marker = f"{600 + uuid.uuid4().int % 1000}.75"
    with started(bwrap, (ws,)) as box:
        result = bash(box, ws, f"(sleep {marker} > /dev/null 2>&1 &); echo started")
    assert result.content == "started"
    assert gone(marker)


def test_container_runtime_sockets_are_hidden_unless_allowed(
    bwrap: str, ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ws / "docker.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    monkeypatch.setattr(sandbox_module, "CONTAINER_SOCKETS", (str(path),))
    connect = f"s = socket.socket(socket.AF_UNIX); s.connect('{path}')"
    probe = f"python3 -c \"import socket; {connect}; print('connected')\""
    try:
        with started(bwrap, (ws,)) as box:
            hidden = bash(box, ws, probe)
        with started(bwrap, (ws,), allow_unix_sockets=(path,)) as box:
            allowed = bash(box, ws, probe)
    finally:
        server.close()
    assert hidden.is_error and "connected" not in str(hidden.content)
    assert allowed.content == "connected"


def test_no_sandbox_unless_enabled_or_on_by_default(bwrap: str, ws: Path) -> None:
    def plan(config: SandboxConfig, default_on: bool):
        return plan_sandbox(config, default_on=default_on, bwrap=bwrap, roots=(ws,), home=ws)

    assert plan(SandboxConfig(), False) == (None, [])
    assert plan(SandboxConfig(enabled=False), True)[0] is None
    started_plan, _ = plan(SandboxConfig(), True)
    assert started_plan is not None and started_plan.writable == (ws,)


def test_without_bubblewrap_one_warning_names_the_fix_or_the_settings_make_it_an_error(ws: Path) -> None:
    plan, warnings = plan_sandbox(SandboxConfig(), default_on=True, bwrap=None, roots=(ws,), home=ws)
    assert plan is None and len(warnings) == 1
    assert (
        "bubblewrap (bwrap) is not installed" in warnings[0] and "apt-get install bubblewrap" in warnings[0]
    )
    with pytest.raises(SettingsError, match="failIfUnavailable"):
        plan_sandbox(
            SandboxConfig(enabled=True, fail_if_unavailable=True),
            default_on=False,
            bwrap=None,
            roots=(ws,),
            home=ws,
        )


def test_a_broken_bwrap_is_detected_by_a_trial_run(tmp_path: Path) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    reason = unavailable_reason(str(fake))
    assert reason is not None and "setting up uid map: Permission denied" in reason
    assert "apparmor_restrict_unprivileged_userns=0" in sandbox_module.unavailable_warning(reason)


def test_a_runner_installed_under_tmp_stays_visible_in_the_private_tmp(monkeypatch):
    """A CI checkout under /tmp: the sandbox's own /tmp must not hide the runner's interpreter
    environment, whose relay carries the network when domain rules are set."""
    import sys

    from runner.agent import sandbox

    monkeypatch.setattr(sys, "prefix", "/tmp/ci-clone/.venv")
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    assert "/tmp/ci-clone/.venv" in sandbox._runner_paths_under_tmp()
    assert "/usr" not in sandbox._runner_paths_under_tmp()


def test_background_commands_run_in_the_sandbox_and_end_with_it(bwrap: str, ws: Path) -> None:
    from runner.agent.tools.background import BackgroundShells, TaskOutput

    marker = str(7000 + uuid.uuid4().int % 1000)
    shells = BackgroundShells()
    outside = Path("/etc") / f"claude-runner-probe-{uuid.uuid4().hex}"
    with started(bwrap, (ws,)) as box:
        ctx = ToolContext(
            cwd=ws,
            subprocess_env={"PATH": os.environ["PATH"], "HOME": str(Path.home())},
            sandbox=box,
            background=shells,
        )
        command = f"touch {outside} 2>/dev/null || echo refused; echo pid $$; sleep {marker}"
        Bash().run({"command": command, "run_in_background": True}, ctx)
        seen = ""  # each call returns only what is new
        for _ in range(200):
            seen += str(TaskOutput().run({"task_id": "bash_1", "block": False}, ctx).content)
            if "refused" in seen and "pid " in seen:
                break
            time.sleep(0.05)
        assert "refused" in seen and not outside.exists()
        assert re.search(r"pid 2(\D|$)", seen)  # bash in the sandbox's own PID namespace, not the host's
        assert host_processes_with(f"sleep\0{marker}")
        shells.stop_all()
    assert gone(marker)
