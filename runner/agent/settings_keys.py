"""The keys of Claude Code's settings beyond ``permissions``, ``sandbox`` and ``env``; pure.

``hooks`` (``runner/hooks/config.py``), ``disableAllHooks``, ``model`` (used when neither
``--model`` nor ``ANTHROPIC_MODEL`` names one), ``outputStyle``, ``includeCoAuthoredBy`` and its
successor ``attribution.commit`` (``""`` hides it): the ``Co-authored-by`` trailer of the runner's
commits. Other keys are kept by name, to be listed
once in the log as not used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.errors import SettingsError
from runner.hooks.config import HooksConfig, merge_hooks, parse_hooks

# Keys claude-runner reads (permissions.py, sandbox_settings.py, here), and ones that mean nothing
# for a headless run in CI. Every other key is named in a warning.
USED_KEYS = frozenset(
    {"$schema", "permissions", "sandbox", "env", "hooks", "disableAllHooks", "model", "outputStyle"}
    | {"includeCoAuthoredBy", "attribution", "enabledPlugins", "extraKnownMarketplaces"}
)


@dataclass(frozen=True)
class SettingsKeys:
    """One settings source's other keys, validated."""

    hooks: HooksConfig = field(default_factory=HooksConfig)
    disable_all_hooks: bool | None = None
    model: str | None = None
    output_style: str | None = None
    include_co_authored_by: bool | None = None
    enabled_plugins: Mapping[str, bool] = field(default_factory=dict)  # "name@marketplace": on/off
    marketplaces: Mapping[str, Any] = field(default_factory=dict)  # extraKnownMarketplaces, as written
    unused: tuple[str, ...] = ()  # keys claude-runner does not use


@dataclass(frozen=True)
class MergedKeys:
    """Every source's keys merged, lowest precedence first: hooks add up, the rest the last one wins."""

    hooks: HooksConfig = field(default_factory=HooksConfig)
    model: str | None = None
    output_style: str | None = None
    include_co_authored_by: bool = True
    warnings: tuple[str, ...] = ()
    enabled_plugins: Mapping[str, bool] = field(default_factory=dict)  # the last source's word wins
    marketplaces: Mapping[str, Any] = field(default_factory=dict)  # extraKnownMarketplaces by name
    hooks_disabled: bool = False  # disableAllHooks: plugins' hooks do not run either


def parse_keys(data: Mapping[str, Any], source: str) -> SettingsKeys:
    """The other keys of one settings object; a bad type is a ``SettingsError``."""
    return SettingsKeys(
        hooks=parse_hooks(data.get("hooks"), source),
        disable_all_hooks=_typed(data, "disableAllHooks", bool, source),
        model=_typed(data, "model", str, source),
        output_style=_typed(data, "outputStyle", str, source),
        include_co_authored_by=_co_author(data, source),
        enabled_plugins=_enabled_plugins(data.get("enabledPlugins"), source),
        marketplaces=_typed(data, "extraKnownMarketplaces", dict, source) or {},
        unused=tuple(sorted(set(data) - USED_KEYS)),
    )


def merge_keys(sources: Sequence[tuple[str, SettingsKeys]]) -> MergedKeys:
    """Merge ``(source name, keys)`` pairs, lowest precedence first."""
    model = style = None
    co_author = True
    disabled = False
    for _, keys in sources:
        model = keys.model or model
        style = keys.output_style or style
        co_author = co_author if keys.include_co_authored_by is None else keys.include_co_authored_by
        disabled = disabled if keys.disable_all_hooks is None else keys.disable_all_hooks
    hooks = merge_hooks(keys.hooks for _, keys in sources)
    warnings = list(hooks.warnings)
    unused = [f"{key} ({name})" for name, keys in sources for key in keys.unused]
    if unused:
        warnings.append("settings keys claude-runner does not use: " + ", ".join(unused))
    if disabled and hooks:
        warnings.append("disableAllHooks is set: no hooks run")
        hooks = HooksConfig()
    enabled: dict[str, bool] = {}
    marketplaces: dict[str, Any] = {}
    for _, keys in sources:
        enabled.update(keys.enabled_plugins)
        marketplaces.update(keys.marketplaces)
    return MergedKeys(hooks, model, style, co_author, tuple(warnings), enabled, marketplaces, disabled)


def _enabled_plugins(value: Any, source: str) -> dict[str, bool]:
    """``enabledPlugins``: ``{"name@marketplace": true}`` (a list of versions counts as on)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SettingsError(f'{source}: enabledPlugins must be an object {{"name@marketplace": true}}')
    return {str(k): v is True or isinstance(v, list) for k, v in value.items()}


def _typed(data: Mapping[str, Any], key: str, kind: type, source: str) -> Any:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        what = {bool: "true or false", dict: "an object"}.get(kind, "a string")
        raise SettingsError(f"{source}: {key} must be {what}")
    return value


def _co_author(data: Mapping[str, Any], source: str) -> bool | None:
    attribution = data.get("attribution")
    if attribution is not None:
        if not isinstance(attribution, dict):
            raise SettingsError(f"{source}: attribution must be an object (commit, pr)")
        commit = attribution.get("commit")
        if commit is not None and not isinstance(commit, str):
            raise SettingsError(f"{source}: attribution.commit must be a string")
        if commit is not None:
            return commit != ""
    return _typed(data, "includeCoAuthoredBy", bool, source)  # type: ignore[no-any-return]
