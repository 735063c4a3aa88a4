"""The ``Automation`` (``runner/platform_tools/base.py``) of a platform adapter: its CI reads and
platform actions, in modules of their own (``github_actions.py``, ``gitlab_pipelines.py``)."""

from __future__ import annotations

from runner.platform_tools.base import Automation
from runner.platforms.base import Platform


def automation_of(platform: Platform) -> Automation | None:
    """The adapter's ``Automation``; None for a platform without one (a test double)."""
    from runner.platforms.github import GitHubPlatform
    from runner.platforms.gitlab import GitLabPlatform

    if isinstance(platform, GitHubPlatform):
        from runner.platforms.github_actions import GitHubAutomation

        return GitHubAutomation(platform.client, platform.repo_full_name)
    if isinstance(platform, GitLabPlatform):
        from runner.platforms.gitlab_pipelines import GitLabAutomation

        return GitLabAutomation(platform)
    return None
