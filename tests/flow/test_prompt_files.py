"""Prompt files and --setting-sources in claude_args on a change-request run: a file inside the
checkout from the default branch, outside it from disk; the project settings only when chosen."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import SettingsError
from runner.flow.trusted import trusted_agent
from runner.project.trusted_files import TrustedTree
from runner.settings.run import RunSettings


def test_inside_the_checkout_the_default_branch_outside_the_disk(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    (workspace / ".github").mkdir(parents=True)
    (workspace / ".github" / "system.md").write_text("the pull request's version")
    outside = tmp_path / "runner_temp" / "extra.md"
    outside.parent.mkdir()
    outside.write_text("written by a workflow step")
    files = {".github/system.md": "the default branch's version"}
    tree = TrustedTree("main", workspace, files.get)
    agent = RunSettings(
        system_prompt_file=Path(".github/system.md"),
        append_system_prompt="Be brief.",
        append_system_prompt_file=outside,
    )
    run, _ = trusted_agent(
        agent,
        settings_input=None,
        project_settings=None,
        tree=tree,
        workspace=workspace,
        private_dir=tmp_path,
    )
    assert run.system_prompt == "the default branch's version"
    assert run.append_system_prompt == "Be brief.\n\nwritten by a workflow step"
    assert run.system_prompt_file is None and run.append_system_prompt_file is None
    with pytest.raises(SettingsError, match=r"--system-prompt-file missing\.md: not on the default branch"):
        trusted_agent(
            RunSettings(system_prompt_file=Path("missing.md")),
            settings_input=None,
            project_settings=None,
            tree=tree,
            workspace=workspace,
            private_dir=tmp_path,
        )


def test_setting_sources_without_project_leave_the_project_settings_out(tmp_path: Path) -> None:
    project = '{"permissions": {"allow": ["Bash"]}}'
    for chosen, count in ((("user", "project"), 1), (("user",), 0)):
        _, sources = trusted_agent(
            RunSettings(setting_sources=chosen),
            settings_input=None,
            project_settings=project,
            tree=None,
            workspace=tmp_path,
            private_dir=tmp_path,
        )
        assert len(sources) == count
