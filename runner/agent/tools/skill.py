"""Skill: Claude Code's tool for the model to use a skill. The skills' names and descriptions are
listed in the tool's description; a call returns the skill's instructions (its ``SKILL.md`` with
the arguments substituted) and where its directory is, which the file tools may read."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any, ClassVar

from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult, str_arg
from runner.project.commands import CommandDef

MAX_LISTED_DESCRIPTION = 250  # characters of each description in the listing


class SkillTool(Tool):
    """Claude Code's ``Skill`` tool over the run's skills (``{"skill": name, "args": ...}``)."""

    name: ClassVar[str] = "Skill"
    description: ClassVar[str] = "Execute a skill within the main conversation."
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "skill": {"type": "string", "description": 'The skill name, e.g. "pdf" or "my-plugin:review"'},
            "args": {"type": "string", "description": "Optional arguments for the skill"},
        },
        "required": ["skill"],
        "additionalProperties": False,
    }
    # Read-only: allowed unless a rule denies it (--disallowedTools Skill), as in Claude Code.

    def __init__(
        self, skills: Sequence[CommandDef], expand: Callable[[CommandDef, str, ToolContext], str]
    ) -> None:
        self.skills = {s.name: s for s in skills if s.model_invocable}
        self.expand = expand  # a skill's body with its arguments (runner/project/command_expand.py)
        self.used: list[str] = []

    def definition(self) -> dict[str, Any]:
        """The tool with the skills listed in its description, as Claude Code lists them."""
        listed = "\n".join(
            f"<skill>\n<name>{escape(s.name)}</name>\n<description>"
            f"{escape(s.description[:MAX_LISTED_DESCRIPTION])}</description>\n</skill>"
            for s in self.skills.values()
        )
        text = (
            f"{self.description}\n\nWhen a task matches one of the available skills below, call this tool "
            "with the skill's name (and optional args) before doing the task: it returns the skill's "
            "instructions. Only use skills listed here.\n\n"
            f"<available_skills>\n{listed}\n</available_skills>"
        )
        return {"name": self.name, "description": text, "input_schema": self.input_schema}

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """The instructions of the skill named, with its base directory."""
        name = str_arg(args, "skill").strip().lstrip("/")
        skill = self.skills.get(name)
        if skill is None:
            known = ", ".join(self.skills) or "none"
            raise ToolError(f"Unknown skill: {name}. Available skills: {known}")
        self.used.append(name)
        body = self.expand(skill, str_arg(args, "args", required=False), ctx)
        return ToolResult(
            f"Launching skill: {name}\n\nBase directory for this skill: {skill.skill_dir}\n\n{body}"
        )
