"""Settings of the CI flows, from action inputs (``INPUT_*``) or job variables.

Every input name of claude-code-action v1 is accepted, so a workflow can switch by
changing its ``uses:`` line. An input we do not implement yet is not silently dropped:
a warning names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from runner.errors import UsageError
from runner.providers import PROVIDERS
from runner.providers.catalog import EFFORT_LEVELS
from runner.settings.quick_ack import ACCESS_LEVELS
from runner.settings.run import RunSettings, effort_level
from runner.triggers import TriggerSettings, parse_allowed_bots

# Inputs that configure claude-code-action's own runtime, which this runner does not have.
NOT_NEEDED = {
    "path_to_claude_code_executable": "the agent runs inside claude-runner, not in a Claude Code binary",
    "path_to_bun_executable": "claude-runner is a Python package; it runs no Bun",
}
# Sign-in inputs and the variables they set (runner/settings/anthropic_auth.py reads them).
SIGNIN_INPUT_VARS = {
    "claude_code_oauth_token": "CLAUDE_CODE_OAUTH_TOKEN",
    "anthropic_federation_rule_id": "ANTHROPIC_FEDERATION_RULE_ID",
    "anthropic_organization_id": "ANTHROPIC_ORGANIZATION_ID",
    "anthropic_service_account_id": "ANTHROPIC_SERVICE_ACCOUNT_ID",
    "anthropic_workspace_id": "ANTHROPIC_WORKSPACE_ID",
    "anthropic_oidc_audience": "ANTHROPIC_OIDC_AUDIENCE",
}
# claude-code-action v1 inputs that change behaviour here.
IMPLEMENTED = frozenset(
    {
        "trigger_phrase",
        "assignee_trigger",
        "label_trigger",
        "base_branch",
        "branch_prefix",
        "branch_name_template",
        "allowed_bots",
        "allowed_non_write_users",
        "include_comments_by_actor",
        "exclude_comments_by_actor",
        "prompt",
        "settings",
        "anthropic_api_key",
        "github_token",
        "use_bedrock",
        "use_vertex",
        "use_foundry",
        "claude_args",
        "use_sticky_comment",
        "bot_id",
        "bot_name",
        "track_progress",
        "show_full_output",
        "use_commit_signing",
        "ssh_signing_key",
        "classify_inline_comments",
        "include_fix_links",
        "display_report",
        *NOT_NEEDED,
        *SIGNIN_INPUT_VARS,
        # Accepted: the CI tools are offered when the runner's token can read Actions, which the
        # workflow's `permissions: actions: read` grants (see runner/platform_tools/offer.py).
        "additional_permissions",
        "plugins",
        "plugin_marketplaces",
    }
)
# Accepted for compatibility; each prints a warning when set, naming it.
NOT_IMPLEMENTED: dict[str, str] = {}
# Ours, in the same style.
OWN_INPUTS = frozenset(
    {
        "app_id",
        "app_private_key",
        "pr_mode",
        "prompt_template",
        "comment_template",
        *("provider", "aws_role_to_assume", "aws_region"),
        *("gcp_workload_identity_provider", "gcp_service_account", "oidc_token_variable"),
        "min_access_level",
        *("review", "review_drafts", "review_request_changes"),
        "tool_env_passthrough",
        "effort",
        "reply_to_refused",
    }
)
# Provider inputs and the variables they set for the provider modules, which read only the
# environment (so `claude-runner run` and `doctor` take the same settings as plain variables).
PROVIDER_INPUT_VARS = {
    "provider": "CLAUDE_RUNNER_PROVIDER",
    "aws_role_to_assume": "AWS_ROLE_TO_ASSUME",
    "aws_region": "AWS_REGION",
    "gcp_workload_identity_provider": "GCP_WORKLOAD_IDENTITY_PROVIDER",
    "gcp_service_account": "GCP_SERVICE_ACCOUNT",
    "oidc_token_variable": "CLAUDE_OIDC_TOKEN_VARIABLE",
}
PR_MODES = ("link", "draft", "ready")


@dataclass(frozen=True)
class FlowSettings:
    """What the GitHub (and later GitLab) flow was configured to do."""

    trigger: TriggerSettings = field(default_factory=TriggerSettings)
    github_token: str | None = field(default=None, repr=False)
    app_id: str | None = None
    app_private_key: str | None = field(default=None, repr=False)
    anthropic_api_key: str | None = field(default=None, repr=False)
    # claude_code_oauth_token and the federation inputs, as the variables they set.
    signin_vars: Mapping[str, str] = field(default_factory=dict, repr=False)
    claude_args: str = ""
    settings: str | None = None
    allowed_non_write_users: tuple[str, ...] = ()
    # Whose comments the prompt shows: logins or patterns (`*[bot]`); exclude wins (flow/context.py).
    include_comments_by_actor: tuple[str, ...] = ()
    exclude_comments_by_actor: tuple[str, ...] = ()
    use_sticky_comment: bool = False
    track_progress: bool = False
    branch_prefix: str = "claude/"
    branch_name_template: str | None = None
    base_branch: str | None = None
    pr_mode: str = "link"
    bot_name: str = "claude[bot]"
    bot_id: str = "41898282"
    use_commit_signing: bool = False  # commits made through the platform's API, which signs them
    ssh_signing_key: str | None = field(default=None, repr=False)  # signs local commits; wins over the API
    classify_inline_comments: bool = True  # unconfirmed inline comments are classified before posting
    include_fix_links: bool = True  # "Fix this" links under review findings (GitHub)
    display_report: bool = False  # the run's full report in the job summary
    prompt_template: str | None = None
    comment_template: str | None = None
    provider_flags: tuple[str, ...] = ()  # CLAUDE_CODE_USE_* variables the use_* inputs turn on
    provider: str | None = None  # anthropic, bedrock, vertex or foundry; None: from the variables
    aws_role_to_assume: str | None = None
    aws_region: str | None = None
    gcp_workload_identity_provider: str | None = None
    gcp_service_account: str | None = None
    oidc_token_variable: str | None = None
    show_full_output: bool = False
    required_permission: str = "write"  # from min_access_level: write (GitLab Developer), maintain, admin
    review: bool = False  # review change requests automatically (opened, updated, ready, reopened)
    review_drafts: bool = False  # automatic reviews of drafts too (on demand, drafts are always reviewed)
    review_request_changes: bool = False  # a review with important findings may request changes
    tool_env_passthrough: str = ""  # comma-separated names of variables passed to tools on purpose
    effort: str | None = None  # the effort input / EFFORT variable; --effort in claude_args wins
    # GitLab's CONFIDENTIAL_ISSUE_MR: a confidential issue's work may get a branch named from it and
    # a merge request (off: a neutral branch and commit, no merge request; the answer in the issue).
    confidential_issue_mr: bool = False
    plugins: tuple[str, ...] = ()  # name@marketplace, loaded for the run (runner/project/plugin_resolve.py)
    plugin_marketplaces: tuple[str, ...] = ()  # git URLs (#ref), owner/repo on the job's host, paths
    reply_to_refused: bool = True  # a requester without access hears why, in one short reply
    warnings: tuple[str, ...] = ()

    @property
    def oauth_token(self) -> str | None:
        """The ``claude_code_oauth_token`` input (masked in the log like the other credentials)."""
        return self.signin_vars.get(SIGNIN_INPUT_VARS["claude_code_oauth_token"])


def read_inputs(env: Mapping[str, str]) -> dict[str, str]:
    """Input values by name: ``INPUT_NAME`` (actions) wins over a bare ``NAME`` (job variables)."""
    names = [*IMPLEMENTED, *NOT_IMPLEMENTED, *OWN_INPUTS]
    values: dict[str, str] = {}
    for name in names:
        # A bare GITHUB_TOKEN is the job's token, not this input; flow_settings falls back to it.
        keys = [f"INPUT_{name.upper()}"] + ([name.upper()] if name != "github_token" else [])
        for key in keys:
            if env.get(key, "").strip():
                values[name] = env[key].strip()
                break
    return values


def _bool(name: str, value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise UsageError(f"input {name} must be true or false (got {value!r})")


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").replace("\n", ",").split(",") if v.strip())


def _lines(value: str | None) -> tuple[str, ...]:
    """One value per line (a path may hold a comma)."""
    return tuple(v.strip() for v in (value or "").splitlines() if v.strip())


def _ssh_key(value: str | None) -> str | None:
    """``ssh_signing_key``: a whole private key file, one trailing newline (else a ``UsageError``)."""
    if not value:
        return None
    text = value.replace("\r\n", "\n").strip()
    lines = text.splitlines()
    if not lines[0].startswith("-----BEGIN ") or "PRIVATE KEY-----" not in lines[0] + lines[-1]:
        raise UsageError(
            "ssh_signing_key is not an SSH private key (expected -----BEGIN OPENSSH PRIVATE KEY-----)",
            "store the whole private key file (ssh-keygen -t ed25519 -N '') in the secret",
        )
    return text + "\n"


def _access_level(value: str | None) -> str:
    if not value:
        return "write"
    level = ACCESS_LEVELS.get(value.strip().lower())
    if level is None:
        raise UsageError(
            f"min_access_level must be write/developer, maintain/maintainer or admin/owner (got {value!r})"
        )
    return level


def flow_settings(env: Mapping[str, str]) -> FlowSettings:
    """Parse and check the inputs; a bad value is a one-line ``UsageError``."""
    raw = read_inputs(env)
    warnings = [
        f"input {name} is accepted for compatibility but not implemented yet; it has no effect"
        for name, default in NOT_IMPLEMENTED.items()
        if name in raw and raw[name].lower() != default
    ]
    warnings += [
        f"input {name} is not needed and has no effect: {why}"
        for name, why in NOT_NEEDED.items()
        if raw.get(name)
    ]
    pr_mode = raw.get("pr_mode", "link")
    if pr_mode not in PR_MODES:
        raise UsageError(f"input pr_mode must be one of {', '.join(PR_MODES)} (got {pr_mode!r})")
    phrase = raw.get("trigger_phrase", "@claude")
    provider = raw.get("provider", "").lower() or None
    if provider is not None and provider not in PROVIDERS:
        raise UsageError(f"input provider must be one of {', '.join(PROVIDERS)} (got {provider!r})")
    provider_flags = tuple(
        var
        for name, var in (
            ("use_bedrock", "CLAUDE_CODE_USE_BEDROCK"),
            ("use_vertex", "CLAUDE_CODE_USE_VERTEX"),
            ("use_foundry", "CLAUDE_CODE_USE_FOUNDRY"),
        )
        if _bool(name, raw.get(name))
    )
    return FlowSettings(
        trigger=TriggerSettings(
            trigger_phrase=phrase,
            label_trigger=raw.get("label_trigger", "claude"),
            assignee_trigger=raw.get("assignee_trigger") or None,
            prompt=raw.get("prompt") or None,
            allowed_bots=parse_allowed_bots(raw.get("allowed_bots")),
        ),
        github_token=github_token(raw, env),
        app_id=raw.get("app_id"),
        app_private_key=raw.get("app_private_key"),
        anthropic_api_key=raw.get("anthropic_api_key"),
        signin_vars={var: raw[name] for name, var in SIGNIN_INPUT_VARS.items() if raw.get(name)},
        claude_args=raw.get("claude_args", ""),
        settings=raw.get("settings"),
        allowed_non_write_users=_list(raw.get("allowed_non_write_users")),
        include_comments_by_actor=_list(raw.get("include_comments_by_actor")),
        exclude_comments_by_actor=_list(raw.get("exclude_comments_by_actor")),
        use_sticky_comment=_bool("use_sticky_comment", raw.get("use_sticky_comment")),
        track_progress=_bool("track_progress", raw.get("track_progress")),
        branch_prefix=raw.get("branch_prefix", "claude/"),
        branch_name_template=raw.get("branch_name_template"),
        base_branch=raw.get("base_branch"),
        pr_mode=pr_mode,
        bot_name=raw.get("bot_name", "claude[bot]"),
        bot_id=raw.get("bot_id", "41898282"),
        use_commit_signing=_bool("use_commit_signing", raw.get("use_commit_signing")),
        classify_inline_comments=_bool("classify_inline_comments", raw.get("classify_inline_comments"), True),
        include_fix_links=_bool("include_fix_links", raw.get("include_fix_links"), True),
        display_report=_bool("display_report", raw.get("display_report")),
        ssh_signing_key=_ssh_key(raw.get("ssh_signing_key")),
        prompt_template=raw.get("prompt_template"),
        comment_template=raw.get("comment_template"),
        provider_flags=provider_flags,
        provider=provider,
        aws_role_to_assume=raw.get("aws_role_to_assume"),
        aws_region=raw.get("aws_region"),
        gcp_workload_identity_provider=raw.get("gcp_workload_identity_provider"),
        gcp_service_account=raw.get("gcp_service_account"),
        oidc_token_variable=raw.get("oidc_token_variable"),
        show_full_output=_bool("show_full_output", raw.get("show_full_output")),
        required_permission=_access_level(raw.get("min_access_level")),
        review=_bool("review", raw.get("review")),
        review_drafts=_bool("review_drafts", raw.get("review_drafts")),
        review_request_changes=_bool("review_request_changes", raw.get("review_request_changes")),
        tool_env_passthrough=raw.get("tool_env_passthrough", ""),
        effort=_effort(raw.get("effort")),
        plugins=_list(raw.get("plugins")),
        plugin_marketplaces=_lines(raw.get("plugin_marketplaces")),
        reply_to_refused=_bool("reply_to_refused", raw.get("reply_to_refused"), True),
        warnings=tuple(warnings),
    )


def _effort(value: str | None) -> str | None:
    level = effort_level(value)
    if level is not None and level not in EFFORT_LEVELS:
        raise UsageError(f"input effort must be one of {', '.join(EFFORT_LEVELS)} or auto (got {value!r})")
    return level


def with_flow_effort(agent: RunSettings, settings: FlowSettings) -> RunSettings:
    """``claude_args`` settings with the ``effort`` input applied when ``--effort`` was not given."""
    return replace(agent, effort=settings.effort) if agent.effort is None and settings.effort else agent


def github_token(raw: Mapping[str, str], env: Mapping[str, str]) -> str | None:
    """The GitHub token: the ``github_token`` input, else ``GITHUB_TOKEN`` unless a GitHub App is
    configured (a job-level ``GITHUB_TOKEN`` must not silently win over the App)."""
    if raw.get("github_token"):
        return raw["github_token"]
    if raw.get("app_id") and raw.get("app_private_key"):
        return None
    return env.get("GITHUB_TOKEN") or None


def provider_environ(settings: FlowSettings, environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with the provider inputs applied as the variables the provider modules read.

    An input wins over a variable of the job (it is the more specific setting); ``use_*`` inputs
    turn their ``CLAUDE_CODE_USE_*`` on; ``anthropic_api_key`` becomes ``ANTHROPIC_API_KEY``.
    """
    env = dict(environ)
    for var in settings.provider_flags:
        env[var] = "1"
    if settings.anthropic_api_key:
        env["ANTHROPIC_API_KEY"] = settings.anthropic_api_key
    env.update(settings.signin_vars)
    for name, var in PROVIDER_INPUT_VARS.items():
        value = getattr(settings, name)
        if value:
            env[var] = value
    return env
