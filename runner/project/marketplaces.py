"""Plugin marketplaces and the plugins they list, fetched the way Claude Code does, by the runner.

A marketplace is a git repository or a local directory with ``.claude-plugin/marketplace.json``
(``name``, ``owner``, ``plugins``: each ``name`` and ``source``: a path inside the marketplace
(``./plugins/x``, relative to ``metadata.pluginRoot``), ``{"source": "github", "repo": "o/r"}``,
``{"source": "url", "url": "https://...git"}`` or ``{"source": "git-subdir", "url", "path"}``, with
an optional ``ref`` / ``sha``). It is named by a git URL (``https://host/o/r.git``, ``#ref`` pins
it), ``owner/repo`` (on the code host the job runs on), or a local path.

Git sources are cloned by the runner, with the job's token for its own host only (in the
environment of the one git command: never in the clone's config, never given to the agent), into
a cache keyed by URL and ref (``Fetcher.cache_dir``); a later run reuses it: it fetches only what
changed (a full commit id is used as it is) and resets the checkout, so an agent's edits in the
cache never reach the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import GitError, SettingsError
from runner.git.core import run_git
from runner.git.credentials import auth_env, check_remote_url

MARKETPLACE_FILE = ".claude-plugin/marketplace.json"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_. -]*")
_OWNER_REPO = re.compile(r"([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*)(?:[#@]([^\s#@]+))?")
_FULL_SHA = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class GitHost:
    """The code host the job runs on: ``owner/repo`` marketplaces are cloned from it, with its token."""

    server_url: str  # https://github.com, https://gitlab.example.com
    token: str | None = None
    username: str = "x-access-token"


@dataclass(frozen=True)
class Source:
    """Where a marketplace or a plugin comes from: a git URL (and ref), or a local directory."""

    location: str
    ref: str | None = None
    git: bool = True
    subdir: str | None = None  # git-subdir: the plugin's directory inside the repository

    def key(self) -> str:
        """How it is cached: URL and ref."""
        return hashlib.sha256(f"{self.location}#{self.ref or ''}".encode()).hexdigest()[:32]


def parse_location(value: str, host: GitHost | None, base_dir: Path) -> Source:
    """A marketplace as the ``plugin_marketplaces`` input names it (one line); ``SettingsError`` when
    it is none of a git URL, ``owner/repo`` or an existing directory."""
    text = value.strip()
    url, _, ref = text.partition("#")
    if "://" in url or url.startswith("git@"):
        return Source(url, ref or None)
    path = Path(os.path.expanduser(text))
    path = path if path.is_absolute() else base_dir / path
    if path.is_dir() or (path.suffix == ".json" and path.is_file()):
        return Source(str(path.parent.parent if path.suffix == ".json" else path), git=False)
    match = _OWNER_REPO.fullmatch(text)
    if match and not text.startswith((".", "/", "~")):
        server = host.server_url.rstrip("/") if host else "https://github.com"
        return Source(f"{server}/{match.group(1)}.git", match.group(2))
    raise SettingsError(
        f"plugin marketplace {text!r}: not a git URL, owner/repo, or an existing directory",
        "give https://host/owner/repo.git (#ref pins it), owner/repo, or a directory with "
        ".claude-plugin/marketplace.json",
    )


def settings_source(name: str, entry: Any, host: GitHost | None, base_dir: Path) -> Source:
    """An ``extraKnownMarketplaces`` entry: ``{"source": {"source": "github", "repo": ...}}``,
    ``git`` (``url``), ``directory`` (``path``); ``SettingsError`` for any other."""
    spec = entry.get("source") if isinstance(entry, dict) else None
    if not isinstance(spec, dict):
        raise SettingsError(
            f'extraKnownMarketplaces.{name}: needs "source": {{"source": "github", "repo": ...}}'
        )
    return _source(spec, f"extraKnownMarketplaces.{name}", host, base_dir)


def _source(spec: dict[str, Any], what: str, host: GitHost | None, base_dir: Path) -> Source:
    kind = spec.get("source")
    ref = spec.get("sha") or spec.get("ref")
    ref = ref if isinstance(ref, str) and ref else None
    if kind == "github" and isinstance(spec.get("repo"), str):
        github = host.server_url.rstrip("/") if host and "github" in host.server_url else "https://github.com"
        return Source(f"{github}/{spec['repo']}.git", ref)
    if kind in ("git", "url") and isinstance(spec.get("url"), str):
        return Source(spec["url"], ref)
    if kind == "git-subdir" and isinstance(spec.get("url"), str) and isinstance(spec.get("path"), str):
        return Source(spec["url"], ref, subdir=spec["path"])
    if kind in ("directory", "file") and isinstance(spec.get("path"), str):
        path = Path(os.path.expanduser(spec["path"]))
        return Source(str(path if path.is_absolute() else base_dir / path), git=False)
    raise SettingsError(f"{what}: source {kind!r} is not supported (github, git, url, git-subdir, directory)")


class Fetcher:
    """Clones git sources into ``cache_dir`` (reused between runs) and finds marketplaces' plugins."""

    def __init__(self, cache_dir: Path, host: GitHost | None, log: Callable[[str], None]) -> None:
        self.cache_dir = cache_dir
        self.host = host
        self.log = log

    def directory(self, source: Source) -> Path:
        """The source's files on disk: a local directory as it is, a git source checked out."""
        if not source.git:
            path = Path(source.location)
            if not path.is_dir():
                raise SettingsError(f"plugin marketplace {source.location}: no such directory")
            return path
        checkout = self._checkout(source)
        if source.subdir:
            inner = _inside(checkout, source.subdir)
            if inner is None or not inner.is_dir():
                raise SettingsError(f"plugin source {source.location}: no directory {source.subdir!r} in it")
            return inner
        return checkout

    def _checkout(self, source: Source) -> Path:
        url = source.location
        check_remote_url(url)
        env = self._auth(url)
        redact = [self.host.token] if self.host and self.host.token else []
        target = self.cache_dir / source.key()
        fresh = not (target / ".git").is_dir()
        if fresh:
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
        else:  # the clone's config as git writes it: nothing an earlier run put there is used
            (target / ".git" / "config").unlink(missing_ok=True)
        run_git(["init", "-q", str(target)], target)
        if not fresh and source.ref and _FULL_SHA.fullmatch(source.ref) and _has_commit(target, source.ref):
            _reset(target, source.ref)  # pinned and cached: nothing to fetch
            self.log(f"plugins: {url}@{source.ref[:12]} from the cache")
            return target
        want = source.ref or "HEAD"
        try:
            run_git(
                ["fetch", "-q", "--depth=1", "--no-tags", url, want],
                target,
                extra_env=env,
                redact=redact,
                timeout=300,
            )
        except GitError as exc:
            if not (source.ref and _FULL_SHA.fullmatch(source.ref)):
                if not fresh:  # offline, or the host is down: the cached copy still serves
                    self.log(
                        f"warning: plugins: cannot update {url} ({exc.one_line()}); using the cached copy"
                    )
                    _reset(target, "HEAD")
                    return target
                shutil.rmtree(target, ignore_errors=True)
                raise SettingsError(
                    f"plugin source {url}{'#' + source.ref if source.ref else ''}: {exc.one_line()}"
                ) from exc
            # A commit the server does not advertise: fetch its history, then pick it.
            run_git(
                ["fetch", "-q", "--no-tags", url, "+refs/heads/*:refs/remotes/src/*"],
                target,
                extra_env=env,
                redact=redact,
                timeout=600,
            )
        _reset(target, source.ref if source.ref and _FULL_SHA.fullmatch(source.ref) else "FETCH_HEAD")
        pinned = f"#{source.ref}" if source.ref else ""
        self.log(f"plugins: {url}{pinned} {'cloned' if fresh else 'updated'} into the cache")
        return target

    def _auth(self, url: str) -> dict[str, str]:
        host = self.host
        if host is None or not host.token or not url.startswith(host.server_url.rstrip("/") + "/"):
            return {}
        return auth_env(url, host.token, host.username)


def read_marketplace(directory: Path, what: str) -> dict[str, Any]:
    """``.claude-plugin/marketplace.json`` of ``directory``, checked: a name and a plugins list."""
    path = directory / MARKETPLACE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"plugin marketplace {what}: no {MARKETPLACE_FILE} in it") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(f"plugin marketplace {what}: {MARKETPLACE_FILE} cannot be read: {exc}") from exc
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("name"), str)
        or not isinstance(data.get("plugins"), list)
    ):
        raise SettingsError(f"plugin marketplace {what}: {MARKETPLACE_FILE} needs a name and a plugins list")
    return data


def plugin_source(marketplace: dict[str, Any], root: Path, name: str, host: GitHost | None) -> Source:
    """Where the marketplace's plugin ``name`` is; ``SettingsError`` when it lists no such plugin."""
    entries = [e for e in marketplace["plugins"] if isinstance(e, dict) and e.get("name") == name]
    if not entries:
        known = ", ".join(str(e.get("name")) for e in marketplace["plugins"] if isinstance(e, dict))
        raise SettingsError(
            f"plugin {name}@{marketplace['name']}: the marketplace has no such plugin "
            f"(it has: {known or 'none'})"
        )
    source = entries[0].get("source")
    if isinstance(source, str):
        base = (
            (marketplace.get("metadata") or {}).get("pluginRoot")
            if isinstance(marketplace.get("metadata"), dict)
            else None
        )
        start = _inside(root, base) if isinstance(base, str) and not source.startswith("./") else root
        path = _inside(start or root, source)
        if path is None or not path.is_dir():
            raise SettingsError(
                f"plugin {name}@{marketplace['name']}: source {source!r} is not a directory "
                "inside the marketplace"
            )
        return Source(str(path), git=False)
    if isinstance(source, dict):
        return _source(source, f"plugin {name}@{marketplace['name']}", host, root)
    raise SettingsError(f"plugin {name}@{marketplace['name']}: its entry has no source")


def _inside(root: Path, value: str) -> Path | None:
    path = Path(os.path.normpath(root / value))
    real_root, real = root.resolve(), path.resolve()
    return path if real == real_root or real_root in real.parents else None


def _has_commit(cwd: Path, sha: str) -> bool:
    return run_git(["cat-file", "-e", f"{sha}^{{commit}}"], cwd, check=False).returncode == 0


def _reset(cwd: Path, rev: str) -> None:
    run_git(["checkout", "-q", "--force", "--detach", rev], cwd)
    run_git(["clean", "-q", "-fdx"], cwd)
