"""What to do about a model API error: one table for ``doctor`` and for a run that failed."""

from __future__ import annotations

MODEL_ID_FIX = (
    "check the model id, or that the model is enabled for this account and region "
    "(--model, ANTHROPIC_MODEL, ANTHROPIC_DEFAULT_*_MODEL)"
)
CONNECTION_FIX = "check the network and the base URL (ANTHROPIC_BASE_URL, or the provider's region)"
RETRY_LATER_FIX = "retry later; if it persists, check the provider's status page"


def credentials_fix(provider: str, key_source: str, label: str) -> str:
    """The fix for a 401/403: which credential to check."""
    if provider == "anthropic":
        return f"check {key_source} (a valid, active key for this endpoint)"
    return f"check {key_source} and its permissions on {label}"


def model_error_fix(
    status: int | None, *, provider: str = "anthropic", key_source: str = "", label: str = ""
) -> str:
    """The fix for a model call that failed with HTTP ``status`` (None: no response arrived)."""
    if status is None:
        return CONNECTION_FIX
    if status in (401, 403):
        known = key_source not in ("", "none")
        return credentials_fix(
            provider, key_source if known else "ANTHROPIC_API_KEY", label or "the provider"
        )
    if status == 404:
        return MODEL_ID_FIX
    if status == 400:
        return "check the request's options (model id, --max-output-tokens, --json-schema)"
    return RETRY_LATER_FIX
