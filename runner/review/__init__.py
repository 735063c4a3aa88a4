"""Code review on pull and merge requests: findings, validation, incremental state, publishing.

Modules:
- ``findings.py``: the ``Finding`` value, the agent's ``report_finding`` tool, validation of each
  finding against the diff (file in the diff, lines inside a hunk on that side, a suggestion that
  changes something), fingerprints.
- ``state.py``: hidden markers in the summary comment (the last reviewed head) and in each inline
  comment (the finding's fingerprint); which commit range a new review covers.
- ``selection.py``: which files a large review includes (generated, vendored and lock files left
  out; ranked; the diff budgeted against the model's context window).
- ``render.py``: the summary comment and the inline comment bodies.
- ``prompt.py``: the review's first request (the diff cut to its budget, what was left out).
- ``run.py``: one review turn from a decided event to a published review.

The repository's review settings (``.claude/review.json``) are read by
``runner.project.review_config``, from the default branch.
"""
