"""What the CI flows allow the agent without any ``claude_args``: git commands that only read.

With them the agent can answer a question about history (``git log``, ``git blame``) and see
what it changed (``git status``, ``git diff``) in a mention, and check a finding against the
history in a review. The option hardening of ``runner/agent/commands/`` still applies: an
option that writes a file or runs a program (``git diff --output=x``, ``git log
--ext-diff``) needs a rule that names it, which these do not. In a review (plan mode) they are
the only commands that run.
"""

from __future__ import annotations

READ_ONLY_GIT = (
    "Bash(git status:*)",
    "Bash(git diff:*)",
    "Bash(git log:*)",
    "Bash(git show:*)",
    "Bash(git blame:*)",
)

__all__ = ["READ_ONLY_GIT"]
