"""Slash commands, skills and plugins applied to one run (called by ``headless.prepare_run``).

``load_extensions`` finds the run's commands and skills (project, user, plugins) and loads its
plugins, before the permission policy is built: a slash command's ``allowed-tools`` add allow rules
for this run, its ``model`` picks the model, skills' directories become readable, plugins' hooks and
MCP servers join the settings'. ``expand_prompt`` then expands the command in the prompt, running its
``!`cmd` `` lines through the Bash tool's permission check and sandbox.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runner.agent import permissions
from runner.agent.agent_defs import AgentDefinition, load_agent_dir
from runner.agent.prompt import find_repo_root
from runner.agent.sandbox import Sandbox, SandboxPlan
from runner.agent.settings_keys import MergedKeys
from runner.agent.tools.base import ToolContext, ToolError
from runner.agent.tools.bash import Bash
from runner.agent.tools.paths import resolve_in_roots
from runner.agent.tools.skill import SkillTool
from runner.hooks.config import merge_hooks, parse_hooks
from runner.project.command_expand import MAX_FILE_CHARS, Expansion, expand_command
from runner.project.commands import CommandDef, load_commands, load_skills, merge_commands, parse_invocation
from runner.project.marketplaces import Fetcher, GitHost
from runner.project.plugin_resolve import PluginRequests, resolve_plugins
from runner.project.plugins import Plugin
from runner.settings.run import RunSettings


@dataclass
class Extensions:
    """What commands, skills and plugins add to a run."""

    commands: dict[str, CommandDef] = field(default_factory=dict)  # by name, skills included
    plugins: list[Plugin] = field(default_factory=list)
    invoked: CommandDef | None = None  # the slash command the prompt starts with
    arguments: str = ""

    @property
    def skills(self) -> list[CommandDef]:
        """The skills the model is offered through the Skill tool."""
        return [c for c in self.commands.values() if c.is_skill and c.model_invocable]

    @property
    def agent_dirs(self) -> list[tuple[str, Path]]:
        """Each plugin's agent directories with its namespace (for the subagents)."""
        return [(p.name, d) for p in self.plugins for d in p.agent_dirs]

    def mcp_configs(self) -> tuple[str, ...]:
        """The plugins' MCP servers as ``--mcp-config`` values, named ``plugin_<plugin>_<server>``."""
        servers = {
            f"plugin_{p.name}_{name}": spec for p in self.plugins for name, spec in p.mcp_servers.items()
        }
        return (json.dumps({"mcpServers": servers}),) if servers else ()


def load_extensions(
    settings: RunSettings,
    keys: MergedKeys,
    *,
    project_dir: Path | None,
    user_dir: Path | None,
    cache_dir: Path,
    host: GitHost | None,
    checkout: Path | None,
    warn: Callable[[str], None],
    log: Callable[[str], None],
) -> tuple[RunSettings, Extensions]:
    """The run's commands, skills and plugins (``keys``: the merged settings, for ``enabledPlugins``),
    and ``settings`` with what the invoked command asks for (allow rules, model), the plugins' MCP
    servers and the skills' directories. ``project_dir``: the ``.claude`` directory commands and
    skills are read from (a trusted copy on change-request runs); ``checkout``: on change-request
    runs, the change's checkout (no plugin loads from it); ``log``: what was loaded."""
    requests = PluginRequests(
        plugins=settings.plugins,
        marketplaces=settings.plugin_marketplaces,
        plugin_dirs=settings.plugin_dirs,
        enabled=keys.enabled_plugins,
        known=keys.marketplaces,
    )
    plugins: list[Plugin] = []
    if requests:
        fetcher = Fetcher(cache_dir, host, log)
        plugins = resolve_plugins(
            requests, fetcher, base_dir=settings.cwd.resolve(), checkout=checkout, warn=warn
        )
        for plugin in plugins:
            parts = {"commands and skills": len(plugin.commands), "agent dirs": len(plugin.agent_dirs)}
            parts |= {"hook events": len(plugin.hooks), "MCP servers": len(plugin.mcp_servers)}
            log(f"plugin {plugin.origin}: " + ", ".join(f"{n} {what}" for what, n in parts.items() if n))
    groups: list[list[CommandDef]] = []
    for directory in (project_dir, user_dir if "user" in settings.setting_sources else None):
        if directory is not None:
            groups += [
                load_skills(directory / "skills", warn=warn),
                load_commands(directory / "commands", warn=warn),
            ]
    groups += [list(p.commands) for p in plugins]
    ext = Extensions(commands=merge_commands(groups, warn), plugins=plugins)
    if plugins:
        settings = dataclasses.replace(settings, mcp_config=(*settings.mcp_config, *ext.mcp_configs()))
    invocation = None if settings.disable_slash_commands else parse_invocation(settings.slash_command or "")
    if invocation is not None:
        name, ext.arguments = invocation
        ext.invoked = ext.commands.get(name)
        if ext.invoked is None:
            warn(f"warning: /{name} is not a known slash command; the prompt goes to the model as written")
        else:
            command = ext.invoked
            settings = dataclasses.replace(
                settings,
                allowed_tools=(*settings.allowed_tools, *(command.allowed_tools if command.trusted else ())),
                model=settings.model or command.model,
            )
    cwd = settings.cwd.resolve()
    skill_dirs = [
        c.skill_dir for c in ext.skills if c.skill_dir and not c.skill_dir.resolve().is_relative_to(cwd)
    ]
    if skill_dirs:  # the model reads a skill's other files (outside the workspace) with Read
        settings = dataclasses.replace(settings, add_dirs=(*settings.add_dirs, *dict.fromkeys(skill_dirs)))
    return settings, ext


def extension_agents(ext: Extensions, warn: Callable[[str], None]) -> list[AgentDefinition]:
    """The plugins' agents (``agents/*.md``), named ``plugin:agent``, for the subagents."""
    return [
        a for name, directory in ext.agent_dirs for a in load_agent_dir(directory, namespace=name, warn=warn)
    ]


def with_plugin_hooks(keys: MergedKeys, ext: Extensions) -> MergedKeys:
    """``keys`` with the plugins' hooks added (they run with the settings' hooks)."""
    hooks = [parse_hooks(p.hooks, f"plugin {p.origin}") for p in ext.plugins if p.hooks]
    if keys.hooks_disabled:
        return keys
    return dataclasses.replace(keys, hooks=merge_hooks([keys.hooks, *hooks])) if hooks else keys


def workspace_extensions(
    settings: RunSettings,
    keys: MergedKeys,
    *,
    cwd: Path,
    config_dir: Path | None,
    cache_dir: Path,
    trusted: bool,
    warn: Callable[[str], None],
    log: Callable[[str], None],
) -> tuple[RunSettings, Extensions]:
    """``load_extensions`` for a run that did not load them first: ``claude-runner run`` (the
    workspace's commands, its prompt a slash command) or, ``trusted``, a review (settings from the
    default branch: no project commands, no slash command, nothing loaded from the checkout)."""
    project = settings.project_settings and "project" in settings.setting_sources and not trusted
    return load_extensions(
        dataclasses.replace(settings, slash_command="" if trusted else settings.prompt),
        keys,
        project_dir=(find_repo_root(cwd) or cwd) / ".claude" if project else None,
        user_dir=config_dir,
        cache_dir=cache_dir,
        host=None,
        checkout=cwd if trusted else None,
        warn=warn,
        log=log,
    )


def skill_tool(
    ext: Extensions, policy: permissions.PermissionPolicy, warn: Callable[[str], None]
) -> SkillTool | None:
    """The Skill tool over the run's skills; None when there are none."""
    if not ext.skills:
        return None
    nothing = lambda _cmd: None  # noqa: E731 - a skill loaded by the model runs no commands
    return SkillTool(
        ext.skills,
        lambda skill, args, ctx: (
            expand_command(skill, args, read_file=_reader(policy, ctx), run_shell=nothing, warn=warn).text
        ),
    )


def expand_prompt(
    settings: RunSettings,
    ext: Extensions,
    *,
    policy: permissions.PermissionPolicy,
    ctx: ToolContext,
    sandbox: SandboxPlan | None,
    warn: Callable[[str], None],
) -> str:
    """The run's prompt with the invoked command expanded in place of its text (unchanged when the
    prompt invokes no known command)."""
    if ext.invoked is None or not settings.slash_command:
        return settings.prompt
    expansion = _expand(ext.invoked, ext.arguments, policy=policy, ctx=ctx, sandbox=sandbox, warn=warn)
    if settings.slash_command in settings.prompt:
        return settings.prompt.replace(settings.slash_command, expansion.text, 1)
    return f"{settings.prompt}\n\n{expansion.text}"


def _expand(
    command: CommandDef,
    arguments: str,
    *,
    policy: permissions.PermissionPolicy,
    ctx: ToolContext,
    sandbox: SandboxPlan | None,
    warn: Callable[[str], None],
) -> Expansion:
    started: list[Sandbox] = []

    def run_shell(cmd: str) -> str | None:
        decision = permissions.decide(policy, "Bash", {"command": cmd}, read_only=False, edits_files=False)
        if not decision.allowed:
            return None
        if sandbox is not None and not started:
            started.append(Sandbox(sandbox))
        run_ctx = dataclasses.replace(ctx, sandbox=started[0]) if started else ctx
        result = Bash().run({"command": cmd}, run_ctx)
        content = result.content if isinstance(result.content, str) else ""
        return content

    try:
        return expand_command(
            command, arguments, read_file=_reader(policy, ctx), run_shell=run_shell, warn=warn
        )
    finally:
        for box in started:
            box.close()


def _reader(policy: permissions.PermissionPolicy, ctx: ToolContext) -> Callable[[str], str | None]:
    """``@file`` references: a text file inside the workspace's roots that no Read rule denies,
    at most ``MAX_FILE_CHARS`` of it; else None (the reference stays as written)."""

    def read(path: str) -> str | None:
        try:
            real = resolve_in_roots(path, ctx)
        except ToolError:
            return None
        if not real.is_file() or permissions.read_denied_by(policy, str(real)) is not None:
            return None
        try:
            with real.open("rb") as fh:
                data = fh.read(MAX_FILE_CHARS + 1)
        except OSError:
            return None
        if b"\0" in data:
            return None  # binary
        return data.decode("utf-8", errors="replace")

    return read
