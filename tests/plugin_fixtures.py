"""A plugin marketplace as a real git repository, shaped like claude-code-plugins: a `code-review`
plugin with a command, an agent and a skill (and a hook and an MCP server when asked)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

GIT = ["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev", "-c", "init.defaultBranch=main"]

REVIEW_COMMAND = """---
allowed-tools: Bash(git diff:*), mcp__github_inline_comment__create_inline_comment,
  mcp__github_comment__create_comment
description: Code review a pull request
---

Provide a code review for the given pull request.

1. Read the diff with `git diff`.
2. Post each real issue with mcp__github_inline_comment__create_inline_comment.
3. Post a summary comment that starts with "## Code review" with mcp__github_comment__create_comment.
"""

REVIEWER_AGENT = """---
name: bug-finder
description: Finds obvious bugs in a diff
tools: Read, Grep
---
You look for bugs in the changed lines only.
"""

SKILL = """---
name: review-checklist
description: The team's checklist for reviewing a change
---
Check: tests added, names clear, no secrets. Files: ${CLAUDE_SKILL_DIR}/extra.md
"""


def git(*args: str, cwd: Path) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def write_plugin(root: Path, *, hooks: dict | None = None, mcp: dict | None = None) -> None:
    """The code-review plugin's files in ``root``."""
    files = {
        ".claude-plugin/plugin.json": json.dumps({"name": "code-review", "version": "1.0.0"}),
        "commands/code-review.md": REVIEW_COMMAND,
        "agents/bug-finder.md": REVIEWER_AGENT,
        "skills/review-checklist/SKILL.md": SKILL,
        "skills/review-checklist/extra.md": "Extra notes.\n",
    }
    if hooks is not None:
        files["hooks/hooks.json"] = json.dumps({"hooks": hooks})
    if mcp is not None:
        files[".mcp.json"] = json.dumps({"mcpServers": mcp})
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)


def make_marketplace(base: Path, name: str = "fixture", **plugin: dict) -> tuple[Path, str]:
    """A bare git repository holding the marketplace; returns (its path, the commit id)."""
    work = base / f"{name}-src"
    work.mkdir(parents=True)
    manifest = {
        "name": name,
        "owner": {"name": "Test"},
        "plugins": [{"name": "code-review", "source": "./plugins/code-review", "description": "Reviews"}],
    }
    (work / ".claude-plugin").mkdir()
    (work / ".claude-plugin" / "marketplace.json").write_text(json.dumps(manifest))
    write_plugin(work / "plugins" / "code-review", **plugin)
    git("init", "-q", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-qm", "marketplace", cwd=work)
    bare = base / f"{name}.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=base)
    return bare, git("rev-parse", "HEAD", cwd=work)
