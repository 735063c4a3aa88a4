"""The agent's configuration on a CI run, from trusted trees only.

Settings sources, lowest precedence first, as Claude Code layers them: the ``settings`` input
(GitLab: ``SETTINGS``; claude-code-action merges it into the user's ``~/.claude/settings.json``),
the default branch's ``.claude/settings.json`` (project settings), then ``--settings`` from
``claude_args`` (flag settings). Every file these or ``claude_args`` name (``--settings``,
``--price-table``, ``--json-schema @file``) is read through ``project/trusted_files.py``: on a
change-request run from the default branch, never from the change's head.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from runner.agent.permissions import SettingsPermissions, parse_settings_json
from runner.platforms.base import Platform, RepoInfo
from runner.project.trusted_files import TrustedTree, read_named_file, read_settings_value
from runner.settings.run import RunSettings

PROJECT_SETTINGS = ".claude/settings.json"


def default_branch_tree(platform: Platform, repo: RepoInfo, workspace: Path) -> TrustedTree:
    """The default branch of ``repo``, read through the platform, for files inside ``workspace``."""
    ref = repo.default_branch
    return TrustedTree(ref, workspace, lambda path: platform.read_file(path, ref))


def trusted_agent(
    agent: RunSettings,
    *,
    settings_input: str | None,
    project_settings: str | None,
    tree: TrustedTree | None,
    workspace: Path,
    private_dir: Path,
) -> tuple[RunSettings, list[SettingsPermissions]]:
    """``agent`` with the files it names already read (``tree``: where files inside the checkout
    come from; None: from disk), and the settings sources, lowest precedence first.

    The returned settings name no file of the checkout: ``settings`` is None (its permissions are in
    the sources), a price table is a copy in ``private_dir`` (read before any tool runs), a JSON
    schema is inline."""
    sources = []
    if settings_input:
        text = read_settings_value(settings_input, "the settings input", tree, workspace)
        sources.append(parse_settings_json(text, "settings input", base_dir=workspace))
    if project_settings:
        source = f"{PROJECT_SETTINGS} (default branch)"
        sources.append(parse_settings_json(project_settings, source, base_dir=workspace))
    if agent.settings:
        text = read_settings_value(agent.settings, "--settings", tree, workspace)
        sources.append(parse_settings_json(text, "--settings", base_dir=workspace))
    price_table = None
    if agent.price_table is not None:
        private_dir.mkdir(parents=True, exist_ok=True)
        price_table = private_dir / "price-table.json"
        price_table.write_text(read_named_file(agent.price_table, "--price-table", tree, workspace))
    schema = agent.json_schema
    if schema and not schema.lstrip().startswith("{"):
        schema = read_named_file(schema.removeprefix("@"), "--json-schema", tree, workspace)
    run = dataclasses.replace(agent, settings=None, price_table=price_table, json_schema=schema)
    return run, sources


__all__ = ["PROJECT_SETTINGS", "default_branch_tree", "trusted_agent"]
