"""The platform tools (``runner/platform_tools/``) a CI run offers the agent: the run's facts in,
the toolset out, and the run settings that let the default ones through and make the CI logs
readable."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from runner.agent.permissions import SettingsPermissions, split_rule_list
from runner.events import Event
from runner.flow.job import Job
from runner.flow.tracker import Tracker
from runner.platform_tools.offer import PlatformToolset, RunFacts, build_toolset
from runner.platforms.automation import automation_of
from runner.platforms.base import Platform, ThreadData
from runner.sanitize import Redactor
from runner.settings.run import RunSettings

LOGS_DIR = "ci-logs"  # under the job's temporary directory; an extra root the Read tool may read


def run_facts(
    event: Event,
    platform: Platform,
    *,
    tag_mode: bool,
    thread: ThreadData | None,
    run: RunSettings,
    trusted: Sequence[SettingsPermissions],
) -> RunFacts:
    """What decides the offer: the change request (or the upstream workflow run's), its head, the
    rules as written."""
    upstream = event.workflow_run
    number = event.number
    if number is None and upstream is not None and upstream.change_request_numbers:
        number = upstream.change_request_numbers[0]
    if thread is not None:
        change_request, head = thread.is_pull_request, thread.head_sha
    elif event.entity_type is not None:
        change_request = event.entity_type == "change_request"
        head = event.change_request.head_sha if event.change_request else None
    else:
        change_request = upstream is not None and bool(upstream.change_request_numbers or upstream.head_sha)
        head = upstream.head_sha if upstream else None
    return RunFacts(
        platform=platform.name,
        tag_mode=tag_mode,
        number=number,
        change_request=change_request,
        head_sha=head,
        # Flags hold lists ("Edit,Bash(npm test:*)"), split as the permission policy splits them.
        allow=(
            *(r for v in run.allowed_tools for r in split_rule_list(v)),
            *(r for s in trusted for r in s.allow),
        ),
        deny=(
            *(r for v in run.disallowed_tools for r in split_rule_list(v)),
            *(r for s in trusted for r in s.deny),
        ),
    )


def platform_toolset(
    facts: RunFacts, platform: Platform, job: Job, redactor: Redactor, tracker: Tracker | None
) -> PlatformToolset:
    """The tools, with what was offered written to the job log."""
    progress = tracker.progress if tracker is not None else None

    def comment_url() -> str | None:
        return tracker.ref.url if tracker is not None and tracker.ref is not None else None

    toolset = build_toolset(
        facts,
        automation_of(platform),
        logs_dir=job.temp_dir / LOGS_DIR,
        redactor=redactor,
        log=job.log,
        progress=progress,
        comment_url=comment_url,
    )
    for note in toolset.notes:
        job.log(note)
    return toolset


def with_toolset(run: RunSettings, toolset: PlatformToolset, job: Job) -> RunSettings:
    """``run`` with allow rules for the tools on by default and the CI logs' directory readable."""
    if not toolset.tools:
        return run
    logs = job.temp_dir / LOGS_DIR
    logs.mkdir(parents=True, exist_ok=True)
    return dataclasses.replace(
        run,
        allowed_tools=(*run.allowed_tools, *toolset.default_allow),
        add_dirs=(*run.add_dirs, logs),
    )
