"""NotebookEdit: Claude Code's tool for one cell of a Jupyter notebook (.ipynb JSON).

The notebook is reached like every edited file (``fdio``: path confinement, no link followed,
written through a temporary file and a rename) and its permission is an edit's: ``Edit(...)``
rules and ``acceptEdits`` cover it. A cell is named by its ``id`` (nbformat 4.5+), or as
``cell-N`` / ``N`` (0-based position) for notebooks without ids.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult, str_arg
from runner.agent.tools.fdio import Target, describe_non_file, lstat, open_read, target, write_atomic
from runner.agent.tools.paths import display_path

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_RENDERED_CHARS = 256 * 1024  # what Read shows of a notebook
MAX_OUTPUT_CHARS = 2000  # of each cell's outputs
_POSITION = re.compile(r"(?:cell-)?(\d+)")


def _load(t: Target) -> dict[str, Any]:
    problem = describe_non_file(t, lstat(t))
    if problem is not None:
        raise problem
    with open_read(t) as fh:
        data = fh.read(MAX_NOTEBOOK_BYTES + 1)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise ToolError(f"{t.raw} is larger than {MAX_NOTEBOOK_BYTES:,} bytes")
    try:
        notebook = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ToolError(f"{t.raw} is not a notebook (not valid JSON: {exc})") from exc
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ToolError(f"{t.raw} is not a notebook (no `cells` list)")
    return notebook


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _outputs(cell: Mapping[str, Any]) -> str:
    parts = []
    for out in cell.get("outputs") or []:
        if not isinstance(out, dict):
            continue
        if "text" in out:
            parts.append(_text(out["text"]))
        elif isinstance(out.get("data"), dict) and "text/plain" in out["data"]:
            parts.append(_text(out["data"]["text/plain"]))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename', 'Error')}: {out.get('evalue', '')}")
        elif isinstance(out.get("data"), dict):
            parts.append(f"[{', '.join(out['data'])} output]")
    text = "\n".join(p.rstrip("\n") for p in parts)
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS] + "\n[... output cut ...]"


def render_notebook(t: Target) -> str | None:
    """The notebook's cells as Read shows them (ids to pass to NotebookEdit), or None if it is not one."""
    try:
        notebook = _load(t)
    except ToolError:
        return None
    shown = []
    for index, cell in enumerate(notebook["cells"]):
        if not isinstance(cell, dict):
            continue
        cell_id = cell.get("id") or f"cell-{index}"
        head = f'<cell id="{cell_id}" type="{cell.get("cell_type", "code")}">'
        body = _text(cell.get("source"))
        outputs = _outputs(cell)
        if outputs:
            body += f"\n<output>\n{outputs}\n</output>"
        shown.append(f"{head}\n{body}\n</cell>")
    text = "\n".join(shown) or "(a notebook with no cells)"
    if len(text) > MAX_RENDERED_CHARS:
        text = text[:MAX_RENDERED_CHARS] + "\n[... notebook cut at 256 KiB ...]"
    return text


def _find(cells: list[Any], cell_id: str) -> int:
    for index, cell in enumerate(cells):
        if isinstance(cell, dict) and cell.get("id") == cell_id:
            return index
    match = _POSITION.fullmatch(cell_id)
    if match and int(match.group(1)) < len(cells):
        return int(match.group(1))
    raise ToolError(f"no cell with id `{cell_id}` (the notebook has {len(cells)} cells)")


def _new_cell(notebook: Mapping[str, Any], cell_type: str, source: str) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": cell_type, "metadata": {}, "source": source}
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    if (notebook.get("nbformat"), notebook.get("nbformat_minor", 0)) >= (4, 5):
        cell["id"] = os.urandom(4).hex()  # nbformat 4.5 requires ids
    return cell


class NotebookEdit(Tool):
    """Replace, insert or delete one notebook cell."""

    name: ClassVar[str] = "NotebookEdit"
    description: ClassVar[str] = (
        "Edit a Jupyter notebook cell: replace its source (edit_mode replace, the default), insert a new "
        "cell after cell_id (at the start when cell_id is omitted; cell_type required), or delete it. "
        "cell_id is the cell's id, or cell-N for the N-th cell (0-based)."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "notebook_path": {"type": "string", "description": "Path of the .ipynb file"},
            "cell_id": {"type": "string", "description": "The cell to edit, or to insert after"},
            "new_source": {"type": "string", "description": "The cell's new source"},
            "cell_type": {"type": "string", "enum": ["code", "markdown"]},
            "edit_mode": {"type": "string", "enum": ["replace", "insert", "delete"]},
        },
        "required": ["notebook_path", "new_source"],
        "additionalProperties": False,
    }
    read_only: ClassVar[bool] = False
    edits_files: ClassVar[bool] = True

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Apply the edit and write the notebook back."""
        raw = str_arg(args, "notebook_path")
        source = str_arg(args, "new_source")
        cell_id = str_arg(args, "cell_id", required=False)
        mode = str_arg(args, "edit_mode", required=False, default="replace")
        cell_type = str_arg(args, "cell_type", required=False)
        if mode not in ("replace", "insert", "delete"):
            raise ToolError("edit_mode must be replace, insert or delete")
        if cell_type not in ("", "code", "markdown"):
            raise ToolError("cell_type must be code or markdown")
        if not raw.endswith(".ipynb"):
            raise ToolError(f"{raw} is not a .ipynb file; use Edit for other files")
        t = target(raw, ctx, for_write=True)
        notebook = _load(t)
        cells: list[Any] = notebook["cells"]
        if mode == "insert":
            if not cell_type:
                raise ToolError("cell_type (code or markdown) is required to insert a cell")
            at = _find(cells, cell_id) + 1 if cell_id else 0
            cells.insert(at, _new_cell(notebook, cell_type, source))
            done = f"Inserted a {cell_type} cell at position {at}"
        else:
            if not cell_id:
                raise ToolError(f"cell_id is required to {mode} a cell")
            at = _find(cells, cell_id)
            if mode == "delete":
                del cells[at]
                done = f"Deleted cell {cell_id}"
            else:
                cell = cells[at]
                if not isinstance(cell, dict):
                    raise ToolError(f"cell {cell_id} is not an object")
                if cell_type and cell_type != cell.get("cell_type"):
                    cells[at] = cell = {
                        **_new_cell(notebook, cell_type, source),
                        **({"id": cell["id"]} if "id" in cell else {}),
                    }
                cell["source"] = source
                if cell.get("cell_type") == "code":  # the old outputs no longer belong to this source
                    cell.update(execution_count=None, outputs=[])
                done = f"Replaced the source of cell {cell_id}"
        text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
        try:
            write_atomic(t, text.encode("utf-8"))
        except OSError as exc:
            raise ToolError(f"could not write {raw}: {exc.strerror or exc}") from exc
        return ToolResult(f"{done} in {display_path(t.real, ctx)}.")
