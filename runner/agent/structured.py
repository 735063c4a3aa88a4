"""``--json-schema``: the final answer is a tool call validated against the user's schema."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult
from runner.errors import UsageError

STRUCTURED_OUTPUT_TOOL = "StructuredOutput"


def load_schema(raw: str) -> dict[str, Any]:
    """Parse ``--json-schema``: inline JSON, or ``@file`` / a path to a JSON file; check it is a schema."""
    import jsonschema

    text = raw
    candidate = raw[1:] if raw.startswith("@") else raw
    if raw.startswith("@") or (not raw.lstrip().startswith("{") and Path(candidate).is_file()):
        try:
            text = Path(candidate).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--json-schema: cannot read {candidate}: {exc.strerror}") from exc
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--json-schema is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(schema, dict):
        raise UsageError("--json-schema must be a JSON object (a JSON Schema)")
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise UsageError(f"--json-schema is not a valid JSON Schema: {exc.message}") from exc
    return schema


class StructuredOutputTool(Tool):
    """Offered only with ``--json-schema``; a valid call ends the run with ``structured_output``."""

    name: ClassVar[str] = STRUCTURED_OUTPUT_TOOL
    description: ClassVar[str] = (
        "Give your final answer by calling this tool once, with input matching the required schema. "
        "Call it when the task is done."
    )
    input_schema: ClassVar[dict[str, Any]] = {}
    needs_permission: ClassVar[bool] = False

    def __init__(self, schema: dict[str, Any]) -> None:
        import jsonschema

        # The Messages API needs an object at the top of input_schema; wrap anything else.
        self.wrapped = schema.get("type") != "object"
        self.schema = schema
        self.tool_schema = (
            {"type": "object", "properties": {"output": schema}, "required": ["output"]}
            if self.wrapped
            else schema
        )
        self._validator = jsonschema.validators.validator_for(schema)(schema)
        self.value: Any = None

    def definition(self) -> dict[str, Any]:
        """The tool with the user's schema as its input schema."""
        return {"name": self.name, "description": self.description, "input_schema": self.tool_schema}

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Validate; on success remember the value, on failure tell the model what to fix."""
        value = args.get("output") if self.wrapped else dict(args)
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [f"- {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:10]]
            raise ToolError("The output does not match the required schema:\n" + "\n".join(lines))
        self.value = value
        return ToolResult("Structured output accepted.")
