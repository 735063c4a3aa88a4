"""GitHub's published OpenAPI description (npm `@octokit/openapi`) as JSON Schema validators.

`OpenAPI(path)` loads the description once, converts its OpenAPI 3.0 schema dialect to JSON Schema
(`nullable: true` becomes a type union with "null"), and validates a response body against the
schema the description gives for an operation's status code. `$ref`s are resolved lazily by
`referencing` against the whole document. With `strict` (the default) every object schema that
lists `properties` is closed (`additionalProperties: false`), so a fake cannot emit a property the
description does not document (e.g. a typo) without failing.

Where the file is: `$GITHUB_OPENAPI_JSON`, else the copy `scripts/fetch-github-openapi.sh` installs.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
ENV_VAR = "GITHUB_OPENAPI_JSON"
DEFAULT_PATH = ROOT / ".cache/octokit-openapi/node_modules/@octokit/openapi/generated/api.github.com.json"
FETCH_SCRIPT = "scripts/fetch-github-openapi.sh"
URI = "urn:github-openapi"
_ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")

FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    """GitHub writes timestamps as ISO-8601 UTC with a `Z`."""
    return not isinstance(value, str) or bool(_ISO_Z.fullmatch(value))


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urllib.parse.urlsplit(value)
    return bool(parts.scheme and parts.netloc)


def description_path() -> Path:
    """The description file: `$GITHUB_OPENAPI_JSON` or the cached npm package."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


def to_json_schema(node: Any, *, strict: bool) -> Any:
    """OpenAPI 3.0 schema objects (recursively) as JSON Schema draft 4."""
    if isinstance(node, list):
        return [to_json_schema(item, strict=strict) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: to_json_schema(value, strict=strict) for key, value in node.items()}
    # "properties" and "examples" map names to schemas/values; a property named "nullable" stays as is.
    props = out.get("properties")
    if (
        strict
        and isinstance(props, dict)
        and "additionalProperties" not in out
        and out.get("type") in ("object", None)
        and all(isinstance(v, dict) for v in props.values())
    ):
        out["additionalProperties"] = False
    nullable = out.get("nullable")
    if isinstance(nullable, bool):  # not a property that happens to be called "nullable"
        del out["nullable"]
    if nullable is True:
        if "type" in out and isinstance(out["type"], str):
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [{"type": "null"}, out]}
    return out


def _template_regex(template: str) -> str:
    """A path template as a regex; `{path}` (a file path) may span segments, other parameters not."""
    parts = re.split(r"(\{[^}]+\})", template)
    return "".join(
        (".+" if part == "{path}" else "[^/]+") if part.startswith("{") else re.escape(part) for part in parts
    )


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class Operation:
    """One operation of the description: its path template and method."""

    template: str
    method: str
    operation: dict[str, Any]

    @property
    def operation_id(self) -> str:
        """The description's `operationId`, e.g. `issues/create-comment`."""
        return str(self.operation.get("operationId", f"{self.method} {self.template}"))


class OpenAPI:
    """The description, ready to find operations and validate responses."""

    def __init__(self, path: Path, *, strict: bool = True) -> None:
        raw = json.loads(path.read_text(encoding="utf-8"))
        self.openapi_version: str = raw["openapi"]
        self.info_version: str = raw.get("info", {}).get("version", "?")
        self.doc: dict[str, Any] = {
            "paths": raw["paths"],  # operations are read as they are; their schemas are converted below
            "components": to_json_schema(raw["components"], strict=strict),
        }
        for item in self.doc["paths"].values():
            for method, op in item.items():
                if isinstance(op, dict) and "responses" in op:
                    item[method] = {**op, "responses": to_json_schema(op["responses"], strict=strict)}
        resource = Resource.from_contents(self.doc, default_specification=DRAFT4)
        self.registry: Registry[Any] = Registry().with_resource(URI, resource)
        templates = sorted(raw["paths"], key=lambda t: t.count("{"))  # literal segments win
        self._templates = [(t, re.compile(f"^{_template_regex(t)}$")) for t in templates]

    def operation(self, method: str, path: str) -> Operation:
        """The operation serving `method` `path` (a concrete path; `/api/v3` and query stripped)."""
        path = urllib.parse.urlsplit(path).path
        path = path.removeprefix("/api/v3") if path.startswith("/api/v3/") else path
        for template, regex in self._templates:
            op = self.doc["paths"][template].get(method.lower())
            if op is not None and regex.match(path):
                return Operation(template, method.lower(), op)
        raise LookupError(f"no operation for {method} {path} in the description")

    def response_pointer(self, op: Operation, status: int) -> str | None:
        """JSON pointer to the `application/json` schema of `op`'s response `status` (None: no body)."""
        responses = op.operation["responses"]
        if str(status) not in responses:
            raise LookupError(f"{op.operation_id} documents no {status} response (has {sorted(responses)})")
        response = responses[str(status)]
        pointer = _pointer("paths", op.template, op.method, "responses", str(status))
        if "$ref" in response:
            pointer = response["$ref"].removeprefix("#")
            response = self.registry.resolver(URI).lookup(URI + "#" + pointer).contents
        if "application/json" not in response.get("content", {}):
            return None
        return pointer + _pointer("content", "application/json", "schema")

    @cache  # noqa: B019 - one OpenAPI per session; the validators are worth keeping
    def validator(self, pointer: str) -> Draft4Validator:
        """A validator for the schema at `pointer` (e.g. `/components/schemas/basic-error`)."""
        return Draft4Validator({"$ref": f"{URI}#{pointer}"}, registry=self.registry, format_checker=FORMATS)

    def errors(self, pointer: str, body: Any) -> list[str]:
        """Every way `body` breaks the schema at `pointer`, one line each (empty: valid)."""
        found = sorted(self.validator(pointer).iter_errors(body), key=lambda e: list(e.absolute_path))
        lines = []
        for error in found:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            detail = min(error.context or [error], key=lambda e: len(e.message)).message
            lines.append(f"{where}: {error.message[:300]}" + (f" [{detail[:200]}]" if error.context else ""))
        return lines
