"""The acknowledgement of a mention: `claude-runner github` checks who asked and posts the tracking
comment with the standard library's HTTP client before the job's settings are built (`runner/quick/`,
an installation token), or after them (`runner/flow/ack.py`), before PyGithub, the agent, jinja2 and
the Anthropic SDK are loaded either way; the rest of the run goes on through PyGithub.

Not timed (that is `bench/ack_latency.py`): the runner writes the names of the modules loaded at
the moment it sends the comment (``CLAUDE_RUNNER_ACK_AUDIT``), and the fake GitHub records the
order of the requests.
"""

from __future__ import annotations

import json
from pathlib import Path

from runner.settings.ack import read_ack_settings
from runner.testing.fake_messages import text
from tests.ci.test_github_flow import job, pr_comment_payload  # noqa: F401 (fixture)

# What the acknowledgement must not need: the GitHub SDK and its transport, the agent and the
# flow, the templates, the model's SDK.
NOT_BEFORE_THE_COMMENT = (
    "github",
    "requests",
    "urllib3",
    "jwt",
    "jinja2",
    "anthropic",
    "httpx",
    "runner.flow.mention",
    "runner.flow.dispatch",
    "runner.platforms.transport_retry",
    "click",  # the command line: `claude-runner github` goes past it (runner/main.py)
    "runner.cli",
    "runner.settings.run_flags",  # claude_args without a flag need no parsing
    "markdown_it",  # a mention in plain prose is read without the parsers (runner/text/prose.py)
    "selectolax",
    "runner.text.markdown",
)
# The runner's modules loaded when the quick acknowledgement posts the comment.
QUICK_MODULES = {
    "runner",
    "runner.main",
    "runner.quick",
    "runner.quick.comment",
    "runner.quick.decide",
    "runner.quick.github",
    "runner.quick.handover",
    "runner.quick.prose",
    "runner.settings",
    "runner.settings.quick_ack",
}
# Standard modules the stdlib floor (bench/ack_floor.py) does without, which the job's settings load.
NOT_IN_THE_QUICK_PATH = {"dataclasses", "typing", "hashlib", "hmac", "uuid", "shutil", "inspect", "tempfile"}
TOKEN = "ghs_actionsInstallationToken0123456789"  # an installation token, as Actions' GITHUB_TOKEN is


def _mention(job, tmp_path: Path, **env: str):  # noqa: F811
    job.github.tokens[TOKEN] = "github-actions[bot]"
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head)
    job.model.add_turns([[text("It adds two numbers.")]])
    audit = tmp_path / "audit.json"
    job.env_extra.update({"CLAUDE_RUNNER_ACK_AUDIT": str(audit), **env})
    proc, outputs, _ = job.run(
        "issue_comment", pr_comment_payload(job, 5, "@claude what does add do?"), github_token=TOKEN
    )
    assert proc.returncode == 0, proc.stderr
    return audit, outputs


def test_the_tracking_comment_is_posted_before_the_settings_the_sdks_and_the_agent_load(job, tmp_path):  # noqa: F811
    audit, outputs = _mention(job, tmp_path)
    loaded = set(json.loads(audit.read_text()))
    assert "runner.quick.github" in loaded  # the audit is the quick acknowledgement's
    assert not [m for m in loaded if m.split(".")[0] in NOT_BEFORE_THE_COMMENT or m in NOT_BEFORE_THE_COMMENT]
    # Of the runner, only the quick path and its settings reader (runner/quick/, settings/quick_ack.py).
    assert {m for m in loaded if m.startswith("runner")} <= QUICK_MODULES
    # Nothing the floor (a stdlib script making the same two requests) does not load: no dataclasses,
    # no typing, no hashing, no uuid; the regular expressions are http.client's own.
    assert not loaded & NOT_IN_THE_QUICK_PATH
    # Two requests acknowledge the mention: who asked may ask, then the comment; nothing before.
    calls = [(r.method, r.route) for r in job.github.requests]
    assert calls[:2] == [("GET", "get_permission"), ("POST", "create_comment")]
    assert job.github.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    # The rest of the run went on (through PyGithub) and finalised that same comment.
    (comment,) = job.github.comments(5)
    assert "It adds two numbers." in comment.body and "Claude finished" in comment.body
    assert outputs["conclusion"] == "success"


def test_with_the_small_client_turned_off_the_sdk_acknowledges_as_before(job, tmp_path):  # noqa: F811
    audit, outputs = _mention(job, tmp_path, CLAUDE_RUNNER_FAST_ACK="0")
    assert not audit.exists()  # the small client never ran
    calls = [(r.method, r.route) for r in job.github.requests]
    assert calls[:2] == [("GET", "get_permission"), ("POST", "create_comment")]
    (comment,) = job.github.comments(5)
    assert "It adds two numbers." in comment.body and outputs["conclusion"] == "success"


def test_a_requester_without_write_access_gets_no_tracking_comment_but_the_refusal(job, tmp_path):  # noqa: F811
    job.github.tokens[TOKEN] = "github-actions[bot]"
    job.env_extra["CLAUDE_RUNNER_ACK_AUDIT"] = str(tmp_path / "audit.json")
    job.github.add_user("mallory", permission="read")
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head)
    proc, outputs, _ = job.run(
        "issue_comment", pr_comment_payload(job, 5, "@claude fix it", login="mallory"), github_token=TOKEN
    )
    assert proc.returncode == 0, proc.stderr
    assert outputs["conclusion"] == "skipped" and job.model.requests == []
    assert "refused: mallory has read permission" in proc.stderr
    assert not (tmp_path / "audit.json").exists()  # no tracking comment was sent
    # The refusal reply (tests/ci/test_refused_reply.py) goes through PyGithub, after the permission.
    (reply,) = job.github.comments(5)
    assert "Claude is working" not in reply.body and "only people with write access" in reply.body
    assert job.github.requests[0].route == "get_permission"


def test_proxies_leave_the_acknowledgement_to_the_sdk_and_ca_bundles_are_honoured():
    assert read_ack_settings({}).small_client
    assert not read_ack_settings({"HTTPS_PROXY": "http://proxy:3128"}).small_client
    assert not read_ack_settings({"https_proxy": "http://proxy:3128"}).small_client
    assert not read_ack_settings({"CLAUDE_RUNNER_FAST_ACK": "0"}).small_client
    bundle = read_ack_settings({"REQUESTS_CA_BUNDLE": "/etc/ssl/corp.pem"})
    assert bundle.small_client and bundle.ca_bundle == Path("/etc/ssl/corp.pem")
    assert read_ack_settings({"CLAUDE_RUNNER_ACK_AUDIT": "/tmp/a.json"}).audit_path == Path("/tmp/a.json")
