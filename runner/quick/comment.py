"""The "working" tracking comment's text, shared by the quick acknowledgement and ``Tracker``
(``flow/tracker.py``), so the two post the same body byte for byte."""

from __future__ import annotations

TRACKING_MARKER = "<!-- claude-runner:tracking -->"
# In a comment a run is still working on: a sticky comment carrying it is another run's, in use.
WORKING_MARKER = "<!-- claude-runner:working -->"

# Where a string of one of the token formats ``sanitize.TOKEN_PATTERNS`` redacts would start: a
# body holding none of these (and none of the run's secrets) is left as it is by the redactor.
TOKEN_PREFIXES = (
    "sk-ant-",
    *("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    *("glpat-", "glcbt-", "gldt-", "glptt-", "glrt-", "glsoat-", "glft-"),
    *("AKIA", "ASIA", "ya29.", "eyJ", "-----BEGIN "),
)


def working_body(marker: str, job_url: str | None, progress: str | None) -> str:
    """The "working" comment: the marker, a link to the job, then the checklist or a promise to come
    back. Plain Python, not a template: it is rendered before jinja2 is loaded (see ``flow/ack.py``)."""
    link = f"[View job]({job_url})" if job_url else ""
    text = progress or "I'll look into this and report back here."
    # A blank line before the text: otherwise markdown joins it to the heading's paragraph.
    return f"{marker}\n**Claude is working…** {link}\n\n{text}".strip() + "\n"


def run_marker(run_id: str) -> str:
    """The hidden line that says a comment is the run ``run_id``'s."""
    return f"<!-- claude-runner:run:{run_id} -->"


def first_working_body(job_url: str | None, run_id: str) -> str:
    """The tracking comment as first posted (no checklist yet), before redaction."""
    body = working_body(TRACKING_MARKER, job_url, None)
    return body.rstrip("\n") + f"\n{WORKING_MARKER}{run_marker(run_id)}\n"


def may_need_redaction(text: str, secrets: tuple[str, ...]) -> bool:
    """Whether the redactor could change ``text``: it holds one of ``secrets`` (8 characters or
    more, as ``Redactor`` counts) or the start of a token format. A cheap, conservative test."""
    return any(len(s) >= 8 and s in text for s in secrets) or any(p in text for p in TOKEN_PREFIXES)
