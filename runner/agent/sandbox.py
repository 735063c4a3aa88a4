"""The OS sandbox for tools: every Bash command and everything it starts runs under bubblewrap.

What a sandboxed command sees (Linux, ``bwrap``):

- its own PID, IPC and UTS namespaces with a fresh ``/proc``: the runner's processes, their
  memory and environment (``/proc/<pid>/mem``, ``environ``) and the CI shell that started the
  runner are out of sight, even for root; capabilities are dropped (``--cap-drop ALL``);
- its own mount namespace: the whole filesystem read-only, except the workspace, the allowed
  add-dirs, ``sandbox.filesystem.allowWrite`` and a private ``/tmp`` for the run (``TMPDIR``, and
  ``XDG_CACHE_HOME`` / ``npm_config_cache`` unless set);
  ``denyWrite`` / ``denyRead`` / ``allowRead`` narrow it; container-runtime sockets are hidden;
- only the environment it is given (the allowlisted one: bwrap is started with it, not argv);
- the machine's network, or, when ``sandbox.network`` has rules, none but a loopback port that
  leads to the runner's filtering proxy (``netproxy``, ``netrelay``);
- ``--die-with-parent`` and ``--new-session``: nothing outlives the command's bwrap; no terminal.

``plan_sandbox`` decides (settings, defaults, whether bwrap works here: a trial run, once per
process); ``Sandbox`` holds what a run's commands share (the private ``/tmp``, the proxy).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from runner.agent import netrelay
from runner.agent.netproxy import DomainRules, FilteringProxy, refused_since
from runner.agent.permission_rules import Rule, covers_command, make_call, parse_rule, rule_matches
from runner.agent.sandbox_settings import SandboxConfig
from runner.errors import SettingsError

RELAY_PORT = 3128  # inside the sandbox's own network namespace: always free
NET_DIR = "/tmp/.claude-runner-net"  # where the proxy's socket appears inside
# Sockets that hand out root on the host; hidden unless sandbox.network allows unix sockets.
CONTAINER_SOCKETS = (
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/run/podman/podman.sock",
    "/run/buildkit/buildkitd.sock",
    "/var/run/crio/crio.sock",
)
NOT_INSTALLED = "bubblewrap (bwrap) is not installed"
_FIX_INSTALL = (
    "install bubblewrap (apt-get install bubblewrap; the claude-runner image has it) "
    "or set CLAUDE_RUNNER_BWRAP to its path"
)
_FIX_USERNS = (
    "on GitHub's Ubuntu 24.04 runners add a step "
    "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` "
    "(or load the bwrap-userns-restrict AppArmor profile); in a container, allow user namespaces "
    "and a new /proc (see the Security section of claude-runner's README)"
)
_probes: dict[tuple[str, ...], str | None] = {}


def _namespace_flags(*, network: bool) -> list[str]:
    flags = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    flags += ["--unshare-net"] if network else []
    flags += ["--die-with-parent", "--new-session"]
    # As root, bwrap keeps capabilities unless told; without them root cannot remount or mknod.
    return flags + (["--cap-drop", "ALL"] if os.geteuid() == 0 else [])


def unavailable_reason(bwrap: str | None, *, network: bool = False) -> str | None:
    """Why the sandbox cannot run here (None: it can); a trial ``bwrap`` run, once per process."""
    if not bwrap:
        return NOT_INSTALLED
    flags = _namespace_flags(network=network)
    argv = (bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *flags)
    if argv not in _probes:
        try:
            done = subprocess.run([*argv, "--", "true"], capture_output=True, text=True, timeout=30)
            err = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[0]
            failed = f"bwrap cannot create its namespaces here ({err})"
            _probes[argv] = None if done.returncode == 0 else failed
        except FileNotFoundError:
            _probes[argv] = NOT_INSTALLED
        except (OSError, subprocess.TimeoutExpired) as exc:
            _probes[argv] = f"bwrap did not run ({exc})"
    return _probes[argv]


def unavailable_warning(reason: str) -> str:
    """The one warning line for a sandbox that cannot start, with the fix."""
    fix = _FIX_INSTALL if reason == NOT_INSTALLED else _FIX_USERNS
    return (
        f"warning: the OS sandbox for tools is off: {reason}; {fix}. Until then tools get only the "
        "allowlisted environment, but can see the runner's processes and write outside the workspace."
    )


def _runner_paths_under_tmp() -> list[str]:
    """The runner's interpreter environment and package when installed under ``/tmp`` (a CI
    checkout can be): the network relay runs from them inside the sandbox, whose ``/tmp`` is the
    run's own."""
    package = str(Path(netrelay.__file__).resolve().parent.parent)
    paths = {sys.prefix, sys.base_prefix, package}
    return sorted(p for p in paths if p == "/tmp" or p.startswith("/tmp/"))


@dataclass(frozen=True)
class SandboxPlan:
    """A sandbox that can start here: what it allows, nothing created yet."""

    bwrap: str
    cwd: Path
    writable: tuple[Path, ...]  # the workspace, add-dirs and allowWrite
    config: SandboxConfig
    home: Path
    excluded: tuple[Rule, ...] = field(default=())


def plan_sandbox(
    config: SandboxConfig, *, default_on: bool, bwrap: str | None, roots: Sequence[Path], home: Path
) -> tuple[SandboxPlan | None, list[str]]:
    """The sandbox a run gets (None: none) and the warnings to print.

    ``bwrap``: its path (None: not found); ``roots``: the workspace first, then the add-dirs. An
    unavailable sandbox is a warning, or a ``SettingsError`` with ``sandbox.failIfUnavailable``.
    """
    warnings = list(config.warnings)
    if not (config.enabled if config.enabled is not None else default_on):
        return None, warnings
    reason = unavailable_reason(bwrap, network=config.filters_network)
    if reason is not None:
        if config.fail_if_unavailable:
            raise SettingsError(
                f"sandbox.failIfUnavailable is set and the sandbox cannot start: {reason}",
                _FIX_INSTALL if reason == NOT_INSTALLED else _FIX_USERNS,
            )
        return None, [*warnings, unavailable_warning(reason)]
    assert bwrap is not None
    excluded = tuple(parse_rule(f"Bash({c})", base_dir=roots[0]) for c in config.excluded_commands)
    writable = tuple(dict.fromkeys([*roots, *config.allow_write]))
    return SandboxPlan(bwrap, roots[0], writable, config, home, excluded), warnings


class Sandbox:
    """A started sandbox: the run's private ``/tmp`` and, with network rules, the proxy."""

    def __init__(self, plan: SandboxPlan) -> None:
        self.plan = plan
        self.run_dir = Path(tempfile.mkdtemp(prefix="claude-runner-sandbox-"))
        (self.run_dir / "tmp").mkdir()
        self.proxy: FilteringProxy | None = None
        config = plan.config
        if config.filters_network:
            (self.run_dir / "net").mkdir()
            rules = DomainRules(config.allowed_domains, config.denied_domains)
            self.proxy = FilteringProxy(self.run_dir / "net" / "proxy.sock", rules).start()
        self._prefix = self._bwrap_argv()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the proxy and remove the run's private ``/tmp``."""
        if self.proxy is not None:
            self.proxy.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def excluded(self, command: str) -> bool:
        """Whether ``command`` is one of ``sandbox.excludedCommands`` (all of a compound must be)."""
        rules = self.plan.excluded
        if not rules:
            return False
        plan = self.plan
        call = make_call("Bash", {"command": command}, edits_files=False, cwd=plan.cwd, home=plan.home)
        if any(rule_matches(r, call, for_deny=False) for r in rules):
            return True
        return bool(call.commands) and all(
            any(covers_command(r, c, str(plan.cwd)) for r in rules) for c in call.commands or ()
        )

    def wrap(
        self, command: str, argv: Sequence[str], tool_env: Mapping[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        """The argv and environment that run ``argv`` (which runs ``command``) in the sandbox."""
        if self.excluded(command):
            return list(argv), dict(tool_env)
        # Caches that would be written under the read-only home go to the run's /tmp instead
        # (unless the tools' environment says where they are).
        run_env = {
            "XDG_CACHE_HOME": "/tmp/.cache",
            "npm_config_cache": "/tmp/.npm",
            **tool_env,
            "TMPDIR": "/tmp",
        }
        inner = list(argv)
        if self.proxy is not None:
            url = f"http://127.0.0.1:{RELAY_PORT}"
            local = "localhost,127.0.0.1,::1"
            for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
                run_env[name] = run_env[name.lower()] = url
            run_env["NO_PROXY"] = run_env["no_proxy"] = local
            relay = [sys.executable, "-I", "-S", netrelay.__file__, f"{NET_DIR}/proxy.sock", str(RELAY_PORT)]
            inner = [*relay, "--", *inner]
        return [*self._prefix, *inner], run_env

    def mark(self) -> int:
        """A point in the proxy's refusals, for ``note``."""
        return len(self.proxy.refused) if self.proxy is not None else 0

    def note(self, mark: int, output: str) -> str:
        """What to tell the model after a command: hosts refused since ``mark``, read-only paths."""
        notes = []
        if self.proxy is not None and (hosts := refused_since(self.proxy.refused, mark)):
            notes.append(
                f"[sandbox: network access to {', '.join(hosts)} was refused: only the domains in "
                "sandbox.network.allowedDomains of the trusted settings can be reached]"
            )
        if "Read-only file system" in output:
            notes.append(
                "[sandbox: only the workspace, the added directories and /tmp are writable; "
                "sandbox.filesystem.allowWrite in the trusted settings adds more]"
            )
        return "\n".join(notes)

    def _bwrap_argv(self) -> list[str]:
        plan, config = self.plan, self.plan.config
        argv = [plan.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        argv += ["--bind", str(self.run_dir / "tmp"), "/tmp"]
        for own in _runner_paths_under_tmp():  # the private /tmp must not hide the runner itself
            argv += ["--ro-bind-try", own, own]
        if self.proxy is not None:
            argv += ["--ro-bind", str(self.run_dir / "net"), NET_DIR]
        for path in plan.writable:
            argv += ["--bind-try", str(path), str(path)]
        for path in config.deny_write:
            argv += ["--ro-bind-try", str(path), str(path)]
        for path in config.deny_read:
            if path.is_dir():
                argv += ["--tmpfs", str(path)]
            elif path.exists():
                argv += ["--ro-bind", os.devnull, str(path)]
        for path in config.allow_read:
            argv += ["--ro-bind-try", str(path), str(path)]
        if not config.allow_all_unix_sockets:
            allowed = {str(p) for p in config.allow_unix_sockets}
            for sock in CONTAINER_SOCKETS:
                if sock not in allowed and os.path.exists(sock):
                    argv += ["--ro-bind", os.devnull, sock]
        argv += _namespace_flags(network=config.filters_network)
        return [*argv, "--chdir", str(plan.cwd), "--"]
