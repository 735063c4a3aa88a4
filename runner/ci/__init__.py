"""The CI jobs the runner runs in: ``github`` (Actions) and ``gitlab`` (GitLab CI).

Each module is the edge of one command (``claude-runner github`` / ``gitlab``): it turns the job's
settings into a ``Job``, a platform adapter and an event, and hands them to the flow.
"""
