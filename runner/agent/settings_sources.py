"""Which settings files a run reads, in Claude Code's order of precedence (lowest first):
user (``~/.claude/settings.json``, or ``$CLAUDE_CONFIG_DIR``), project (``.claude/settings.json``),
local (``.claude/settings.local.json``), then ``--settings``. ``--setting-sources`` picks among the
first three; ``--settings`` is always read. The CI flows pass trusted sources (the default
branch's project settings, the ``settings`` input) in place of the workspace's files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runner.agent.permissions import SettingsPermissions, load_settings_permissions, parse_settings_json
from runner.agent.prompt import find_repo_root
from runner.errors import SettingsError
from runner.settings.run import RunSettings


def settings_sources(
    settings: RunSettings,
    cwd: Path,
    trusted: Sequence[SettingsPermissions] | None,
    config_dir: Path | None,
) -> list[SettingsPermissions]:
    """The settings sources of a run, lowest precedence first."""
    chosen = settings.setting_sources
    sources: list[SettingsPermissions] = []
    if "user" in chosen and config_dir is not None:
        sources.append(load_settings_permissions(config_dir / "settings.json"))
    if trusted is not None:
        sources.extend(trusted)
    elif settings.project_settings:
        root = find_repo_root(cwd) or cwd
        for scope, name in (("project", "settings.json"), ("local", "settings.local.json")):
            if scope in chosen:
                sources.append(load_settings_permissions(root / ".claude" / name))
    if settings.settings:
        raw = settings.settings.strip()
        if raw.startswith("{"):
            sources.append(parse_settings_json(raw, "--settings", base_dir=cwd))
        else:
            path = Path(raw).expanduser()
            if not path.is_file():
                raise SettingsError(
                    f"--settings file {raw} does not exist", "pass a JSON file path or inline JSON"
                )
            sources.append(load_settings_permissions(path))
    return sources
