"""How hard the runner tries each call to GitHub or GitLab: the ``CLAUDE_RUNNER_API_*`` variables,
read once. The adapters' retry policy (``runner/platforms/retry.py``) is built from these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runner.errors import UsageError
from runner.settings.run import env_int


@dataclass(frozen=True)
class ApiSettings:
    """Retries of calls to the code host: ``retries`` after the first try, waits from
    ``retry_base_ms`` doubling (up to 30 s, with jitter), no retry past ``retry_max_s`` since the
    first try, and ``timeout_s`` to connect and for each read."""

    retries: int = 5
    retry_base_ms: int = 1000
    retry_max_s: int = 120
    timeout_s: float = 30.0


def read_api_settings(env: Mapping[str, str]) -> ApiSettings:
    """``CLAUDE_RUNNER_API_RETRIES``, ``_RETRY_BASE_MS``, ``_RETRY_MAX_S`` and ``_TIMEOUT_S``."""
    defaults = ApiSettings()
    raw = env.get("CLAUDE_RUNNER_API_TIMEOUT_S", "").strip()
    try:
        timeout = float(raw) if raw else defaults.timeout_s
    except ValueError:
        timeout = -1.0
    if not timeout > 0:
        raise UsageError(f"CLAUDE_RUNNER_API_TIMEOUT_S must be a number of seconds above 0 (got {raw!r})")
    return ApiSettings(
        retries=env_int(env, "CLAUDE_RUNNER_API_RETRIES", defaults.retries),
        retry_base_ms=env_int(env, "CLAUDE_RUNNER_API_RETRY_BASE_MS", defaults.retry_base_ms),
        retry_max_s=env_int(env, "CLAUDE_RUNNER_API_RETRY_MAX_S", defaults.retry_max_s),
        timeout_s=timeout,
    )
