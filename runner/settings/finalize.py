"""Which CI job ``claude-runner finalize`` runs in (its settings are read by ``github.py`` and
``gitlab.py``, the same variables and credentials as the main step's)."""

from __future__ import annotations

from collections.abc import Mapping

from runner.errors import UsageError


def finalize_platform(env: Mapping[str, str], given: str | None) -> str:
    """``given``, else the CI the job runs in (``GITHUB_ACTIONS`` / ``GITLAB_CI``)."""
    if given:
        return given
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("GITLAB_CI") == "true":
        return "gitlab"
    raise UsageError(
        "claude-runner finalize: neither GITHUB_ACTIONS nor GITLAB_CI is set",
        "run it in the job's always() step or after_script, or pass --platform github|gitlab",
    )
