"""claude-runner: run Claude as a headless agent in CI."""

__version__ = "0.1.0"
