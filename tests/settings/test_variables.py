"""The variables each CI command reads: one registry, checked against the readers, the README and --help."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from runner.settings import variables as v
from tests.packaging.test_docs_true import README, table_after

SETTINGS = Path(v.__file__).parent
ENV_NAME = re.compile(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|HOME)"')


def names_in(cell: str) -> set[str]:
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", cell.split("(`--")[0]))


def readme_table(heading: str) -> list[list[str]]:
    return table_after(heading, README.read_text(encoding="utf-8"))


def test_the_readme_job_variable_table_lists_the_registry() -> None:
    rows = readme_table("| job variable | meaning |")
    listed = [names_in(name) for name, _ in rows if name != "read from GitLab"]
    assert set().union(*listed) == set(v.variable_names(v.GITLAB_JOB))
    (predefined,) = [meaning for name, meaning in rows if name == "read from GitLab"]
    assert names_in(predefined) == set(v.GITLAB_PREDEFINED)


def test_the_readme_listener_table_lists_the_registry() -> None:
    rows = readme_table("| listener variable | meaning |")
    assert set().union(*(names_in(name) for name, _ in rows)) == set(v.variable_names(v.LISTENER))


def test_the_readme_telemetry_table_lists_the_registry() -> None:
    rows = readme_table("| telemetry variable | meaning |")
    assert set().union(*(names_in(name) for name, _ in rows)) == set(v.variable_names(v.TELEMETRY))


@pytest.mark.parametrize(
    ("reader", "registry"),
    [
        ("gitlab.py", {*v.variable_names(v.GITLAB_JOB), *v.GITLAB_PREDEFINED, *v.variable_names(v.COMMON)}),
        ("github.py", {*v.GITHUB_PREDEFINED, *v.variable_names(v.COMMON)}),
        # The listener also finds its default store under HOME / XDG_STATE_HOME.
        ("webhook.py", {*v.variable_names(v.LISTENER), "CI_SERVER_URL", "HOME", "XDG_STATE_HOME"}),
        ("telemetry.py", set(v.variable_names(v.TELEMETRY))),
    ],
)
def test_every_variable_a_reader_names_is_in_the_registry(reader: str, registry: set[str]) -> None:
    named = set(ENV_NAME.findall((SETTINGS / reader).read_text(encoding="utf-8")))
    assert named, "the scan finds nothing: the pattern is wrong"
    assert named - registry == set()


@pytest.mark.parametrize(
    ("command", "rows", "predefined"),
    [
        ("gitlab", (*v.GITLAB_JOB, *v.COMMON), v.GITLAB_PREDEFINED),
        ("github", v.COMMON, v.GITHUB_PREDEFINED),
        ("webhook", v.LISTENER, ()),
    ],
)
def test_help_lists_every_variable_the_command_reads(command, rows, predefined) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "runner", command, "--help"], capture_output=True, text=True, check=True
    ).stdout
    words = set(re.findall(r"[A-Z][A-Z0-9_]+", out))
    assert {*v.variable_names(rows), *predefined} <= words
