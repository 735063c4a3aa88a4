"""The fake Messages API's Models API: ``GET /v1/models`` and ``GET /v1/models/{model_id}`` (stdlib only).

Answers follow the API's schema (the SDK's ``ModelInfo``, ``SyncPage``): newest model first, pages
of ``limit`` (default 20, 1 to 1000) walked with ``after_id`` / ``before_id``, ``has_more``,
``first_id`` and ``last_id``; an unknown id is a 404 ``not_found_error``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class ServedModel:
    """One model the fake lists."""

    id: str
    display_name: str
    created_at: str  # RFC 3339
    line: str | None = None
    max_input_tokens: int = 1_000_000
    max_tokens: int = 128_000

    def info(self) -> dict[str, Any]:
        """The ``ModelInfo`` object."""
        return {
            "type": "model",
            "id": self.id,
            "display_name": self.display_name,
            "created_at": self.created_at,
            "lifecycle": "active",
            "deprecated_at": None,
            "retires_at": None,
            "line": self.line,
            "max_input_tokens": self.max_input_tokens,
            "max_tokens": self.max_tokens,
        }


# What the fake serves unless told otherwise: a few of today's models, newest first.
DEFAULT_MODELS: tuple[ServedModel, ...] = (
    ServedModel("claude-fable-5-2", "Claude Fable 5.2", "2026-11-09T00:00:00Z", "fable"),
    ServedModel("claude-haiku-5-5", "Claude Haiku 5.5", "2026-10-07T00:00:00Z", "haiku"),
    ServedModel("claude-sonnet-5-5", "Claude Sonnet 5.5", "2026-09-29T00:00:00Z", "sonnet"),
    ServedModel("claude-opus-5-5", "Claude Opus 5.5", "2026-09-22T00:00:00Z", "opus"),
    ServedModel("claude-opus-5", "Claude Opus 5", "2026-07-24T00:00:00Z", "opus"),
    ServedModel("claude-sonnet-5", "Claude Sonnet 5", "2026-07-01T00:00:00Z", "sonnet"),
    ServedModel("claude-opus-4-8", "Claude Opus 4.8", "2026-05-28T00:00:00Z", "opus"),
    ServedModel(
        "claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z", "sonnet", 1_000_000, 64_000
    ),
    ServedModel(
        "claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-15T00:00:00Z", "haiku", 200_000, 64_000
    ),
)


def served_models(ids: Iterable[str] | None) -> tuple[ServedModel, ...]:
    """The models to list: ``DEFAULT_MODELS``, or these ids (newest first, as given)."""
    if ids is None:
        return DEFAULT_MODELS
    known = {m.id: m for m in DEFAULT_MODELS}
    return tuple(known.get(i) or ServedModel(i, i, "2026-01-01T00:00:00Z") for i in ids)


def models_reply(path: str, models: Sequence[ServedModel]) -> tuple[int, dict[str, Any]]:
    """(status, body) for a ``GET /v1/models...`` path."""
    parts = urlsplit(path)
    route = parts.path.rstrip("/")
    if route != "/v1/models":
        model_id = route.removeprefix("/v1/models/")
        for model in models:
            if model.id == model_id:
                return 200, model.info()
        return 404, _error("not_found_error", f"model: {model_id}")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        return 400, _error("invalid_request_error", "limit: Input should be a valid integer")
    if not 1 <= limit <= 1000:
        return 400, _error("invalid_request_error", "limit: Input should be between 1 and 1000")
    ids = [m.id for m in models]
    start, end = 0, len(models)
    if "after_id" in query and query["after_id"] in ids:
        start = ids.index(query["after_id"]) + 1
    if "before_id" in query and query["before_id"] in ids:
        end = ids.index(query["before_id"])
        start = max(start, end - limit) if "after_id" not in query else start
    page = list(models[start:end][:limit])
    data = [m.info() for m in page]
    has_more = start + len(page) < end if "before_id" not in query else start > 0
    return 200, {
        "data": data,
        "has_more": has_more,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}
