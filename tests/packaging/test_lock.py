"""The lock the action installs (scripts/requirements/*.txt) agrees with pyproject.toml.

When one of these fails, pyproject.toml's dependencies or extras changed without the lock:
run `python scripts/lock_requirements.py` and commit what it writes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.paths import REPO_ROOT

LOCK = REPO_ROOT / "scripts" / "requirements"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
ROOT = "claude-runner (pyproject.toml)"
REFRESH = "pyproject.toml and the lock disagree: run `python scripts/lock_requirements.py`"


def _lock_script() -> object:
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        import lock_requirements
    finally:
        sys.path.remove(str(REPO_ROOT / "scripts"))
    return lock_requirements


ACTION_EXTRAS: tuple[str, ...] = _lock_script().ACTION_EXTRAS  # type: ignore[attr-defined]


def _pins(name: str) -> dict[str, tuple[Requirement, str]]:
    """Each pinned requirement of a lock file (``name==version ; marker``) to its block."""
    blocks = _lock_script().entries((LOCK / f"{name}.txt").read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    return {key: (Requirement(key), block) for key, block in blocks.items()}


def _roots(name: str) -> set[str]:
    """The packages a lock file has because pyproject.toml asks for them (``# via claude-runner``)."""
    return {canonicalize_name(req.name) for req, block in _pins(name).values() if ROOT in block}


def _satisfied(requirement: str, pins: list[Requirement]) -> bool:
    wanted = Requirement(requirement)
    versions = [
        next(iter(p.specifier)).version
        for p in pins
        if canonicalize_name(p.name) == canonicalize_name(wanted.name)
    ]
    return bool(versions) and all(wanted.specifier.contains(v, prereleases=True) for v in versions)


def test_every_locked_wheel_is_pinned_exactly_with_its_hashes() -> None:
    files = sorted(LOCK.glob("*.txt"), key=lambda f: f.stem)
    assert [f.stem for f in files] == sorted(["base", *ACTION_EXTRAS])
    for file in files:
        pins = _pins(file.stem)
        assert pins, file
        for key, (requirement, block) in pins.items():
            (spec,) = requirement.specifier
            assert spec.operator == "==", key
            assert re.search(r"--hash=sha256:[0-9a-f]{64}", block), f"{file.name}: {key} has no hash"


def test_the_base_lock_holds_exactly_the_projects_dependencies() -> None:
    wanted = PYPROJECT["project"]["dependencies"]
    assert _roots("base") == {canonicalize_name(Requirement(r).name) for r in wanted}, REFRESH
    pins = [req for req, _ in _pins("base").values()]
    for requirement in wanted:
        assert _satisfied(requirement, pins), f"{requirement}: {REFRESH}"


@pytest.mark.parametrize("extra", ACTION_EXTRAS)
def test_each_extras_lock_adds_what_the_extra_needs_at_the_base_versions(extra: str) -> None:
    wanted = PYPROJECT["project"]["optional-dependencies"][extra]
    # An extra built on another (telemetry-grpc on telemetry) is installed with it: its lock too.
    own = canonicalize_name(PYPROJECT["project"]["name"])
    built_on = [Requirement(r) for r in wanted if canonicalize_name(Requirement(r).name) == own]
    wanted = [r for r in wanted if canonicalize_name(Requirement(r).name) != own]
    assert all(req.extras <= set(ACTION_EXTRAS) for req in built_on), f"[{extra}]: {REFRESH}"
    base, added = _pins("base"), _pins(extra)
    beneath = [pin for req in built_on for name in sorted(req.extras) for pin in _pins(name).values()]
    pins = [req for req, _ in [*base.values(), *added.values(), *beneath]]
    for requirement in wanted:
        assert _satisfied(requirement, pins), f"[{extra}] {requirement}: {REFRESH}"
    below = [
        r
        for req in built_on
        for name in req.extras
        for r in PYPROJECT["project"]["optional-dependencies"][name]
    ]
    assert _roots(extra) <= {canonicalize_name(Requirement(r).name) for r in [*wanted, *below]}, REFRESH
    # one version of each package whatever the combination of extras (one resolution for all)
    everything = [req for name in ("base", *ACTION_EXTRAS) for req, _ in _pins(name).values()]
    for requirement in added.values():
        name = canonicalize_name(requirement[0].name)
        versions = {str(r.specifier) for r in everything if canonicalize_name(r.name) == name}
        assert len(versions) == 1 or requirement[0].marker is not None, f"{name}: {versions}"


@pytest.mark.skipif(not shutil.which("bash") or not shutil.which("sha256sum"), reason="needs bash")
@pytest.mark.parametrize(
    "settings",
    [
        {"USE_BEDROCK": "true", "USE_VERTEX": "true", "CLAUDE_CODE_ENABLE_TELEMETRY": "1"},
        {"CLAUDE_CODE_ENABLE_TELEMETRY": "1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
        {"PROVIDER": "vertex"},
        {"PROVIDER": "bedrock"},
    ],
)
def test_every_extra_the_action_installs_is_locked(tmp_path: Path, settings: dict[str, str]) -> None:
    action = yaml.safe_load((REPO_ROOT / "action.yml").read_text(encoding="utf-8"))
    (setup,) = [s for s in action["runs"]["steps"] if s.get("id") == "setup"]
    out = tmp_path / "out"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_ACTION_PATH": str(REPO_ROOT),
        "GITHUB_OUTPUT": str(out),
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
        "USE_BEDROCK": "false",
        "USE_VERTEX": "false",
        "PROVIDER": "",
        **settings,
    }
    done = subprocess.run(["bash", "-c", setup["run"]], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    extras = dict(line.split("=", 1) for line in out.read_text().splitlines())["extras"]
    assert extras and set(extras.split(",")) <= set(ACTION_EXTRAS), extras
    assert set(ACTION_EXTRAS) <= set(PYPROJECT["project"]["optional-dependencies"])


def test_the_refresh_script_splits_a_compiled_file_into_its_pins() -> None:
    compiled = (
        "anyio==4.16.0 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via\n    #   mcp\n"
        "soupsieve==2.10 ; python_full_version < '3.11.5' \\\n    --hash=sha256:" + "b" * 64 + "\n"
    )
    blocks = _lock_script().entries(compiled)  # type: ignore[attr-defined]
    assert list(blocks) == ["anyio==4.16.0", "soupsieve==2.10 ; python_full_version < '3.11.5'"]
    assert blocks["anyio==4.16.0"].endswith("#   mcp\n")
