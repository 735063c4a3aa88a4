"""The review's comments as markdown: one inline comment per finding, and the sticky summary.

Hidden markers (``state.py``) go where ``state`` reads them: the summary's first lines, an inline
comment's last line. Model-written text is never placed on those lines.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence

from runner.flow.suggestions import fenced_block
from runner.review.findings import LABELS, SEVERITIES, Finding, suggestion_lines
from runner.review.selection import Selection
from runner.review.state import SUMMARY_MARKER, ReviewRange, finding_marker, head_marker

MAX_LISTED = 20  # files or findings listed by name in the summary before "... and N more"
MAX_BODY_CHARS = 600  # of a finding that could not go inline, as quoted in the summary


def _one_line(text: str) -> str:
    return " ".join(text.split())


def fix_link(finding: Finding, repo: str) -> str:
    """``include_fix_links``: a "Fix this" link that opens Claude Code on the web on ``repo`` with
    the finding as the prompt (claude-code-action's link). Everything in it is URL-encoded."""
    prompt = (
        f"Fix this review finding in {finding.path} (lines {finding.first_line}-{finding.last_line}): "
        f"{_one_line(finding.title)}\n\n{finding.body.strip()}"
    )[:1500]
    query = urllib.parse.urlencode({"q": prompt, "repo": repo})
    return f"[Fix this →](https://claude.ai/code?{query})"


def inline_body(finding: Finding, *, platform: str, fix_link_repo: str | None = None) -> str:
    """The comment for one finding: severity and title, body, suggestion block, fingerprint marker
    (and, with ``fix_link_repo``, a "Fix this" link before the marker).

    GitHub takes the line range from the comment itself (a plain ``suggestion`` block); GitLab
    anchors on the range's last line and ``-{n-1}+0`` reaches up to its first.
    """
    label = LABELS.get(finding.severity, finding.severity)
    parts = [f"{label} · **{_one_line(finding.title)}**", finding.body.strip()]
    if finding.suggestion is not None:
        n = finding.last_line - finding.first_line + 1
        opening = f"suggestion:-{n - 1}+0" if platform == "gitlab" else "suggestion"
        parts.append(fenced_block(opening, suggestion_lines(finding.suggestion)))
    if fix_link_repo:
        parts.append(fix_link(finding, fix_link_repo))
    parts.append(finding_marker(finding.fingerprint()))
    return "\n\n".join(p for p in parts if p)


def _short(sha: str) -> str:
    return sha[:7]


def _where(finding: Finding) -> str:
    lines = str(finding.first_line)
    if finding.last_line != finding.first_line:
        lines += f"-{finding.last_line}"
    side = " (old side)" if finding.side == "LEFT" else ""
    return f"`{finding.path}:{lines}`{side}"


def _more(total: int, shown: int) -> list[str]:
    return [f"- … and {total - shown} more"] if total > shown else []


def _quote(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS].rstrip() + " …"
    return "\n".join(f"  > {line}" if line else "  >" for line in text.splitlines())


def _cost(cost_usd: float) -> str:
    return f"${cost_usd:.4f}" if 0 < cost_usd < 0.01 else f"${cost_usd:.2f}"


def _header(head: str, rng: ReviewRange) -> str:
    if rng.nothing_new:
        return f"**Claude reviewed `{_short(head)}`**: no new commits since the last review."
    span = f"`{_short(rng.base)}..{_short(rng.head)}`"
    kind = "incremental" if rng.incremental else "full review"
    return f"**Claude reviewed {span}** ({kind}: {rng.reason})"


def _counts(findings: Sequence[Finding]) -> list[str]:
    labels = [LABELS[s] for s in SEVERITIES]
    counts = [str(sum(f.severity == s for f in findings)) for s in SEVERITIES]
    return [
        "| " + " | ".join(labels) + " |",
        "|" + "---:|" * len(labels),
        "| " + " | ".join(counts) + " |",
    ]


def _rejected(rejected: Sequence[tuple[Finding, str]]) -> list[str]:
    if not rejected:
        return []
    out = ["", f"**Not posted inline** ({len(rejected)}):", ""]
    for finding, reason in rejected[:MAX_LISTED]:
        label = LABELS.get(finding.severity, finding.severity)
        out.append(f"- {label} · **{_one_line(finding.title)}** at {_where(finding)}: _{_one_line(reason)}_")
        if finding.body.strip():
            out.append(_quote(finding.body))
    return out + _more(len(rejected), MAX_LISTED)


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def _left_out(selection: Selection | None) -> list[str]:
    if selection is None or not (selection.excluded or selection.not_fitting):
        return []
    out: list[str] = []
    if selection.excluded:
        out += ["", f"<details><summary>{_files(len(selection.excluded))} left out by pattern</summary>", ""]
        out += [f"- `{path}` ({why})" for path, why in selection.excluded[:MAX_LISTED]]
        out += [*_more(len(selection.excluded), MAX_LISTED), "", "</details>"]
    if selection.not_fitting:
        count = len(selection.not_fitting)
        title = f"{_files(count)} not in the diff given to Claude (over the budget or too large)"
        out += ["", f"<details><summary>{title}</summary>", ""]
        for f in selection.not_fitting[:MAX_LISTED]:
            out.append(f"- `{f.path}` (+{f.additions} −{f.deletions})")
        out += [
            *_more(count, MAX_LISTED),
            "",
            "Claude could still read these with its tools.",
            "",
            "</details>",
        ]
    return out


def summary_body(
    *,
    head: str,
    review_range: ReviewRange,
    posted: Sequence[Finding],
    duplicates: int | Sequence[Finding],
    rejected: Sequence[tuple[Finding, str]],
    selection: Selection | None,
    cost_usd: float,
    num_turns: int,
    model: str,
    job_url: str | None,
    platform: str,
    approved_request_refused: bool = False,
    requested_changes: bool = False,
    cost_is_estimate: bool = False,
) -> str:
    """The sticky summary comment: markers, range, counts, what is not inline, what was left out."""
    duplicates = duplicates if isinstance(duplicates, int) else len(duplicates)
    lines = [SUMMARY_MARKER, head_marker(head), "", _header(head, review_range)]
    if not review_range.nothing_new:
        found = [*posted, *(f for f, _ in rejected)]
        lines += ["", *_counts(found), ""]
        noun = "merge request" if platform == "gitlab" else "pull request"
        if found:
            said = f"{len(posted)} posted inline" if posted else "none posted inline"
            lines.append(f"{len(found)} new {'finding' if len(found) == 1 else 'findings'}: {said}.")
        else:
            lines.append(f"No new findings in this {noun}.")
        if duplicates:
            were = "was" if duplicates == 1 else "were"
            lines.append(f"{duplicates} already posted and unresolved {were} not repeated.")
        lines += _rejected(rejected)
        lines += _left_out(selection)
    refusal = "Approval was requested by the model and refused: claude-runner only comments."
    if requested_changes:  # review_request_changes is on and an important finding was posted
        never = (
            "Changes were requested (important findings; `review_request_changes` is on): "
            "claude-runner never approves."
        )
    else:
        never = "claude-runner only comments: it never approves or blocks."
    lines += ["", refusal if approved_request_refused else never]
    cost = f"~{_cost(cost_usd)} (estimate)" if cost_is_estimate else _cost(cost_usd)
    small = [f"{num_turns} {'turn' if num_turns == 1 else 'turns'}", cost]
    if model:
        small.append(f"`{model}`")
    if job_url:
        small.append(f"[job]({job_url})")
    lines += ["", f"<sub>{' · '.join(small)}</sub>"]
    return "\n".join(lines) + "\n"
