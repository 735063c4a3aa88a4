"""The CI jobs the runner runs in: ``github`` (Actions) and ``gitlab`` (GitLab CI).

Each module is the edge of one command (``claude-runner github`` / ``gitlab``): it turns the job's
settings into a ``Job``, a platform adapter and an event, and hands them to the flow.
"""

from __future__ import annotations

from runner.platforms.retry import ApiRetryPolicy
from runner.settings.api import ApiSettings


def retry_policy(api: ApiSettings) -> ApiRetryPolicy:
    """The adapters' retry policy from the job's ``CLAUDE_RUNNER_API_*`` settings."""
    return ApiRetryPolicy(
        attempts=api.retries + 1,
        base_s=api.retry_base_ms / 1000,
        total_s=float(api.retry_max_s),
        timeout_s=api.timeout_s,
    )
