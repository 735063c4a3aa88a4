"""The code host as tools the agent calls and the runner executes with its own token.

CI (``ci.py``: GitHub Actions runs, jobs and logs; GitLab pipelines, jobs and traces) and platform
actions (``actions.py``: comments, labels, issues, an inline comment, the tracking comment), named
as claude-code-action names its MCP tools (``mcp__github_ci__get_ci_status``...) so prompts written
for it work. ``offer.py`` decides which are offered; ``base.py`` is what a platform provides.
The agent never holds the token: it sees tool results, never credentials.
"""
