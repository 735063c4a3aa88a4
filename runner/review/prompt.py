"""The review's first request: the change request, the range reviewed, the repository's focus,
the diff cut to its budget and what was left out of it (``templates/prompt_review.j2``).

Everything the change request's author wrote goes through ``clean_untrusted`` first.
"""

from __future__ import annotations

from runner.flow.prompts import render
from runner.platforms.base import ThreadData
from runner.project.review_config import ReviewConfig
from runner.review.selection import Selection, render_diff
from runner.review.state import ReviewRange
from runner.sanitize import clean_untrusted, clean_untrusted_code

MAX_LISTED = 200  # files named in the prompt beyond the diff


def review_prompt(
    thread: ThreadData,
    repository: str,
    platform_name: str,
    rng: ReviewRange,
    config: ReviewConfig,
    selection: Selection,
    request: str | None,
) -> str:
    """The prompt for reviewing ``thread`` over ``rng``: ``selection``'s diff, the rest listed by
    name; ``request`` is the mention's text (None: an automatic review)."""
    gitlab = platform_name == "gitlab"
    left_out = [f"{path} (excluded: {why})" for path, why in selection.excluded]
    left_out += [f"{f.path} (did not fit the diff budget)" for f in selection.not_fitting]
    if len(left_out) > MAX_LISTED:  # a list of thousands would eat the budget the diff was cut to
        more = len(left_out) - MAX_LISTED
        left_out = [
            *left_out[:MAX_LISTED],
            f"... and {more} more: `git diff --stat {rng.base[:12]} HEAD` lists all",
        ]
    return render(
        "prompt_review.j2",
        noun="merge request" if gitlab else "pull request",
        sigil="!" if gitlab else "#",
        tag="merge_request" if gitlab else "pull_request",
        number=thread.number,
        repository=repository,
        request=clean_untrusted(request) if request else None,
        range_text=f"{rng.base[:12]}..{rng.head[:12]} ({rng.reason})",
        incremental=rng.incremental,
        focus=config.focus,
        head=rng.head[:12],
        title=clean_untrusted(thread.title),
        author=thread.author,
        is_fork=thread.is_fork,
        body=clean_untrusted(thread.body or ""),
        included=selection.included,
        diff_tokens=selection.diff_tokens,
        diff=clean_untrusted_code(render_diff(selection)),  # code, not markdown: kept as written
        left_out=left_out,
    )
