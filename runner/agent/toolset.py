"""Which built-in tools a run offers, and what they are given to work with.

A tool is offered when the permission policy could ever allow it (sending one that is always
denied only costs tokens): ``WebFetch`` and ``WebSearch`` therefore only with an allow rule (or
``bypassPermissions``), never by default. ``TaskOutput`` / ``TaskStop`` come with ``Bash``.
``WebSearch`` is the API's own server tool, sent where the provider runs it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from runner.agent import permissions
from runner.agent.netproxy import DomainRules
from runner.agent.sandbox import SandboxPlan
from runner.agent.tools import BASH_COMPANIONS, build_tools
from runner.agent.tools.background import BackgroundShells
from runner.agent.tools.base import Tool, ToolContext
from runner.agent.tools.web import WebAccess
from runner.settings.tools import ToolSettings

# The API's web search tool (versions: https://platform.claude.com/docs/.../web-search-tool).
WEB_SEARCH_TOOL = {"type": "web_search_20250305", "name": "web_search", "max_uses": 8}
# Bedrock does not offer it; Vertex AI (Claude 4+ models) and Foundry do.
WEB_SEARCH_PROVIDERS = frozenset({"anthropic", "vertex", "foundry"})


def offered_tools(policy: permissions.PermissionPolicy) -> list[Tool]:
    """The built-in tools the policy could ever allow."""
    tools = [
        tool
        for tool in build_tools()
        if permissions.can_ever_allow(
            policy, tool.name, read_only=tool.read_only, edits_files=tool.edits_files
        )
    ]
    if not any(tool.name == "Bash" for tool in tools):
        tools = [tool for tool in tools if tool.name not in BASH_COMPANIONS]
    return tools


def server_tools(
    policy: permissions.PermissionPolicy, provider: str, model: str = ""
) -> list[dict[str, Any]]:
    """The server tools to send: web search where the provider runs it and a rule allows it."""
    if provider not in WEB_SEARCH_PROVIDERS:
        return []
    if provider == "vertex" and model.startswith("claude-3"):  # Vertex AI: Claude 4 models and later
        return []
    if not permissions.can_ever_allow(policy, "WebSearch", read_only=False, edits_files=False):
        return []
    return [dict(WEB_SEARCH_TOOL)]


def equip(
    ctx: ToolContext, tools: list[Tool], settings: ToolSettings, sandbox: SandboxPlan | None
) -> ToolContext:
    """``ctx`` with the Bash timeouts, a background-command registry when Bash is offered, and
    WebFetch's limits (the sandbox's network rules when it filters the network)."""
    config = sandbox.config if sandbox is not None else None
    domains = (
        DomainRules(config.allowed_domains, config.denied_domains)
        if config is not None and config.filters_network
        else None
    )
    return dataclasses.replace(
        ctx,
        bash_default_timeout_ms=settings.bash_default_timeout_ms,
        bash_max_timeout_ms=settings.bash_max_timeout_ms,
        background=BackgroundShells() if any(t.name == "Bash" for t in tools) else None,
        web=WebAccess(domains=domains, allow_private=settings.webfetch_allow_private),
    )
