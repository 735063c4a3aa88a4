"""What a repository carries (.claude/ settings, CLAUDE.md, review config, later .mcp.json, agents,
commands, skills, plugins) and how far it is trusted: always read from a trusted tree (the default
branch on change-request runs), never from the head.

Modules:
- ``review_config.py``: ``.claude/review.json``, what a repository asks of a review.
"""
