"""`claude-runner gitlab` as an external agent in a GitLab Duo flow: the mention comes in the
AI_FLOW_* variables, the model is reached through GitLab's AI gateway with the flow's injected
token and headers (no key of our own), and GitLab is called with the flow's token."""

from __future__ import annotations

import json
import subprocess
import sys

from runner.settings.duo import GATEWAY_BASE_URL, duo_environ
from runner.testing.fake_messages import FakeMessagesAPI
from tests.ci.test_gitlab_flow import PATH, TOKEN, fix, world, world_env  # noqa: F401  (the fixture)

GATEWAY_TOKEN = "gw-token-0123456789abcdef"
GATEWAY_HEADERS = "X-Gitlab-Instance-Id: ea8bf810-1d6f-4a6a-b4fd-93e8cbd8b57f\nX-Gitlab-Realm: saas"


def duo_run(world, **extra: str) -> subprocess.CompletedProcess[str]:  # noqa: F811
    context = {
        "project": PATH,
        "noteable_type": "MergeRequest",
        "noteable_iid": 5,
        "note_id": 77,
        "author": "alice",
    }
    env = {
        **world_env(world),
        "ANTHROPIC_API_KEY": "",  # no key of our own: injectGatewayToken provides the credentials
        "GITLAB_ACCESS_TOKEN": "",
        "AI_FLOW_GITLAB_TOKEN": TOKEN,
        "AI_FLOW_AI_GATEWAY_TOKEN": GATEWAY_TOKEN,
        "AI_FLOW_AI_GATEWAY_HEADERS": GATEWAY_HEADERS,
        "AI_FLOW_INPUT": "@claude fix the bug in calc.py",
        "AI_FLOW_CONTEXT": json.dumps(context),
        "AI_FLOW_EVENT": "mention",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "runner", "gitlab"],
        cwd=world.workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_duo_flow_runs_on_the_gateway_token_and_the_flows_gitlab_token(world):  # noqa: F811
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    world.model.api_key = GATEWAY_TOKEN
    world.model.add_turns(fix(world))
    proc = duo_run(world)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    requests = world.model.message_requests
    assert requests and all(r.headers["authorization"] == f"Bearer {GATEWAY_TOKEN}" for r in requests)
    assert all(r.headers["x-gitlab-realm"] == "saas" for r in requests)
    assert all("x-gitlab-instance-id" in r.headers for r in requests)
    assert world.remote_log("feature", "%s")[0].startswith("MR #5")
    (note,) = [n for n in world.gitlab.note_list("merge_request", 5) if not n.system]
    assert "Claude finished @alice's task" in note.body and GATEWAY_TOKEN not in note.body
    # GitLab saw the flow's token on every call.
    assert {r.caller for r in world.gitlab.requests} - {""} <= {world.gitlab.tokens[TOKEN]}
    assert GATEWAY_TOKEN not in proc.stdout + proc.stderr


def test_the_gateway_is_the_default_endpoint_and_a_key_of_the_jobs_own_wins():
    env = {"AI_FLOW_AI_GATEWAY_TOKEN": GATEWAY_TOKEN, "AI_FLOW_AI_GATEWAY_HEADERS": GATEWAY_HEADERS}
    applied = duo_environ(env)
    assert (
        applied["ANTHROPIC_BASE_URL"] == GATEWAY_BASE_URL == "https://cloud.gitlab.com/ai/v1/proxy/anthropic"
    )
    assert applied["ANTHROPIC_AUTH_TOKEN"] == GATEWAY_TOKEN
    assert applied["ANTHROPIC_CUSTOM_HEADERS"] == GATEWAY_HEADERS
    own = duo_environ({**env, "ANTHROPIC_API_KEY": "sk-ant-own-key"})
    assert "ANTHROPIC_AUTH_TOKEN" not in own and "ANTHROPIC_BASE_URL" not in own
    assert duo_environ({"AI_FLOW_GITLAB_TOKEN": "glpat-x"})["GITLAB_ACCESS_TOKEN"] == "glpat-x"
    assert (
        duo_environ({"AI_FLOW_GITLAB_TOKEN": "glpat-x", "GITLAB_ACCESS_TOKEN": "mine"})["GITLAB_ACCESS_TOKEN"]
        == "mine"
    )


def test_the_fake_refuses_another_token(world):  # noqa: F811
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    world.model.api_key = "something-else"
    proc = duo_run(world)
    assert proc.returncode != 0
    assert isinstance(world.model, FakeMessagesAPI) and all(
        r.status == 401 for r in world.model.message_requests
    )


def test_doctor_in_a_duo_flow_checks_the_gateway_sign_in():
    import io

    from runner.providers.doctor import run_doctor
    from runner.settings.runtime import read_doctor_runtime

    with FakeMessagesAPI(api_key=GATEWAY_TOKEN) as gateway:
        env = {
            "ANTHROPIC_BASE_URL": gateway.base_url,  # a self-hosted gateway's URL wins over GitLab's
            "AI_FLOW_AI_GATEWAY_TOKEN": GATEWAY_TOKEN,
            "AI_FLOW_AI_GATEWAY_HEADERS": GATEWAY_HEADERS,
        }
        out = io.StringIO()
        code = run_doctor(read_doctor_runtime(env), out)
        (request,) = gateway.message_requests
        url = gateway.base_url
    assert code == 0, out.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"✓ settings: Anthropic API via gateway {url} (ANTHROPIC_AUTH_TOKEN)")
    assert lines[3].startswith("✓ model call:") and GATEWAY_TOKEN not in out.getvalue()
    assert request.headers["x-gitlab-realm"] == "saas"
