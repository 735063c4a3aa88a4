"""Which subagents a run offers, and the Agent tool that offers them.

Claude Code's order, a later source replacing an agent of the same name: the built-in
``general-purpose``, plugin agents (namespaced ``plugin:agent``), user agents
(``~/.claude/agents``, or ``$CLAUDE_CONFIG_DIR/agents``), project agents (``.claude/agents`` at
the repository root), then ``--agents``. ``--setting-sources`` picks the user and project ones
as it picks settings. On the CI flows the project's agents come from the default branch
(``flow/trusted.py``), never from a change's own tree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from runner.agent import permissions
from runner.agent.agent_defs import PERMISSION_MODES, AgentDefinition, load_agent_dir
from runner.agent.prompt import find_repo_root
from runner.agent.subagents import GENERAL_PURPOSE, MODEL_ALIASES, SUBAGENT_TOOLS, AgentTool
from runner.errors import RunnerError, UsageError
from runner.settings.claude_flags import AgentDefinition as FlagAgent
from runner.settings.run import RunSettings

AGENTS_DIR = Path(".claude") / "agents"


def run_agents(
    settings: RunSettings,
    *,
    cwd: Path,
    config_dir: Path | None,
    project_agents: Sequence[AgentDefinition] | None,
    trusted_project: bool,
    warn: Callable[[str], None],
    plugin_agents: Sequence[AgentDefinition] = (),
) -> dict[str, AgentDefinition]:
    """The run's subagents by name. ``trusted_project``: the project's are ``project_agents``
    (read by the caller from a trusted tree), never the workspace's files. ``plugin_agents``: the
    enabled plugins' (``load_agent_dir(plugin / "agents", namespace=plugin_name)``)."""
    found = {GENERAL_PURPOSE.name: GENERAL_PURPOSE}
    found.update((a.name, a) for a in plugin_agents)
    if "user" in settings.setting_sources and config_dir is not None:
        found.update((a.name, a) for a in load_agent_dir(config_dir / "agents", warn=warn))
    if trusted_project:
        found.update((a.name, a) for a in project_agents or ())
    elif settings.project_settings and "project" in settings.setting_sources:
        root = find_repo_root(cwd) or cwd
        found.update((a.name, a) for a in load_agent_dir(root / AGENTS_DIR, warn=warn))
    found.update((a.name, from_flag(a)) for a in settings.agents)
    return found


def from_flag(agent: FlagAgent) -> AgentDefinition:
    """An ``--agents`` entry (``settings/claude_flags.py``) as an agent definition."""
    mode = agent.permission_mode
    if mode is not None and mode not in PERMISSION_MODES:
        modes = ", ".join(PERMISSION_MODES)
        raise UsageError(f"--agents: {agent.name}.permissionMode {mode!r} is not one of {modes}")
    model = agent.model.strip() if agent.model else None
    return AgentDefinition(
        name=agent.name,
        description=agent.description.strip(),
        prompt=agent.prompt.strip(),
        tools=agent.tools,
        model=None if model is None or model.lower() == "inherit" else model,
        permission_mode=mode,
        source="--agents",
        disallowed_tools=agent.disallowed_tools,
    )


def agent_tool(
    settings: RunSettings,
    policy: permissions.PermissionPolicy,
    agents: dict[str, AgentDefinition],
    resolve: Callable[[str], str],
    warn: Callable[[str], None],
) -> AgentTool | None:
    """The Agent tool, unless ``--tools`` leaves it out or a rule denies it outright. ``resolve``
    turns a model alias or name into the provider's id (it raises ``RunnerError``); an agent whose
    model does not resolve runs on the parent's model, with a warning."""
    if settings.builtin_tools is not None and not SUBAGENT_TOOLS & set(settings.builtin_tools):
        return None
    if not permissions.can_ever_allow(policy, AgentTool.name, read_only=True, edits_files=False):
        return None
    models: dict[str, str] = {}
    for name in {*MODEL_ALIASES, *(a.model for a in agents.values() if a.model)}:
        try:
            models[name] = resolve(name)
        except RunnerError as exc:
            if name not in MODEL_ALIASES:
                users = ", ".join(a.name for a in agents.values() if a.model == name)
                warn(f"warning: agent {users}: model {name!r}: {exc.one_line()}; the main model is used")
    return AgentTool(agents, models)
