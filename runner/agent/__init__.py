"""The headless agent engine: tool-use loop, tools, permissions, limits, usage."""
