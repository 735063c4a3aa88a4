"""One CI run from a decided event to its final state, for any platform.

``mention`` (the @claude flow and the ``admit`` step reviews share), ``workspace`` (branch and
checkout), ``context`` (the thread as the prompt sees it), ``prompts`` (templates), ``publish``
(tracking comment, commits, pull/merge request, outputs), ``suggestions`` (fork change requests),
``job`` (what the flow needs from the CI job it runs in).
"""
