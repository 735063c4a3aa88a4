"""Reading a webhook payload file, the same way for every platform."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.errors import UsageError


def read_payload_file(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; a one-line ``UsageError`` when it is missing, unreadable, not
    JSON, or not a JSON object."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"event file {path} does not exist", "pass the webhook payload file") from None
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"event file {path} is not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})",
            "save the payload as UTF-8 JSON, as GitHub and GitLab send it",
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot read event file {path}: {exc.strerror or exc}") from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"event file {path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(payload, dict):
        raise UsageError(f"event file {path} does not hold a JSON object")
    return payload
