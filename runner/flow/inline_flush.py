"""The end of a mention turn for inline comments the agent left unconfirmed (``inline_buffer``):
the provider's client and small model wired to ``inline_buffer.flush``."""

from __future__ import annotations

from runner.agent.headless import PreparedRun
from runner.events import Event
from runner.flow import inline_buffer
from runner.flow.job import Job
from runner.flow.progress import RunProgress
from runner.platforms.base import Platform
from runner.providers import build_client, client_options
from runner.providers.models import resolve_model
from runner.settings.flow import FlowSettings
from runner.settings.runtime import Runtime


def flush_inline_comments(
    platform: Platform,
    settings: FlowSettings,
    runtime: Runtime,
    progress: RunProgress,
    event: Event,
    job: Job,
    prepared: PreparedRun,
) -> None:
    """Post the unconfirmed inline comments (classified first unless ``classify_inline_comments``
    is false); a failed classification posts none and lists them in the final comment."""
    config = prepared.provider
    model = resolve_model("haiku", runtime.provider().models, provider=config.name, strict=False)
    outcome = inline_buffer.flush(
        progress.inline_buffer,
        platform,
        event.number if event.entity_type != "issue" else None,
        progress.start_sha,
        classify_comments=settings.classify_inline_comments,
        make_client=lambda: build_client(
            config, client_options(config, oidc=prepared.oidc, on_secret=prepared.redactor.add)
        ),
        model=model,
        log=job.log,
    )
    progress.offered = "\n\n".join(p for p in (progress.offered, outcome.note()) if p)


__all__ = ["flush_inline_comments"]
