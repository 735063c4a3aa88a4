"""Which plugins a run loads, and from where.

Asked for by the ``plugins`` / ``plugin_marketplaces`` inputs (GitLab: ``PLUGINS`` /
``PLUGIN_MARKETPLACES``), ``--plugin-dir``, and the settings keys ``enabledPlugins`` and
``extraKnownMarketplaces``. What cannot be found is handled as Claude Code and claude-code-action
do: a plugin the job's inputs or flags name and cannot get is an error (claude-code-action's install
step fails the job); one the settings enable is a warning, and the run goes on without it (Claude
Code reports it among its plugin errors and starts). On change-request runs the settings are the
trusted ones, and a marketplace or plugin directory inside the checkout (the change's own files)
is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import RunnerError, SettingsError
from runner.project.marketplaces import (
    Fetcher,
    GitHost,
    Source,
    parse_location,
    plugin_source,
    read_marketplace,
    settings_source,
)
from runner.project.plugins import Plugin, load_plugin
from runner.project.trusted_files import repository_path


@dataclass(frozen=True)
class PluginRequests:
    """What a run asks for."""

    plugins: tuple[str, ...] = ()  # "name@marketplace" from the inputs: required
    marketplaces: tuple[str, ...] = ()  # from the inputs: URLs, owner/repo, paths
    plugin_dirs: tuple[Path, ...] = ()  # --plugin-dir: required
    enabled: Mapping[str, bool] = field(default_factory=dict)  # enabledPlugins: a warning when missing
    known: Mapping[str, Any] = field(default_factory=dict)  # extraKnownMarketplaces

    def __bool__(self) -> bool:
        return bool(self.plugins or self.plugin_dirs or any(self.enabled.values()))


def resolve_plugins(
    requests: PluginRequests,
    fetcher: Fetcher,
    *,
    base_dir: Path,
    checkout: Path | None,
    warn: Callable[[str], None],
) -> list[Plugin]:
    """The plugins ``requests`` names, loaded. ``checkout``: on a change-request run, the change's
    checkout, from which nothing is loaded; ``base_dir``: where relative paths start."""
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    for line in requests.marketplaces:
        source = _trusted(
            parse_location(line, fetcher.host, base_dir), checkout, f"plugin marketplace {line}"
        )
        directory = fetcher.directory(source)
        manifest = read_marketplace(directory, line)
        found.setdefault(manifest["name"], (directory, manifest))
    wanted = [(p, True) for p in requests.plugins] + [
        (p, False) for p, on in requests.enabled.items() if on and p not in requests.plugins
    ]
    plugins: list[Plugin] = []
    for plugin_id, required in dict.fromkeys(wanted):
        try:
            plugins.append(_one(plugin_id, found, requests.known, fetcher, base_dir, checkout, warn))
        except RunnerError as exc:
            if required:
                raise
            warn(f"warning: enabledPlugins: {plugin_id} is not loaded: {exc.one_line()}")
    for directory in requests.plugin_dirs:
        path = _trusted(Source(str(directory), git=False), checkout, f"--plugin-dir {directory}")
        if not Path(path.location).is_dir():
            raise SettingsError(f"--plugin-dir {directory}: no such directory")
        plugins.append(load_plugin(Path(path.location), name=None, origin=str(directory), warn=warn))
    names: dict[str, str] = {}
    for plugin in plugins:
        if plugin.name in names:
            raise SettingsError(
                f"plugins {names[plugin.name]} and {plugin.origin} are both named {plugin.name}"
            )
        names[plugin.name] = plugin.origin
    return plugins


def _one(
    plugin_id: str,
    found: dict[str, tuple[Path, dict[str, Any]]],
    known: Mapping[str, Any],
    fetcher: Fetcher,
    base_dir: Path,
    checkout: Path | None,
    warn: Callable[[str], None],
) -> Plugin:
    name, _, market = plugin_id.partition("@")
    if not name or not market:
        raise SettingsError(
            f"plugin {plugin_id!r}: name it as name@marketplace (code-review@claude-code-plugins)"
        )
    if market not in found and market in known:
        source = _trusted(settings_source(market, known[market], fetcher.host, base_dir), checkout, market)
        directory = fetcher.directory(source)
        found[market] = (directory, read_marketplace(directory, market))
    if market not in found:
        names = ", ".join(found) or "none"
        raise SettingsError(
            f"plugin {plugin_id}: no marketplace named {market} (known: {names})",
            "add it to plugin_marketplaces (or extraKnownMarketplaces in the settings)",
        )
    directory, manifest = found[market]
    source = _trusted(plugin_source(manifest, directory, name, fetcher.host), checkout, plugin_id)
    return load_plugin(fetcher.directory(source), name=name, origin=plugin_id, warn=warn)


def _trusted(source: Source, checkout: Path | None, what: str) -> Source:
    """``source``, unless it is a directory inside a change request's checkout."""
    if checkout is not None and not source.git and repository_path(source.location, checkout) is not None:
        raise SettingsError(
            f"{what}: inside the change's checkout; on change-request runs plugins load only from "
            "marketplaces outside it (a git URL, owner/repo, or a directory the workflow prepared)"
        )
    return source


def git_host(server_url: str | None, token: str | None, username: str = "x-access-token") -> GitHost | None:
    """The job's host for ``owner/repo`` marketplaces; None outside a CI flow."""
    return GitHost(server_url, token, username) if server_url else None


__all__: Sequence[str] = ["PluginRequests", "git_host", "resolve_plugins"]
