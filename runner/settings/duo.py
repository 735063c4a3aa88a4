"""GitLab Duo Agent Platform: the runner as an external agent inside a Duo flow (no key of our own).

A flow whose configuration says ``injectGatewayToken: true`` runs its job with GitLab-managed
credentials for Claude, through GitLab's AI gateway:

- ``AI_FLOW_AI_GATEWAY_TOKEN``: a short-lived token for the gateway (sent as
  ``Authorization: Bearer``, as ``ANTHROPIC_AUTH_TOKEN`` is);
- ``AI_FLOW_AI_GATEWAY_HEADERS``: headers the gateway needs (``Name: Value`` lines, the form of
  ``ANTHROPIC_CUSTOM_HEADERS``);
- the gateway's Anthropic endpoint, ``https://cloud.gitlab.com/ai/v1/proxy/anthropic``
  (``ANTHROPIC_BASE_URL`` overrides it, e.g. a self-hosted gateway);
- ``AI_FLOW_GITLAB_TOKEN``: the flow's token for the GitLab API and pushes.

``duo_environ`` lays these over the job's variables as the ones the provider and GitLab settings
read, unless the job configured its own model credentials (an API key, a bearer token, a
subscription token, federation, a cloud provider): those win, and the gateway is left alone.
The mention itself comes in ``AI_FLOW_INPUT`` / ``AI_FLOW_CONTEXT`` / ``AI_FLOW_EVENT``
(``runner/events/gitlab_flow.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

GATEWAY_TOKEN_VAR = "AI_FLOW_AI_GATEWAY_TOKEN"
GATEWAY_HEADERS_VAR = "AI_FLOW_AI_GATEWAY_HEADERS"
FLOW_GITLAB_TOKEN_VAR = "AI_FLOW_GITLAB_TOKEN"
GATEWAY_BASE_URL = "https://cloud.gitlab.com/ai/v1/proxy/anthropic"
# Model credentials of the job's own: any of them set means the gateway is not used.
OWN_CREDENTIALS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "ANTHROPIC_FEDERATION_RULE_ID",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY",
    "CLAUDE_RUNNER_PROVIDER",
    "INPUT_ANTHROPIC_API_KEY",
    "INPUT_CLAUDE_CODE_OAUTH_TOKEN",
    "INPUT_PROVIDER",
)


def uses_gateway(env: Mapping[str, str]) -> bool:
    """Whether the model is reached through GitLab's AI gateway with the flow's token."""
    if not env.get(GATEWAY_TOKEN_VAR, "").strip():
        return False
    return not any(env.get(var, "").strip() for var in OWN_CREDENTIALS)


def duo_environ(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with a Duo flow's variables applied as the ones the runner reads (see the module)."""
    applied = dict(env)
    token = env.get(FLOW_GITLAB_TOKEN_VAR, "").strip()
    if token and not env.get("GITLAB_ACCESS_TOKEN", "").strip():
        applied["GITLAB_ACCESS_TOKEN"] = token
    if not uses_gateway(env):
        return applied
    applied["ANTHROPIC_AUTH_TOKEN"] = env[GATEWAY_TOKEN_VAR].strip()
    applied["ANTHROPIC_BASE_URL"] = env.get("ANTHROPIC_BASE_URL", "").strip() or GATEWAY_BASE_URL
    headers = [env.get("ANTHROPIC_CUSTOM_HEADERS", ""), env.get(GATEWAY_HEADERS_VAR, "")]
    applied["ANTHROPIC_CUSTOM_HEADERS"] = "\n".join(h.strip() for h in headers if h.strip())
    return applied


__all__ = ["GATEWAY_BASE_URL", "duo_environ", "uses_gateway"]
