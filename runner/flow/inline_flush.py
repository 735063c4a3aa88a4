"""The end of a mention turn for inline comments the agent left unconfirmed: classified by the
provider's small model (``inline_buffer``) before the platform tools post the ones it keeps."""

from __future__ import annotations

from runner.agent.headless import PreparedRun
from runner.flow.inline_buffer import model_classifier, sort_buffered
from runner.flow.job import Job
from runner.flow.progress import RunProgress
from runner.platform_tools.offer import PlatformToolset
from runner.providers import build_client, client_options
from runner.providers.models import resolve_model
from runner.settings.flow import FlowSettings
from runner.settings.runtime import Runtime


def classify_inline_comments(
    toolset: PlatformToolset,
    settings: FlowSettings,
    runtime: Runtime,
    progress: RunProgress,
    job: Job,
    prepared: PreparedRun,
    *,
    ok: bool,
) -> None:
    """Leave in the toolset's buffer only the comments the classifier keeps (all of them with
    ``classify_inline_comments: false``); a failed classification leaves none and lists them in
    the final comment. Nothing to do after a failed turn (nothing is posted then)."""
    inline = toolset.inline
    if inline is None or not ok or not inline.buffer.pending or not settings.classify_inline_comments:
        return
    config = prepared.provider
    model = resolve_model("haiku", runtime.provider().models, provider=config.name, strict=False)
    options = client_options(config, oidc=prepared.oidc, on_secret=prepared.redactor.add)
    classifier = model_classifier(lambda: build_client(config, options), model)
    outcome = sort_buffered(inline.buffer.pending, classifier=classifier, log=job.log)
    inline.buffer.pending = list(outcome.kept)
    progress.offered = "\n\n".join(p for p in (progress.offered, outcome.note()) if p)


__all__ = ["classify_inline_comments"]
