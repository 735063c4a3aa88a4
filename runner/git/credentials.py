"""Credentials around git: the push token's one-shot config, and tokens a checkout left behind."""

from __future__ import annotations

import base64
from pathlib import Path

from runner.errors import GitError
from runner.git.core import URL_USERINFO, check_ref_arg, git_out, run_git


def auth_env(remote_url: str, token: str | None, username: str) -> dict[str, str]:
    """``GIT_CONFIG_*`` variables that send the token as a Basic auth header to ``remote_url`` only.

    Keyed by the URL (``http.<url>.extraHeader``) so a rewritten URL (``url.*.insteadOf``) never
    receives it, and so it outranks a less specific header persisted by actions/checkout. The
    first, empty value clears headers collected so far; the last empties ``credential.helper``
    so no helper from the workspace's config runs with the token in its environment.
    """
    if not token or "://" not in remote_url or remote_url.startswith("file://"):
        return {}  # local paths and file:// remotes need no credentials
    if any(c.isspace() for c in token) or ":" in username or any(c.isspace() for c in username):
        # A newline would let the value inject a second header line.
        raise GitError("the push token or username contains whitespace or ':'", "check the token input")
    basic = base64.b64encode(f"{username}:{token}".encode()).decode()
    key = f"http.{remote_url}.extraHeader"
    pairs = [(key, ""), (key, f"Authorization: Basic {basic}"), ("credential.helper", "")]
    # Inherited GIT_CONFIG_* variables are dropped by run_git, so numbering starts at 0.
    env = {"GIT_CONFIG_COUNT": str(len(pairs))}
    for i, (name, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{i}"] = name
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


def check_remote_url(remote_url: str) -> None:
    """Refuse a URL with embedded credentials (the token goes in the environment) or option-like."""
    if URL_USERINFO.search(remote_url):
        raise GitError("remote URL must not contain credentials; pass the token separately")
    check_ref_arg(remote_url)


def _get_regexp(cwd: Path, pattern: str, file: str | None = None) -> list[tuple[str, str]]:
    scope = ["--file", file] if file else ["--local"]
    proc = run_git(["config", *scope, "--null", "--get-regexp", pattern], cwd, check=False)
    pairs = []
    for item in proc.stdout.split("\0"):
        if item:
            key, _, value = item.partition("\n")
            pairs.append((key, value))
    return pairs


def strip_persisted_credentials(cwd: Path) -> list[str]:
    """Remove credentials a checkout left in the repository's config; returns the names removed.

    actions/checkout persists ``http.<server>/.extraheader`` (in ``.git/config`` or, since v6, in
    a file pulled in by ``include.path``/``includeIf.*.path``); GitLab CI clones with the job
    token in the remote URL. The agent's tools can read both, so before the turn: headers are
    unset, ``remote.*.url`` / ``pushurl`` lose their ``user:password@`` part, and
    ``url.<with credentials>.insteadOf`` rewrites are removed.
    """
    removed: list[str] = []
    git_dir = Path(git_out(["rev-parse", "--absolute-git-dir"], cwd))
    header = r"^http\.(.*\.)?extraheader$"
    for key in dict.fromkeys(k for k, _ in _get_regexp(cwd, header)):
        run_git(["config", "--local", "--unset-all", key], cwd)
        removed.append(key)
    for _, path in _get_regexp(cwd, r"^include(if\..*)?\.path$"):
        file = (git_dir / Path(path).expanduser()).resolve()
        if file.is_file():
            for key in dict.fromkeys(k for k, _ in _get_regexp(cwd, header, str(file))):
                run_git(["config", "--file", str(file), "--unset-all", key], cwd)
                removed.append(f"{file}:{key}")
    for key, value in _get_regexp(cwd, r"^remote\..*\.(url|pushurl)$"):
        clean = URL_USERINFO.sub(r"\1", value)
        if clean != value:
            run_git(["config", "--local", "--fixed-value", "--replace-all", key, clean, value], cwd)
            removed.append(key)
    for key in dict.fromkeys(k for k, _ in _get_regexp(cwd, r"^url\..*\.(insteadof|pushinsteadof)$")):
        if URL_USERINFO.search(key):
            run_git(["config", "--local", "--unset-all", key], cwd)
            removed.append(URL_USERINFO.sub(r"\1[REDACTED]@", key))
    return removed
