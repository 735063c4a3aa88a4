"""``claude-runner webhook``: the listener that starts GitLab pipelines for mentions.

``decision`` is pure (a hook in, "start this pipeline" or "ignore: why" out); ``server`` is the
WSGI glue; ``store`` (``store_sqlite``, ``store_postgres``) keeps accepted hooks and the event ids
seen, durably; ``workers`` claim hooks from it and start each pipeline once, through
``gitlab_api``.
"""
