"""Everything the runner is told, read once at the edge into frozen, typed values.

The process environment, action inputs, CI variables, ``claude_args`` and CLI flags are read
here and nowhere else below the CLI (a test enforces it); a bad value is a one-line error.
"""
