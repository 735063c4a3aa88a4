"""The few job variables and inputs that decide whether and how ``claude-runner github`` acknowledges
a mention quickly (``runner/quick/``), read before the job's settings are built.

Only the standard library and plain classes: this loads in the first milliseconds of a job. Each
value is read as ``settings/flow.py``, ``github.py``, ``ack.py`` and ``api.py`` read it (tests check
they agree); a value this reader does not fully understand (an App's key and no token, a personal
token, a proxy, a sticky comment, a value ``flow.py`` would refuse) makes it answer None, and the
full run acknowledges as before.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# requests honours these proxies and http.client does not (as settings/ack.py).
_PROXIES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
_CA_BUNDLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
STATE_FILE = "claude-runner-state.json"  # in $RUNNER_TEMP (settings/github.py uses it too)
_FALSE = ("false", "0", "no")
# min_access_level in either platform's words (settings/flow.py checks the input against it too).
ACCESS_LEVELS = {
    "write": "write", "developer": "write", "30": "write",
    "maintain": "maintain", "maintainer": "maintain", "40": "maintain",
    "admin": "admin", "owner": "admin", "50": "admin",
}  # fmt: skip


class QuickInputs:
    """What the quick acknowledgement reads: the Actions variables of the event and the API, the
    token, the trigger inputs, who may ask, and how the comment is sent."""

    __slots__ = (
        "allowed_bots",
        "allowed_non_write_users",
        "api_url",
        "assignee_trigger",
        "audit_path",
        "ca_bundle",
        "event_name",
        "event_path",
        "label_trigger",
        "repository",
        "required_permission",
        "run_id",
        "secrets",
        "server_url",
        "state_path",
        "timeout_s",
        "token",
        "trigger_phrase",
    )

    def __init__(self, **values: object) -> None:
        for name in self.__slots__:
            setattr(self, name, values[name])

    event_name: str
    event_path: str
    repository: str
    api_url: str
    server_url: str
    state_path: str  # the run's state file ($RUNNER_TEMP), for `claude-runner finalize`
    run_id: str | None
    token: str  # an installation token (``ghs_``): its comments need no seal
    secrets: tuple[str, ...]  # what the run's redactor removes: the token, the API key input
    trigger_phrase: str
    label_trigger: str
    assignee_trigger: str | None
    allowed_bots: tuple[str, ...]
    allowed_non_write_users: tuple[str, ...]
    required_permission: str
    timeout_s: float
    ca_bundle: str | None
    audit_path: str | None

    @property
    def repo_url(self) -> str:
        """The repository's web page, as ``ci/github.github_job`` names it."""
        return f"{self.server_url}/{self.repository}"

    @property
    def job_url(self) -> str | None:
        """This run's page, as ``ci/github.github_job`` links it."""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}" if self.run_id else None


def _input(env: Mapping[str, str], name: str) -> str | None:
    """An input as ``settings/flow.read_inputs`` reads it: ``INPUT_NAME``, else a bare ``NAME``
    (not for ``github_token``), the first that is not blank, stripped."""
    keys = (f"INPUT_{name.upper()}",) + ((name.upper(),) if name != "github_token" else ())
    for key in keys:
        value = env.get(key, "").strip()
        if value:
            return value
    return None


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").replace("\n", ",").split(",") if v.strip())


def read_quick_inputs(env: Mapping[str, str]) -> QuickInputs | None:
    """The quick acknowledgement's inputs, or None when the full run must acknowledge."""
    names = ("GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_REPOSITORY")
    if not all(env.get(name) for name in names):
        return None
    if env.get("CLAUDE_RUNNER_FAST_ACK", "").strip().lower() in ("0", "false", "no", "off"):
        return None
    if any(env.get(name) or env.get(name.lower()) for name in _PROXIES):
        return None
    token = _input(env, "github_token")
    if token is None and not (_input(env, "app_id") and _input(env, "app_private_key")):
        token = env.get("GITHUB_TOKEN") or None
    # A personal token's comments are sealed after asking who it is: left to the full run.
    if token is None or not token.startswith("ghs_"):
        return None
    sticky = (_input(env, "use_sticky_comment") or "false").lower()
    required = ACCESS_LEVELS.get((_input(env, "min_access_level") or "write").lower())
    if sticky not in _FALSE or required is None:
        return None  # a sticky comment reads the thread first; a bad level is the full run's error
    raw_timeout = env.get("CLAUDE_RUNNER_API_TIMEOUT_S", "").strip()
    try:
        timeout = float(raw_timeout) if raw_timeout else 30.0
    except ValueError:
        return None
    if not timeout > 0:
        return None
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    api = env.get("GITHUB_API_URL") or (
        "https://api.github.com" if server == "https://github.com" else f"{server}/api/v3"
    )
    bundle = next((env[name].strip() for name in _CA_BUNDLES if env.get(name, "").strip()), None)
    api_key = _input(env, "anthropic_api_key")
    return QuickInputs(
        event_name=env["GITHUB_EVENT_NAME"],
        event_path=env["GITHUB_EVENT_PATH"],
        repository=env["GITHUB_REPOSITORY"],
        api_url=api.rstrip("/"),
        server_url=server,
        state_path=os.path.join(env.get("RUNNER_TEMP") or "/tmp", STATE_FILE),
        run_id=env.get("GITHUB_RUN_ID"),
        token=token,
        secrets=(token, api_key) if api_key else (token,),
        trigger_phrase=_input(env, "trigger_phrase") or "@claude",
        label_trigger=_input(env, "label_trigger") or "claude",
        assignee_trigger=_input(env, "assignee_trigger"),
        allowed_bots=tuple(b.strip() for b in (_input(env, "allowed_bots") or "").split(",") if b.strip()),
        allowed_non_write_users=_list(_input(env, "allowed_non_write_users")),
        required_permission=required,
        timeout_s=timeout,
        ca_bundle=bundle,
        audit_path=env.get("CLAUDE_RUNNER_ACK_AUDIT", "").strip() or None,
    )


def job_quick_inputs() -> QuickInputs | None:
    """``read_quick_inputs`` of this process's environment."""
    return read_quick_inputs(os.environ)


__all__ = ["QuickInputs", "job_quick_inputs", "read_quick_inputs"]
