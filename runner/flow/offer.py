"""A fork's change request: the runner never pushes there, so the agent's edits are offered
as suggestions on the diff, and what cannot be placed as a diff in the final comment."""

from __future__ import annotations

import dataclasses

from runner import git
from runner.events import Event
from runner.flow import suggestions
from runner.flow.job import Job
from runner.flow.progress import RunProgress
from runner.platforms.base import Platform
from runner.sanitize import Redactor

MAX_SUGGESTIONS = 25  # inline suggestions per run; more would bury the change request's diff
MAX_PATCH = 1_000_000  # bytes of the agent's patch read for suggestions (the rest is cut)


def publish_suggestions(
    platform: Platform, job: Job, progress: RunProgress, event: Event, redactor: Redactor
) -> None:
    """A fork's change request: never push; post each edit that lands on visible lines of the
    diff as a suggestion, and keep the rest (new files, lines outside the diff, refused
    comments) as a diff for the final comment (``progress.offered``)."""
    if progress.saved or progress.start_sha is None or event.number is None:
        return
    progress.saved = True  # once, even when posting fails half way: no duplicate suggestions
    diff = git.worktree_diff(
        job.workspace, progress.start_sha, unified=0, expect_config=progress.fingerprint, max_bytes=MAX_PATCH
    )
    patches = suggestions.parse_patch(diff)
    if not patches:
        job.log("no changes: nothing to suggest")
        return
    placed, unplaced = suggestions.place(suggestions.suggestions_for(patches), progress.files)
    unplaced += placed[MAX_SUGGESTIONS:]  # past that, a diff in one comment reads better
    comments = [
        dataclasses.replace(c, body=redactor.text(c.body))
        for c in (suggestions.inline_comment(s, platform.name) for s in placed[:MAX_SUGGESTIONS])
    ]
    noun = "merge request" if event.platform == "gitlab" else "pull request"
    intro = f"Claude's changes for this {noun}, offered as suggestions: the runner does not push to forks."
    results = platform.post_inline_comments(event.number, comments, commit_sha=progress.start_sha, body=intro)
    refs = [r.ref for r in results if r.ref is not None]
    for s, r in zip(placed, results, strict=False):
        if r.ref is None:
            job.log(f"suggestion on {s.path}:{s.end_line} not posted: {r.error}")
            unplaced.append(s)
    job.log(f"{len(refs)} suggestions posted, {len(unplaced)} changes left for the comment")
    progress.offered = suggestions.report(
        posted=len(refs),
        first_url=refs[0].url if refs else None,
        fallback=suggestions.fallback_diff(patches, unplaced),
        noun=noun,
    )
