"""The agent's configuration on a CI run, from trusted trees only.

Settings sources, lowest precedence first, as Claude Code layers them: the ``settings`` input
(GitLab: ``SETTINGS``; claude-code-action merges it into the user's ``~/.claude/settings.json``),
the default branch's ``.claude/settings.json`` (project settings), then ``--settings`` from
``claude_args`` (flag settings); ``--setting-sources`` without ``project`` leaves the project
settings out. Every file these or ``claude_args`` name (``--settings``, ``--price-table``,
``--json-schema @file``, ``--system-prompt-file``, ``--append-system-prompt-file``,
``--mcp-config``) is read
through ``project/trusted_files.py``: on a
change-request run from the default branch, never from the change's head. So are the project's
subagents (``.claude/agents/``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from runner.agent.agent_defs import AgentDefinition, parse_agent_file
from runner.agent.permissions import SettingsPermissions, parse_settings_json
from runner.platforms.base import Platform, RepoInfo
from runner.project.trusted_files import TrustedTree, read_named_file, read_settings_value
from runner.settings.run import RunSettings

PROJECT_SETTINGS = ".claude/settings.json"
PROJECT_AGENTS = ".claude/agents"


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
    if project_settings and "project" in agent.setting_sources:
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
    # An MCP config names the commands the runner starts: read like --settings, as inline JSON.
    mcp_config = tuple(read_settings_value(v, "--mcp-config", tree, workspace) for v in agent.mcp_config)
    system, append = agent.system_prompt, agent.append_system_prompt
    if agent.system_prompt_file is not None:
        system = read_named_file(agent.system_prompt_file, "--system-prompt-file", tree, workspace)
    if agent.append_system_prompt_file is not None:
        flag = "--append-system-prompt-file"
        text = read_named_file(agent.append_system_prompt_file, flag, tree, workspace)
        append = f"{append}\n\n{text}" if append else text
    run = dataclasses.replace(
        agent,
        settings=None,
        price_table=price_table,
        json_schema=schema,
        system_prompt=system,
        append_system_prompt=append,
        system_prompt_file=None,
        append_system_prompt_file=None,
        mcp_config=mcp_config,
    )
    return run, sources


def default_branch_agents(
    platform: Platform, ref: str, agent: RunSettings, warn: Callable[[str], None]
) -> list[AgentDefinition]:
    """The project's subagents as ``ref`` (the default branch) has them: ``.claude/agents/**/*.md``,
    unless ``--setting-sources`` leaves the project out. A file that does not parse, or repeats a
    name, is skipped with a warning."""
    if "project" not in agent.setting_sources:
        return []
    found: dict[str, AgentDefinition] = {}
    for path in platform.list_files(PROJECT_AGENTS, ref):
        text = platform.read_file(path, ref) if path.endswith(".md") else None
        if text is None:
            continue
        try:
            definition = parse_agent_file(text, source=f"{path} ({ref})")
        except ValueError as exc:
            warn(f"warning: agent file {path} skipped: {exc}")
            continue
        if definition.name in found:
            warn(f"warning: agent file {path} skipped: {definition.name!r} is already defined")
            continue
        found[definition.name] = definition
    return list(found.values())


__all__ = [
    "PROJECT_AGENTS",
    "PROJECT_SETTINGS",
    "default_branch_agents",
    "default_branch_tree",
    "trusted_agent",
]
