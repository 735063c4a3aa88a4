"""A CI run's slash command, commands and skills, and plugins: what ``agent/extensions.py`` needs,
from trusted places.

- The slash command is the request's text when it starts with ``/`` (``@claude /name args``; the
  ``prompt`` input ``/name args``).
- Commands and skills (``.claude/commands``, ``.claude/skills``, ``.claude/agents``) are read on a
  change-request run from a copy of the default branch's (fetched with git into the job's private
  directory), never from the change's checkout; otherwise from the checkout.
- Plugins: the ``plugins`` / ``plugin_marketplaces`` inputs (and the trusted settings'
  ``enabledPlugins``); ``owner/repo`` marketplaces are cloned from the job's host with its token.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from runner import git
from runner.agent.extensions import Extensions, load_extensions
from runner.agent.permissions import SettingsPermissions
from runner.agent.settings_keys import merge_keys
from runner.agent.settings_sources import settings_sources
from runner.errors import GitError
from runner.flow.context import Context
from runner.flow.job import Job
from runner.git.core import run_git
from runner.platforms.base import PushTarget
from runner.project.marketplaces import GitHost
from runner.settings.flow import FlowSettings
from runner.settings.run import RunSettings
from runner.settings.runtime import Runtime
from runner.triggers import Decision

CLAUDE_DIRS = (".claude/commands", ".claude/skills", ".claude/agents")
MAX_FILE_BYTES = 256 * 1024
MAX_FILES = 2000


def run_extensions(
    run: RunSettings,
    settings: FlowSettings,
    trusted: Sequence[SettingsPermissions],
    decision: Decision,
    ctx: Context | None,
    job: Job,
    target: PushTarget,
    branch: str,
    runtime: Runtime,
) -> tuple[RunSettings, Extensions]:
    """The run's commands, skills and plugins, loaded once, before the platform tools are chosen
    (a command's ``allowed-tools`` may name one), and ``run`` with what they add. The slash command
    is the request (a mention's, as the prompt shows it; else the ``prompt`` input) when it starts
    with ``/``; ``trusted``: the run's trusted settings sources; ``branch``: the default branch."""
    tag = decision.mode == "tag" and ctx is not None
    request = ctx.request if tag and ctx is not None else decision.request or settings.trigger.prompt
    on_change = ctx is not None and ctx.is_pull_request
    command = request.strip() if request and request.lstrip().startswith("/") else ""
    run = dataclasses.replace(
        run,
        slash_command=command,
        plugins=(*run.plugins, *settings.plugins),
        plugin_marketplaces=(*run.plugin_marketplaces, *settings.plugin_marketplaces),
    )
    sources = settings_sources(run, job.workspace, trusted, runtime.claude_config_dir)
    keys = merge_keys([(s.source, s.keys) for s in sources])
    project = trusted_claude_dir(job, target, branch) if on_change else job.workspace / ".claude"
    if "project" not in run.setting_sources:
        project = None
    return load_extensions(
        run,
        keys,
        project_dir=project,
        user_dir=runtime.claude_config_dir,
        cache_dir=runtime.plugin_cache.expanduser(),
        host=plugin_host(target),
        checkout=job.workspace if on_change else None,
        warn=job.warning,
        log=job.log,
    )


def plugin_host(target: PushTarget) -> GitHost | None:
    """The job's code host (from the push URL) for ``owner/repo`` marketplaces, with its token."""
    parts = urlsplit(target.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    return GitHost(f"{parts.scheme}://{netloc}", target.token, target.username)


def trusted_claude_dir(job: Job, target: PushTarget, branch: str) -> Path | None:
    """A copy of the default branch's ``.claude/{commands,skills,agents}`` in the job's private
    directory; returns its ``.claude`` (None, with a warning, when it cannot be fetched: then the
    run has no project commands and skills)."""
    try:
        return _copy(job.workspace, target, branch, job.temp_dir / "trusted")
    except GitError as exc:
        job.warning(f"warning: the default branch's commands and skills are not available: {exc.one_line()}")
        return None


def _copy(workspace: Path, target: PushTarget, branch: str, dest: Path) -> Path:
    """Regular files only (no symlinks), each at most ``MAX_FILE_BYTES``."""
    ref = git.fetch(
        workspace, branch, remote_url=target.url, token=target.token, username=target.username, depth=1
    )
    listing = run_git(["ls-tree", "-r", "-z", "--full-tree", ref, "--", *CLAUDE_DIRS], workspace).stdout
    root = dest / ".claude"
    root.mkdir(parents=True, exist_ok=True)
    for entry in listing.split("\0")[:MAX_FILES]:
        meta, _, path = entry.partition("\t")
        fields = meta.split()
        if len(fields) != 3 or fields[1] != "blob" or fields[0] not in ("100644", "100755"):
            continue
        parts = PurePosixPath(path).parts
        if ".." in parts or not path.startswith(".claude/"):
            continue
        size = int(run_git(["cat-file", "-s", fields[2]], workspace).stdout.strip() or 0)
        if size > MAX_FILE_BYTES:
            continue
        target_path = dest.joinpath(*parts)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        blob = run_git(["cat-file", "blob", fields[2]], workspace).stdout
        target_path.write_text(blob, encoding="utf-8")
    return root
