"""Google Vertex AI (Google Cloud's Agent Platform): the client, with per-model regions.

The ``AnthropicVertex`` client gets its Google access token from ``vertex_auth`` (workload identity
federation from the CI's OIDC token, or Application Default Credentials), refreshed before it
expires; requests for a model with a ``VERTEX_REGION_CLAUDE_*`` override go to that region; Vertex
AI's own errors (a model not enabled, a disabled API, a missing role) read as one line with the fix.

The settings (project, region, per-model regions, how to authenticate: ``VertexSettings``) are
read from the environment by ``runner.settings.vertex``; this module reads none.
"""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING

from runner.providers.base import ClientOptions
from runner.providers.vertex_auth import (
    RefreshingCredentials,
    application_default_credentials,
    workload_identity_credentials,
)
from runner.settings.vertex import VertexSettings, missing_project_error, region_variable

if TYPE_CHECKING:
    import anthropic
    import httpx2
    from anthropic._models import FinalRequestOptions


def secrets(settings: VertexSettings) -> list[str]:
    """Nothing in the settings is secret: tokens are minted at run time and reported through
    ``ClientOptions.on_secret``."""
    return []


# -- Vertex AI errors -----------------------------------------------------------------------------


def explain_status(
    settings: VertexSettings, status: int, path: str, body: object
) -> tuple[str, str, str] | None:
    """``(error type, message, fix)`` for a Vertex AI (not Claude) error, or None to keep the original."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(body, list) and body and isinstance(body[0], dict):  # Vertex sometimes wraps errors
        error = body[0].get("error")
    if not isinstance(error, dict) or "status" not in error:
        return None  # an error Claude itself returned, already in the Messages API shape
    found = re.search(r"/projects/([^/]+)/locations/([^/]+)/publishers/anthropic/models/([^/:]+)", path)
    project, region, model = found.groups() if found else (settings.project_id, settings.region, "?")
    grpc_status = str(error.get("status"))
    variable = region_variable(model) or "VERTEX_REGION_CLAUDE_*"
    if status == 404 or grpc_status == "NOT_FOUND":
        return (
            "not_found_error",
            f"model {model} is not enabled for project {project} in region {region} on Vertex AI (404)",
            f"enable it in Model Garden for project {project}, or use a region where it is offered "
            f"(CLOUD_ML_REGION, or {variable} for this model)",
        )
    if status == 403 or grpc_status == "PERMISSION_DENIED":
        text = str(error.get("message", ""))
        if "has not been used" in text or "SERVICE_DISABLED" in json.dumps(error):
            return (
                "permission_error",
                f"the Vertex AI API is not enabled in project {project} (403)",
                f"gcloud services enable aiplatform.googleapis.com --project={project}",
            )
        member = f"serviceAccount:{settings.service_account}" if settings.service_account else "<principal>"
        return (
            "permission_error",
            f"the credentials may not call Claude on Vertex AI in project {project} (403 PERMISSION_DENIED)",
            f"gcloud projects add-iam-policy-binding {project} --member={member} "
            "--role=roles/aiplatform.user",
        )
    if status == 401 or grpc_status == "UNAUTHENTICATED":
        return (
            "authentication_error",
            "Vertex AI rejected the access token (401 UNAUTHENTICATED)",
            "check the Google credentials; with CLAUDE_CODE_SKIP_VERTEX_AUTH the gateway must add them",
        )
    return None


# -- client ---------------------------------------------------------------------------------------


def default_base_url(region: str) -> str:
    """The Vertex AI endpoint the SDK uses for a region."""
    if region == "global":
        return "https://aiplatform.googleapis.com/v1"
    if region in ("us", "eu"):
        return f"https://aiplatform.{region}.rep.googleapis.com/v1"
    return f"https://{region}-aiplatform.googleapis.com/v1"


@functools.cache
def _client_class() -> type[anthropic.AnthropicVertex]:
    import anthropic
    from anthropic.lib.vertex._client import _prepare_options

    class RunnerVertex(anthropic.AnthropicVertex):
        """``AnthropicVertex`` with per-model regions, optional client-side auth, and Vertex errors
        rewritten into one actionable line."""

        runner_settings: VertexSettings

        def _prepare_options(self, options: FinalRequestOptions) -> FinalRequestOptions:
            region = self.region
            data = options.json_data
            if isinstance(data, dict) and isinstance(data.get("model"), str):
                region = self.runner_settings.region_for(data["model"])
            prepared = _prepare_options(options, project_id=self.project_id, region=region)
            if (
                region != self.region
                and self.runner_settings.base_url is None
                and prepared.url.startswith("/")
            ):
                prepared.url = default_base_url(region) + prepared.url
            return prepared

        def _prepare_request(self, request: httpx2.Request) -> None:
            if not self.runner_settings.skip_auth:
                super()._prepare_request(request)

        def _make_status_error_from_response(self, response: httpx2.Response) -> anthropic.APIStatusError:
            error = super()._make_status_error_from_response(response)
            explained = explain_status(
                self.runner_settings, response.status_code, response.request.url.path, error.body
            )
            if explained is not None:
                kind, message, fix = explained
                error.body = {"type": "error", "error": {"type": kind, "message": f"{message} — {fix}"}}
                error.message = f"{message} — {fix}"
            return error

    return RunnerVertex


def build_client(settings: VertexSettings, options: ClientOptions) -> anthropic.AnthropicVertex:
    """An ``AnthropicVertex`` client whose Google access token refreshes itself before it expires.

    Mints the first token now, so a misconfiguration fails here with its own message."""
    import anthropic

    project = settings.project_id
    credentials: RefreshingCredentials | None = None
    if settings.skip_auth:
        pass
    elif settings.uses_workload_identity:
        credentials = workload_identity_credentials(settings, options)
    else:
        credentials, adc_project = application_default_credentials(settings, options)
        # The credential file's project outranks ANTHROPIC_VERTEX_PROJECT_ID (Claude Code's precedence).
        explicit = settings.project_source in ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT")
        if adc_project and not explicit and (settings.credentials_file or project is None):
            project = adc_project
    if project is None:
        raise missing_project_error()
    if credentials is not None:
        from google.auth.transport.requests import Request

        credentials.refresh(Request())
    base_url = settings.base_url or default_base_url(settings.region)
    # A subclass per settings, so copies made with ``with_options`` keep them.
    cls = type("RunnerVertexClient", (_client_class(),), {"runner_settings": settings})
    client: anthropic.AnthropicVertex = cls(
        region=settings.region,
        project_id=project,
        credentials=credentials,
        access_token=None,
        base_url=base_url,
        timeout=options.timeout_s,
        max_retries=0,  # the agent loop retries, and reports each retry
        default_headers=dict(options.headers) or None,
        http_client=anthropic.DefaultHttpxClient(verify=False) if base_url.startswith("http://") else None,
    )
    return client


__all__ = [
    "build_client",
    "default_base_url",
    "explain_status",
    "secrets",
]
