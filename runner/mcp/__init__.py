"""MCP servers for the agent: configuration (``config``), connections (``client``, ``stdio``), the
agent's tools for them (``tools``), and their start and stop around a run (``servers``).

Nothing here imports the ``mcp`` SDK at module level outside ``client`` and ``stdio``, and those are
imported only when a server is configured: the SDK costs most of a second to import.
"""
