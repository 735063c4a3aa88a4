"""Claude Code's hooks: ``config`` (the settings' ``hooks`` key, pure), ``protocol`` (the JSON a hook
reads and what its exit code and output mean, pure) and ``runner`` (runs the commands like tools)."""
