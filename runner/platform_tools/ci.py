"""CI as tools: the runs of the change request's head commit, a run's jobs, a job's log on disk.

Named and shaped as claude-code-action's ``github_ci`` MCP server (``get_ci_status``,
``get_workflow_run_details``, ``download_job_log``: same inputs, same JSON keys, and a few more),
with GitLab counterparts (``mcp__gitlab_ci__get_ci_status``, ``..._get_pipeline_details``,
``..._download_job_log``). The runner calls the API with its own token; a log is written, redacted
and trimmed around the failure, under the run's temporary directory, which the Read tool may read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult, int_arg, str_arg
from runner.errors import RunnerError
from runner.platform_tools.base import Automation, CIJob, CIRun
from runner.platform_tools.logs import trim_log
from runner.sanitize import Redactor

MAX_LOG_BYTES = 20 * 1024 * 1024  # the tail of a bigger log is kept: a failure is near the end
GITHUB_STATUSES = [
    *("completed", "action_required", "cancelled", "failure", "neutral", "skipped", "stale"),
    *("success", "timed_out", "in_progress", "queued", "requested", "waiting", "pending"),
]
GITLAB_STATUSES = [
    *("created", "waiting_for_resource", "preparing", "pending", "running", "success", "failed"),
    *("canceled", "skipped", "manual", "scheduled"),
]
GITLAB_PENDING = {"created", "waiting_for_resource", "preparing", "pending", "running", "scheduled"}


@dataclass
class CIScope:
    """What the CI tools work on: the commit whose runs they read, where logs go, what to hide."""

    automation: Automation
    head_sha: str
    logs_dir: Path
    redactor: Redactor


class _CITool(Tool):
    # The runner reads with its own token: the call needs the permission rules' consent (an allow
    # rule, or the flow's default rules on change requests), never a prompt.
    read_only: ClassVar[bool] = False

    def __init__(self, scope: CIScope) -> None:
        self.scope = scope

    def _json(self, value: Any) -> ToolResult:
        return ToolResult(self.scope.redactor.text(json.dumps(value, indent=2)))


def _api(what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the platform; its one-line error (never a traceback) goes back to the model."""
    try:
        return fn(*args, **kwargs)
    except RunnerError as exc:
        raise ToolError(f"Error: {exc.one_line()}") from exc


class GitHubCIStatus(_CITool):
    """``mcp__github_ci__get_ci_status``: the head commit's workflow runs, summarised."""

    name: ClassVar[str] = "mcp__github_ci__get_ci_status"
    description: ClassVar[str] = "Get CI status summary for this PR"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "status": {
                "type": "string",
                "enum": GITHUB_STATUSES,
                "description": "Filter workflow runs by status",
            }
        },
    }

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Runs for the head SHA with a passed/failed/pending summary, their failed jobs, and the
        commit's other check runs (an external CI's)."""
        status = str_arg(args, "status", required=False) or None
        auto = self.scope.automation
        runs = _api("list workflow runs", auto.ci_runs, self.scope.head_sha, status)
        summary = {"total_runs": len(runs), "failed": 0, "passed": 0, "pending": 0}
        listed = []
        for run in runs:
            if run.status != "completed":
                summary["pending"] += 1
            elif run.conclusion == "success":
                summary["passed"] += 1
            elif run.conclusion == "failure":
                summary["failed"] += 1
            item: dict[str, Any] = _run_json(run)
            if run.conclusion == "failure":
                jobs = _api("list jobs", auto.ci_jobs, run.id)
                item["failed_jobs"] = [
                    {"id": j.id, "name": j.name} for j in jobs if j.conclusion == "failure"
                ]
            listed.append(item)
        checks = [
            {"id": c.id, "name": c.name, "status": c.status, "conclusion": c.conclusion,
             "html_url": c.html_url, "app": c.app}
            for c in _api("list check runs", auto.check_runs, self.scope.head_sha)
            if c.app != "github-actions"  # Actions' own check runs are the jobs above
        ]  # fmt: skip
        result: dict[str, Any] = {"summary": summary, "runs": listed, "head_sha": self.scope.head_sha}
        if checks:
            result["check_runs"] = checks
        return self._json(result)


class GitHubRunDetails(_CITool):
    """``mcp__github_ci__get_workflow_run_details``: a run's jobs and their failed steps."""

    name: ClassVar[str] = "mcp__github_ci__get_workflow_run_details"
    description: ClassVar[str] = "Get job and step details for a workflow run"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"run_id": {"type": "number", "description": "The workflow run ID"}},
        "required": ["run_id"],
    }

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Every job of the run, with the steps that failed."""
        run_id = int_arg(args, "run_id", minimum=1)
        jobs: list[CIJob] = _api("list jobs", self.scope.automation.ci_jobs, run_id)
        return self._json(
            {
                "jobs": [
                    {
                        "id": j.id,
                        "name": j.name,
                        "conclusion": j.conclusion,
                        "html_url": j.html_url,
                        "failed_steps": [
                            {"name": s.name, "number": s.number} for s in j.steps if s.conclusion == "failure"
                        ],
                    }
                    for j in jobs
                ]
            }
        )


class GitLabCIStatus(_CITool):
    """``mcp__gitlab_ci__get_ci_status``: the head commit's pipelines, summarised."""

    name: ClassVar[str] = "mcp__gitlab_ci__get_ci_status"
    description: ClassVar[str] = "Get CI status summary for this merge request (its head commit's pipelines)"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": GITLAB_STATUSES, "description": "Filter pipelines by status"}
        },
    }

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Pipelines for the head SHA with a passed/failed/pending summary and their failed jobs."""
        status = str_arg(args, "status", required=False) or None
        auto = self.scope.automation
        pipelines = _api("list pipelines", auto.ci_runs, self.scope.head_sha, status)
        summary = {"total_pipelines": len(pipelines), "failed": 0, "passed": 0, "pending": 0}
        listed = []
        for p in pipelines:
            if p.status == "success":
                summary["passed"] += 1
            elif p.status == "failed":
                summary["failed"] += 1
            elif p.status in GITLAB_PENDING:
                summary["pending"] += 1
            item: dict[str, Any] = {
                "id": p.id, "status": p.status, "ref": p.ref, "web_url": p.html_url,
                "created_at": p.created_at,
            }  # fmt: skip
            if p.status in ("failed", "running"):  # a failing job shows before the pipeline ends
                jobs = _api("list jobs", auto.ci_jobs, p.id)
                item["failed_jobs"] = [
                    {"id": j.id, "name": j.name, "stage": j.stage, "failure_reason": j.failure_reason}
                    for j in jobs
                    if j.status == "failed" and not j.allow_failure
                ]
            listed.append(item)
        return self._json({"summary": summary, "pipelines": listed, "head_sha": self.scope.head_sha})


class GitLabPipelineDetails(_CITool):
    """``mcp__gitlab_ci__get_pipeline_details``: a pipeline's jobs."""

    name: ClassVar[str] = "mcp__gitlab_ci__get_pipeline_details"
    description: ClassVar[str] = "Get the jobs of a pipeline, with their stages, statuses and failure reasons"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"pipeline_id": {"type": "number", "description": "The pipeline ID"}},
        "required": ["pipeline_id"],
    }

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Every job of the pipeline."""
        pipeline_id = int_arg(args, "pipeline_id", minimum=1)
        jobs: list[CIJob] = _api("list jobs", self.scope.automation.ci_jobs, pipeline_id)
        return self._json(
            {
                "jobs": [
                    {
                        "id": j.id,
                        "name": j.name,
                        "stage": j.stage,
                        "status": j.status,
                        "failure_reason": j.failure_reason,
                        "allow_failure": j.allow_failure,
                        "web_url": j.html_url,
                    }
                    for j in jobs
                ]
            }
        )


class _JobLog(_CITool):
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"job_id": {"type": "number", "description": "The job ID"}},
        "required": ["job_id"],
    }

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Download the log, redact it, trim it around the failure, write it; say where."""
        job_id = int_arg(args, "job_id", minimum=1)
        raw: bytes = _api("download the job log", self.scope.automation.job_log, job_id, MAX_LOG_BYTES)
        text = self.scope.redactor.text(raw.decode("utf-8", errors="replace"))
        log = trim_log(text)
        self.scope.logs_dir.mkdir(parents=True, exist_ok=True)
        path = self.scope.logs_dir / f"job-{job_id}.log"
        path.write_text(log.text, encoding="utf-8")
        return self._json(
            {
                "path": str(path),
                "size_bytes": len(log.text.encode("utf-8")),
                "total_lines": log.total_lines,
                "trimmed": log.kept_lines < log.total_lines,
                "failure_lines": list(log.failure_lines[-20:]),
            }
        )


class GitHubJobLog(_JobLog):
    """``mcp__github_ci__download_job_log``."""

    name: ClassVar[str] = "mcp__github_ci__download_job_log"
    description: ClassVar[str] = (
        "Download job logs to disk (trimmed around the failure; read the file with the Read tool)"
    )


class GitLabJobLog(_JobLog):
    """``mcp__gitlab_ci__download_job_log``: a job's trace."""

    name: ClassVar[str] = "mcp__gitlab_ci__download_job_log"
    description: ClassVar[str] = (
        "Download a job's log (trace) to disk (trimmed around the failure; read the file with the Read tool)"
    )


def _run_json(run: CIRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "status": run.status,
        "conclusion": run.conclusion,
        "html_url": run.html_url,
        "created_at": run.created_at,
    }


def ci_tools(platform: str, scope: CIScope) -> list[Tool]:
    """The CI tools of ``platform`` ("github" or "gitlab") over ``scope``."""
    if platform == "gitlab":
        return [GitLabCIStatus(scope), GitLabPipelineDetails(scope), GitLabJobLog(scope)]
    return [GitHubCIStatus(scope), GitHubRunDetails(scope), GitHubJobLog(scope)]
