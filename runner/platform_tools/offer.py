"""Which platform tools a run is offered, and the rules that let the calls through.

As claude-code-action decides for its MCP servers: on a mention (tag mode) the tracking comment's
``update_claude_comment`` and, on a change request whose CI the token can read, the CI tools are on
by default (allowed without a rule); in automation runs (a ``prompt``) each needs an allow rule that
names it (``--allowedTools mcp__github_ci``, ``mcp__github_issues__add_labels``...). Comments,
labels, issues and inline comments always need one. A deny rule naming a tool removes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runner.agent.permission_rules import Rule, names_tool, parse_rule
from runner.agent.tools.base import Tool
from runner.platform_tools.actions import ActionScope, action_tools, update_comment_tool
from runner.platform_tools.base import Automation
from runner.platform_tools.ci import CIScope, ci_tools
from runner.platform_tools.inline import CreateInlineComment, inline_comment_tool
from runner.sanitize import Redactor


@dataclass(frozen=True)
class RunFacts:
    """What the flow knows about the run that decides the offer."""

    platform: str  # "github" or "gitlab"
    tag_mode: bool  # a mention (or track_progress), not an automation prompt
    number: int | None  # the issue or change request
    change_request: bool
    head_sha: str | None  # the change request's (or upstream workflow run's) head commit
    allow: Sequence[str] = ()  # allow rules, as written (flags and trusted settings)
    deny: Sequence[str] = ()


@dataclass
class PlatformToolset:
    """The tools offered, the allow rules the flow adds for the ones on by default, and what to do
    when the turn ends."""

    tools: list[Tool] = field(default_factory=list)
    default_allow: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)  # for the job log: what was offered or left out
    inline: CreateInlineComment | None = None

    def finish(self, ok: bool) -> list[str]:
        """Post the inline comments kept for the end when the turn ended well; errors, one line each."""
        if self.inline is None or not ok:
            return []
        return self.inline.flush()


def _rules(texts: Iterable[str]) -> list[Rule]:
    rules = []
    for text in texts:
        try:
            rules.append(parse_rule(text, base_dir=Path("/")))
        except ValueError:
            continue  # the policy reports a bad rule; here it names nothing
    return rules


def named(rules: Sequence[Rule], tool: str, *, deny: bool = False) -> bool:
    """Whether a rule names ``tool`` (an allow rule: by an ``mcp__`` rule; a deny rule: any
    whole-tool rule, ``*`` included)."""
    return any(
        names_tool(r, tool, edits_files=False)
        and (r.tool.startswith("mcp__") if not deny else r.specifier is None)
        for r in rules
    )


def build_toolset(
    facts: RunFacts,
    automation: Automation | None,
    *,
    logs_dir: Path,
    redactor: Redactor,
    log: Callable[[str], None],
    progress: Callable[[str], bool] | None = None,
    comment_url: Callable[[], str | None] = lambda: None,
) -> PlatformToolset:
    """The platform tools for one run (``automation`` None: the platform offers none)."""
    allow, deny = _rules(facts.allow), _rules(facts.deny)
    out = PlatformToolset()

    def offer(tool: Tool, *, default: bool) -> bool:
        if named(deny, tool.name, deny=True):
            out.notes.append(f"{tool.name}: denied by a rule")
            return False
        if default:
            out.default_allow = (*out.default_allow, tool.name)
        elif not named(allow, tool.name):
            return False
        out.tools.append(tool)
        return True

    p = facts.platform
    if progress is not None:
        offer(update_comment_tool(p, progress, comment_url), default=True)
    if automation is None:
        return out
    if facts.change_request and facts.head_sha:
        scope = CIScope(automation, facts.head_sha, logs_dir, redactor)
        candidates = [t for t in ci_tools(p, scope) if facts.tag_mode or named(allow, t.name)]
        if candidates and not named(deny, candidates[0].name, deny=True):
            if automation.can_read_ci():
                for tool in candidates:
                    offer(tool, default=facts.tag_mode)
            else:
                fix = (
                    "actions: read in the workflow's permissions"
                    if p == "github"
                    else "a token with read_api"
                )
                out.notes.append(f"the CI tools are not offered: the token cannot read CI runs ({fix})")
    actions = ActionScope(
        automation, p, facts.number, facts.change_request, redactor, log, head_sha=facts.head_sha
    )
    for tool in action_tools(actions):
        offer(tool, default=False)
    if facts.change_request and facts.number is not None:
        inline = inline_comment_tool(actions)
        if offer(inline, default=False):
            out.inline = inline
    if out.tools:
        out.notes.insert(0, "platform tools: " + ", ".join(t.name for t in out.tools))
    return out
