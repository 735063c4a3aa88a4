"""Subagent definitions as Claude Code reads them: Markdown files with YAML-style frontmatter
(``name``, ``description``, ``tools``, ``disallowedTools``, ``model``, ``permissionMode``; other
keys are ignored; the body is the agent's system prompt) from ``.claude/agents/``, and the
``--agents`` JSON (the same fields, the system prompt under ``prompt``). Pure parsing: where
files come from is the caller's business."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.project.frontmatter import list_field, split_frontmatter

PERMISSION_MODES = ("default", "acceptEdits", "dontAsk", "bypassPermissions", "plan")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_MAX_FILE_BYTES = 256 * 1024


@dataclass(frozen=True)
class AgentDefinition:
    """One subagent: ``tools`` None inherits the parent's tools; ``model`` None inherits its model."""

    name: str
    description: str
    prompt: str
    tools: tuple[str, ...] | None
    model: str | None
    permission_mode: str | None
    source: str
    disallowed_tools: tuple[str, ...] = ()  # ``disallowedTools``: taken away from the tools above


def parse_agent_file(text: str, *, source: str, namespace: str | None = None) -> AgentDefinition:
    """The agent defined by one ``.md`` file's text; ValueError (one line) when it is malformed."""
    if not text.lstrip("\ufeff").startswith("---"):
        raise ValueError("no frontmatter: the file must start with a '---' line")
    meta, body = split_frontmatter(text)
    return _definition(meta, body.strip(), source=source, namespace=namespace)


def load_agent_dir(
    directory: Path, *, namespace: str | None = None, warn: Callable[[str], None]
) -> list[AgentDefinition]:
    """Every agent under ``directory`` (``*.md``, subfolders included, in name order); a file that
    does not parse, or repeats a name, is skipped with one warning."""
    if not directory.is_dir():
        return []
    found: dict[str, AgentDefinition] = {}
    for path in sorted(directory.rglob("*.md")):
        if not path.is_file():
            continue
        try:
            if path.stat().st_size > _MAX_FILE_BYTES:
                raise ValueError(f"larger than {_MAX_FILE_BYTES // 1024} KiB")
            agent = parse_agent_file(
                path.read_text(encoding="utf-8", errors="replace"), source=str(path), namespace=namespace
            )
        except (OSError, ValueError) as exc:
            warn(f"warning: agent file {path} skipped: {exc}")
            continue
        if agent.name in found:
            first = found[agent.name].source
            warn(f"warning: agent file {path} skipped: {agent.name!r} is already defined in {first}")
            continue
        found[agent.name] = agent
    return list(found.values())


def parse_agents_json(text: str, *, source: str = "--agents") -> list[AgentDefinition]:
    """The agents of ``--agents '{"name": {"description": ..., "prompt": ..., ...}}'``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source} is not valid JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(data, dict):
        shape = '{"agent-name": {"description": ..., "prompt": ...}}'
        raise ValueError(f"{source} must be a JSON object: {shape}")
    agents = []
    for name, fields in data.items():
        if not isinstance(fields, dict):
            raise ValueError(f"{source}: agent {name!r} must be an object with description and prompt")
        prompt = fields.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"{source}: agent {name!r} needs a non-empty prompt")
        agents.append(_definition({**fields, "name": name}, prompt.strip(), source=source, namespace=None))
    return agents


def _definition(
    meta: Mapping[str, object], prompt: str, *, source: str, namespace: str | None
) -> AgentDefinition:
    name = _text(meta, "name")
    if not name:
        raise ValueError("frontmatter needs a name")
    if not _NAME.fullmatch(name):
        raise ValueError(f"agent name {name!r} may hold only letters, digits, '-', '_' and '.'")
    description = _text(meta, "description")
    if not description:
        raise ValueError(f"agent {name!r} needs a description")
    if not prompt:
        raise ValueError(f"agent {name!r} has no system prompt (the text after the frontmatter)")
    mode = _text(meta, "permissionMode") or None
    if mode is not None and mode not in PERMISSION_MODES:
        modes = ", ".join(PERMISSION_MODES)
        raise ValueError(f"agent {name!r}: permissionMode {mode!r} is not one of {modes}")
    model = _text(meta, "model") or None
    if model is not None and model.lower() == "inherit":
        model = None
    return AgentDefinition(
        name=f"{namespace}:{name}" if namespace else name,
        description=description,
        prompt=prompt,
        tools=_tools(meta.get("tools"), name),
        disallowed_tools=_tools(meta.get("disallowedTools"), name) or (),
        model=model,
        permission_mode=mode,
        source=source,
    )


def _text(meta: Mapping[str, object], key: str) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{key} must be text")
    return value.strip()


def _tools(value: object, name: str) -> tuple[str, ...] | None:
    """Absent or empty: inherit (None); a comma list, ``[a, b]`` or a list of names: those, in
    order, once each (a comma inside a rule's parentheses does not split it)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(item, str) for item in value)):
        return list_field({"tools": value}, "tools")
    raise ValueError(f"agent {name!r}: tools must be a comma-separated list of tool names")
