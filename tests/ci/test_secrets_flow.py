"""Secrets in a CI run: masked in the Actions log line by line, absent from everything the runner writes."""

from __future__ import annotations

from pathlib import Path

from runner.ci.github import github_job
from runner.settings.github import github_run_env

# A test key's shape (random base64 lines): never a real key.
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEAx3Kq9vBn2Lw8TzQ4mR7sYp1UeG6cVfH0jD5aN8oX2iWtZbKl\n"
    "Qm7Rz4Yx2Lp9Nc6Vb3Hs8Kd1Tf5Gj0Wa7Eq2Ur4Io6Pm9Sn1Xy3Bv5Cz8Df2Gh4Jk\n"
    "\n"
    "-----END RSA PRIVATE KEY-----\n"
)


def test_a_multi_line_key_gets_one_add_mask_per_line(tmp_path: Path, capsys) -> None:
    env = {
        "GITHUB_EVENT_NAME": "issue_comment",
        "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
        "GITHUB_REPOSITORY": "o/r",
        "RUNNER_TEMP": str(tmp_path),
    }
    github_job(github_run_env(env)).mask(PRIVATE_KEY)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"::add-mask::{line}" for line in PRIVATE_KEY.splitlines() if line.strip()]
    assert len(lines) == 4
