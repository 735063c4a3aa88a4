"""Prompt files named in claude_args on a CI run: inside the checkout from the default branch,
outside it from disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import UsageError
from runner.flow.prompt_files import with_trusted_prompt_files
from runner.settings.run import RunSettings


def test_inside_the_checkout_the_default_branch_outside_the_disk(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    (workspace / ".github").mkdir(parents=True)
    (workspace / ".github" / "system.md").write_text("the pull request's version")
    outside = tmp_path / "runner_temp" / "extra.md"
    outside.parent.mkdir()
    outside.write_text("written by a workflow step")
    asked: list[str] = []

    def default_branch(path: str) -> str | None:
        asked.append(path)
        return "the default branch's version" if path == ".github/system.md" else None

    run = with_trusted_prompt_files(
        RunSettings(
            system_prompt_file=Path(".github/system.md"),
            append_system_prompt="Be brief.",
            append_system_prompt_file=outside,
        ),
        workspace,
        default_branch,
    )
    assert run.system_prompt == "the default branch's version" and asked == [".github/system.md"]
    assert run.append_system_prompt == "Be brief.\n\nwritten by a workflow step"
    assert run.system_prompt_file is None and run.append_system_prompt_file is None
    with pytest.raises(
        UsageError, match=r"--system-prompt-file: missing\.md does not exist on the default branch"
    ):
        with_trusted_prompt_files(
            RunSettings(system_prompt_file=Path("missing.md")), workspace, default_branch
        )
