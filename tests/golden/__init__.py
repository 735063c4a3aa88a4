"""Golden files: the exact first request the model receives for ``run``, a GitHub mention and a
review (system prompt, tools, first message), so any change to what the model sees shows up in
review as a diff of these files.

Volatile parts are normalised: the test's temporary directory, dates and times, loopback ports,
commit ids, a run's temporary directory. ``UPDATE_GOLDEN=1 pytest tests/golden`` rewrites the
files after a deliberate change.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

_VOLATILE = [
    (re.compile(r"\b\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?\b"), "<date>"),
    (re.compile(r"(127\.0\.0\.1|localhost):\d+"), r"\1:<port>"),
    (re.compile(r"\b[0-9a-f]{40}\b"), "<sha>"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "<sha12>"),
    (re.compile(r"claude-runner-[0-9a-z_]{8}\b"), "claude-runner-<run>"),  # a run's temporary directory
]


def first_request(body: Mapping[str, Any]) -> dict[str, Any]:
    """What the golden files hold of a request: system, tools, first message."""
    return {"system": body["system"], "tools": body["tools"], "first_message": body["messages"][0]}


def normalise(view: Any, paths: Mapping[str, str]) -> Any:
    """``view`` with each of ``paths`` (a real path ⇒ its placeholder) and the volatile parts replaced."""
    text = json.dumps(view, ensure_ascii=False)
    for real, placeholder in sorted(paths.items(), key=lambda item: -len(item[0])):
        text = text.replace(real, placeholder)
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return json.loads(text)


def check(name: str, view: Any) -> None:
    """Compare ``view`` with ``tests/golden/<name>.json``; with ``UPDATE_GOLDEN=1``, rewrite it."""
    path = HERE / f"{name}.json"
    got = json.dumps(view, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(got, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 pytest tests/golden"
    expected = path.read_text(encoding="utf-8")
    if got != expected:
        diff = "".join(
            difflib.unified_diff(expected.splitlines(True), got.splitlines(True), str(path), "this run", n=2)
        )
        raise AssertionError(
            f"the first request for {name} changed (UPDATE_GOLDEN=1 accepts it after review):\n{diff}"
        )
