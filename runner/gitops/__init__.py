"""Helpers of :mod:`runner.git` that need no git process (branch naming)."""
