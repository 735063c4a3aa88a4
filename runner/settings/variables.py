"""The environment variables each CI command reads: one registry for ``--help`` and the README.

``tests/settings/test_variables.py`` checks that every variable the settings readers name is
listed here, and that the README's tables list exactly these, so neither can drift.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    """One row: the variable names it covers and what they mean (short)."""

    names: tuple[str, ...]
    meaning: str


# `claude-runner gitlab`: the job variables a project sets (README "job variable" table).
GITLAB_JOB = (
    Variable(("GITLAB_ACCESS_TOKEN",), "project or group access token, api scope (masked)"),
    Variable(("TRIGGER_PHRASE", "LABEL_TRIGGER", "ASSIGNEE_TRIGGER", "ALLOWED_BOTS"), "as the GitHub inputs"),
    Variable(("MIN_ACCESS_LEVEL",), "least access the author needs: developer (default), maintainer, owner"),
    Variable(("REPLY_TO_REFUSED",), "true (default): an author without access gets a short note saying so"),
    Variable(
        ("PROMPT", "PROMPT_FILE"), "instructions for automation runs, or extra instructions for mentions"
    ),
    Variable(("CLAUDE_ARGS",), "flags of `claude-runner run` (--model, --allowedTools, --max-turns, ...)"),
    Variable(("MAX_TURNS", "TIMEOUT_MINUTES"), "the same limits as job variables"),
    Variable(
        ("EFFORT",), "effort level: low, medium, high, xhigh, max or auto (--effort in CLAUDE_ARGS wins)"
    ),
    Variable(("PR_MODE",), "draft (default), ready or link"),
    Variable(
        ("BRANCH_PREFIX", "BRANCH_NAME_TEMPLATE", "BASE_BRANCH", "USE_STICKY_COMMENT", "TRACK_PROGRESS"),
        "as on GitHub",
    ),
    Variable(
        (
            "PROVIDER",
            "AWS_ROLE_TO_ASSUME",
            "AWS_REGION",
            "GCP_WORKLOAD_IDENTITY_PROVIDER",
            "GCP_SERVICE_ACCOUNT",
            "CLAUDE_OIDC_TOKEN_VARIABLE",
        ),
        "model provider and cloud identity",
    ),
    Variable(("TOOL_ENV_PASSTHROUGH",), "job variables the agent's tools may see"),
    Variable(("SETTINGS",), "Claude Code settings as inline JSON or a file's path"),
    Variable(
        ("PLUGINS", "PLUGIN_MARKETPLACES"), "plugins (name@marketplace) and their marketplaces, one a line"
    ),
    Variable(("REVIEW", "REVIEW_DRAFTS"), "true: review merge requests (drafts too) in MR pipelines"),
    Variable(("CONFIDENTIAL_ISSUE_MR",), "true: a confidential issue's work gets a named branch and an MR"),
)

# `claude-runner gitlab`: what GitLab itself sets in the job, and the AI_FLOW_* of a flow trigger.
GITLAB_PREDEFINED = (
    "CI_PROJECT_ID",
    "CI_PROJECT_PATH",
    "CI_SERVER_URL",
    "CI_API_V4_URL",
    "CI_PROJECT_URL",
    "CI_PROJECT_DIR",
    "CI_PROJECT_VISIBILITY",
    "CI_JOB_URL",
    "CI_JOB_ID",
    "CI_JOB_TOKEN",
    "CI_JOB_STATUS",
    "CI_DEFAULT_BRANCH",
    "CI_COMMIT_SHA",
    "CI_PIPELINE_ID",
    "CI_PIPELINE_URL",
    "CI_PIPELINE_SOURCE",
    "CI_MERGE_REQUEST_IID",
    "CI_MERGE_REQUEST_TITLE",
    "CI_MERGE_REQUEST_DRAFT",
    "CI_MERGE_REQUEST_PROJECT_ID",
    "CI_MERGE_REQUEST_SOURCE_PROJECT_ID",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    "GITLAB_USER_LOGIN",
    "AI_FLOW_INPUT",
    "AI_FLOW_CONTEXT",
    "AI_FLOW_EVENT",
)

# `claude-runner webhook` (README "listener variable" table).
LISTENER = (
    Variable(("GITLAB_WEBHOOK_SECRET",), "the webhook's secret token (required)"),
    Variable(("GITLAB_ACCESS_TOKEN",), "reads access levels and starts pipelines (required; api scope)"),
    Variable(
        ("GITLAB_URL",), "your GitLab, with its scheme (default CI_SERVER_URL, else https://gitlab.com)"
    ),
    Variable(("GITLAB_TRIGGER_TOKEN",), "start pipelines with a trigger token instead"),
    Variable(("TRIGGER_PHRASE", "LABEL_TRIGGER", "ASSIGNEE_TRIGGER", "ALLOWED_BOTS"), "as for the job"),
    Variable(("MIN_ACCESS_LEVEL",), "developer (default, 30), maintainer, owner, or a number"),
    Variable(("WEBHOOK_MR_REF",), "source (default) or default: the ref merge-request pipelines run on"),
    Variable(
        ("REPLY_TO_REFUSED",), "true (default): an author below MIN_ACCESS_LEVEL gets a short note saying so"
    ),
    Variable(
        ("WEBHOOK_STORE",), "where accepted hooks are kept (--store): a path, sqlite:///..., postgresql://..."
    ),
    Variable(("WEBHOOK_LEASE_SECONDS",), "how long a claimed hook stays with a silent worker (default 30)"),
    Variable(("WEBHOOK_RETRY_SECONDS",), "the first retry's delay; doubles each time (default 5)"),
    Variable(("WEBHOOK_MAX_BODY_BYTES",), "larger bodies are answered 413 (default 1000000)"),
    Variable(("WEBHOOK_MAX_JSON_DEPTH",), "deeper bodies are answered 400 (default 64)"),
    Variable(("WEBHOOK_MAX_CONNECTIONS",), "open connections (default 1000)"),
    Variable(("WEBHOOK_IDLE_TIMEOUT", "WEBHOOK_REQUEST_TIMEOUT"), "seconds (default 10 and 10)"),
)

# `claude-runner github`: what Actions sets; the inputs arrive as INPUT_<NAME> (see action.yml).
GITHUB_PREDEFINED = (
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_REPOSITORY",
    "GITHUB_WORKSPACE",
    "GITHUB_RUN_ID",
    "GITHUB_SERVER_URL",
    "GITHUB_API_URL",
    "GITHUB_GRAPHQL_URL",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "RUNNER_TEMP",
    "CLAUDE_RUNNER_JOB_STATUS",
)

# OpenTelemetry, as Claude Code reads it (settings/telemetry.py; README "telemetry variable" table).
TELEMETRY = (
    Variable(("CLAUDE_CODE_ENABLE_TELEMETRY",), "1: export telemetry (needs the telemetry extra)"),
    Variable(
        ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER"),
        "otlp, console or none (comma-separated); logs: Claude Code's events",
    ),
    Variable(
        (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
        ),
        "http/protobuf (default) or grpc",
    ),
    Variable(
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        ),
        "the collector (default http://localhost:4318, grpc :4317); per signal: the full URL",
    ),
    Variable(
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
            "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
        ),
        "key=value,... sent with each export (values are redacted from logs)",
    ),
    Variable(("OTEL_EXPORTER_OTLP_TIMEOUT",), "ms an export may take, and the flush at exit (default 10000)"),
    Variable(
        ("OTEL_METRIC_EXPORT_INTERVAL", "OTEL_TRACES_EXPORT_INTERVAL", "OTEL_LOGS_EXPORT_INTERVAL"),
        "ms between exports (60000, 5000, 5000)",
    ),
    Variable(("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",), "delta (default) or cumulative"),
    Variable(("OTEL_RESOURCE_ATTRIBUTES", "OTEL_SERVICE_NAME"), "resource attributes (service.name)"),
    Variable(("OTEL_LOG_USER_PROMPTS",), "1: the prompt on the interaction span and event (redacted)"),
    Variable(("OTEL_LOG_TOOL_DETAILS",), "1: each tool call's input on its span and event (redacted)"),
    Variable(
        ("OTEL_METRICS_INCLUDE_SESSION_ID", "OTEL_METRICS_INCLUDE_VERSION"),
        "session.id (default 1) and app.version (default 0) on metrics",
    ),
)

# Read by every CI command.
COMMON = (
    Variable(("CLAUDE_RUNNER_RETRY_BASE_MS",), "first backoff step of model calls, ms (default 500)"),
    *TELEMETRY,
)


def variable_names(rows: tuple[Variable, ...]) -> list[str]:
    """Every name in ``rows``, in order."""
    return [name for row in rows for name in row.names]


def help_epilog(rows: tuple[Variable, ...], predefined: tuple[str, ...] = (), intro: str = "") -> str:
    """The ``--help`` text listing the variables a command reads (click keeps ``\\b`` blocks as is)."""
    lines = ["\b", intro or "Environment variables:"]
    lines += [f"  {', '.join(row.names)}: {row.meaning}" for row in rows]
    if predefined:
        lines += ["\b", "Set by the CI (read, not to be set by hand):"]
        lines += ["  " + ", ".join(predefined[i : i + 4]) for i in range(0, len(predefined), 4)]
    return "\n".join(lines)
