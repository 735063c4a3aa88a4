"""``claude-runner webhook``: the listener that starts GitLab pipelines for mentions.

``decision`` is pure (a hook in, "start this pipeline" or "ignore: why" out); ``server`` is the
WSGI glue and the worker pool.
"""
