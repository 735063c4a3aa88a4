"""HTTP hooks (`"type": "http"`) against a real loopback server: what is POSTed, what the answer
decides, the headers' variables, and the failures that must not stop a run."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.agent.tools.base import ToolContext
from runner.errors import SettingsError
from runner.hooks.config import HttpHook, merge_hooks, parse_hooks
from runner.hooks.http import post_hook
from runner.hooks.runner import HookRunner, HookStop
from tests.hooks.hook_server import CLOSE, HANG, HookServer, hook_server

DENY = {
    "hookSpecificOutput": {
        "hookEventName": "PreToolUse",
        "permissionDecision": "deny",
        "permissionDecisionReason": "deploys go through the release job",
    }
}


@pytest.fixture
def server() -> Iterator[HookServer]:
    with hook_server() as running:
        yield running


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=tmp_path, subprocess_env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})


def http(event: str, url: str, matcher: str = "", **fields: Any) -> dict[str, Any]:
    return {event: [{"matcher": matcher, "hooks": [{"type": "http", "url": url, **fields}]}]}


def runner(settings: dict[str, Any], lines: list[str], variables: dict[str, str] | None = None) -> HookRunner:
    return HookRunner(
        parse_hooks(settings, "test"),
        "sess-1",
        Path("/tmp/t.jsonl"),
        "default",
        log=lines.append,
        http_variables=variables or {},
    )


def test_the_event_is_posted_as_json_and_a_deny_blocks_the_call(server: HookServer, ctx: ToolContext) -> None:
    url = server.answer("/guard", body=DENY)
    verdict = runner(http("PreToolUse", url, "Bash"), []).before_tool(
        "Bash", {"command": "./deploy.sh"}, "toolu_1", ctx
    )
    assert verdict.block and verdict.reason == "deploys go through the release job"
    (request,) = server.received
    assert request.method == "POST" and request.headers["content-type"] == "application/json"
    assert request.json() == {
        "session_id": "sess-1",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": str(ctx.cwd),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "./deploy.sh"},
        "tool_use_id": "toolu_1",
    }


def test_a_posttooluse_answer_adds_context_and_an_empty_body_says_nothing(
    server: HookServer, ctx: ToolContext
) -> None:
    context = {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "Run make lint."}}
    settings = {
        "PostToolUse": [
            {"matcher": "Edit", "hooks": [{"type": "http", "url": server.answer("/lint", body=context)}]},
            {"hooks": [{"type": "http", "url": server.answer("/audit", 204)}]},
        ]
    }
    lines: list[str] = []
    note = runner(settings, lines).after_tool("Edit", {"file_path": "a.py"}, "t", {"content": "ok"}, ctx)
    assert note == "Run make lint."
    assert server.bodies("/audit")[0]["tool_response"] == {"content": "ok"}  # it ran, and had no opinion
    assert lines == []


def test_plain_text_is_context_for_the_prompt_and_continue_false_stops(
    server: HookServer, ctx: ToolContext
) -> None:
    settings = {
        **http("UserPromptSubmit", server.answer("/ticket", body="Ticket: ABC-1")),
        **http("SessionStart", server.answer("/stop", body={"continue": False, "stopReason": "frozen"})),
    }
    with pytest.raises(HookStop, match="frozen"):
        runner(settings, []).start("fix it", resumed=False, ctx=ctx)
    del server.answers["/stop"]  # 404 from now on: logged, nothing more
    context, refused = runner(settings, []).start("fix it", resumed=False, ctx=ctx)
    assert refused is None and context == ["Ticket: ABC-1"]


def test_headers_get_only_the_variables_allowedenvvars_lists(server: HookServer, ctx: ToolContext) -> None:
    url = server.answer("/audit")
    headers = {"Authorization": "Bearer ${AUDIT_TOKEN}", "X-Team": "$TEAM", "X-Both": "$AUDIT_TOKEN/$TEAM"}
    settings = http("Stop", url, headers=headers, allowedEnvVars=["AUDIT_TOKEN"])
    config = parse_hooks(settings, "s.json")
    assert any("X-Team uses $TEAM, which allowedEnvVars does not list" in w for w in config.warnings)
    variables = {"AUDIT_TOKEN": "tok-8f3a", "TEAM": "payments"}  # TEAM is set, but not listed
    runner(settings, [], variables).stop(active=False, ctx=ctx)
    (request,) = server.received
    assert request.headers["authorization"] == "Bearer tok-8f3a"
    assert request.headers["x-team"] == "" and request.headers["x-both"] == "tok-8f3a/"


def test_a_subagents_http_hooks_get_the_same_headers(server: HookServer, ctx: ToolContext) -> None:
    url = server.answer("/guard")
    settings = http("PreToolUse", url, headers={"X-Key": "$K"}, allowedEnvVars=["K", "$K"])
    assert any("'$K' is not a variable name" in w for w in parse_hooks(settings, "s").warnings)
    runner(settings, [], {"K": "v-1"}).for_subagent("reviewer", "a1").before_tool("Read", {}, "t", ctx)
    assert [r.headers["x-key"] for r in server.received] == ["v-1"]


def test_an_echoed_header_is_hidden_in_the_log(server: HookServer, ctx: ToolContext) -> None:
    url = server.answer("/guard", 401, "bad token: Bearer tok-8f3a")
    settings = http("PreToolUse", url, headers={"Authorization": "Bearer $T"}, allowedEnvVars=["T"])
    lines: list[str] = []
    runner(settings, lines, {"T": "tok-8f3a"}).before_tool("Read", {}, "t", ctx)
    assert len(lines) == 1 and "answered HTTP 401: bad token: ***" in lines[0] and "tok-8f3a" not in lines[0]


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ("500", "answered HTTP 500: database down"),
        (CLOSE, "the server closed the connection without answering"),
        (HANG, "timed out after 0.5 s"),
    ],
)
def test_failures_are_logged_and_never_block(
    server: HookServer, ctx: ToolContext, how: str, why: str
) -> None:
    path = "/guard"
    url = server.answer(path, 500, "database down") if how == "500" else server.misbehave(path, how)
    settings = http(
        "PreToolUse",
        f"http://hookuser:hookpass@{url.removeprefix('http://')}?key=q-secret",
        timeout=0.5,
        headers={"Authorization": "Bearer $AUDIT_TOKEN"},
        allowedEnvVars=["AUDIT_TOKEN"],
    )
    lines: list[str] = []
    verdict = runner(settings, lines, {"AUDIT_TOKEN": "tok-8f3a"}).before_tool("Bash", {}, "t", ctx)
    assert not verdict.block and not verdict.allow
    (line,) = lines
    assert why in line and f"POST {server.base_url}/guard" in line
    for secret in ("tok-8f3a", "q-secret", "hookuser", "hookpass"):
        assert secret not in line
    assert server.received[0].path == "/guard?key=q-secret"  # the query string is sent, not shown
    assert server.received[0].headers["authorization"] == "Bearer tok-8f3a"  # its own header wins


def test_nothing_listening_is_a_logged_failure(ctx: ToolContext) -> None:
    with hook_server() as gone:
        url = gone.answer("/x")
    run = post_hook(HttpHook(url, timeout_s=5), "{}", ctx, {})
    assert run.exit_code is None and run.failure.startswith("request failed")


def test_the_run_deadline_cuts_a_hook_short(server: HookServer, tmp_path: Path) -> None:
    url = server.misbehave("/slow", HANG)
    near = ToolContext(cwd=tmp_path, deadline=time.monotonic() + 0.5)
    run = post_hook(HttpHook(url, timeout_s=600), "{}", near, {})
    # Within the run's last half second, not the hook's ten minutes.
    assert run.exit_code is None and run.failure.startswith("timed out after 0.")


def test_the_same_url_from_two_sources_is_posted_once(server: HookServer, ctx: ToolContext) -> None:
    url = server.answer("/audit")
    both = merge_hooks([parse_hooks(http("Stop", url), "user"), parse_hooks(http("Stop", url), "project")])
    HookRunner(both, "s").stop(active=False, ctx=ctx)
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ({}, r"hooks\[0\]\.url must be a non-empty"),
        ({"url": "ftp://example.com/x"}, r"hooks\[0\]\.url must be an http:// or https:// URL"),
        ({"url": "https://:443/x"}, r"hooks\[0\]\.url must be an http:// or https:// URL with a host"),
        ({"url": "https://example.com:99999/x"}, r"hooks\[0\]\.url is not a valid URL"),
        ({"url": "https://e.com", "headers": ["Authorization"]}, r"hooks\[0\]\.headers must be an object"),
        ({"url": "https://e.com", "headers": {"X-N": 1}}, r"hooks\[0\]\.headers must be an object"),
        ({"url": "https://e.com", "headers": {"X N": "v"}}, r"hooks\[0\]\.headers: 'X N' is not a valid"),
        ({"url": "https://e.com", "headers": {"X": "a\nb"}}, r"hooks\[0\]\.headers: 'X' is not a valid"),
        ({"url": "https://e.com", "allowedEnvVars": "TOKEN"}, r"hooks\[0\]\.allowedEnvVars must be a list"),
        ({"url": "https://e.com", "timeout": "10s"}, r"hooks\[0\]\.timeout must be a number"),
    ],
)
def test_bad_http_hooks_name_the_key(hook: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=r"^s\.json: hooks\.Stop\[0\]\." + message):
        parse_hooks({"Stop": [{"hooks": [{"type": "http", **hook}]}]}, "s.json")


def test_an_http_hooks_headers_never_show_in_its_repr() -> None:
    config = parse_hooks(http("Stop", "https://e.com/h", headers={"Authorization": "Bearer raw-token"}), "s")
    assert "raw-token" not in repr(config) and json.dumps(config.allowed_env_vars()) == "[]"


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def test_https_checks_the_certificate_and_a_hang_over_tls_still_ends(
    tmp_path: Path, ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with hook_server(tls) as server:
        url = server.answer("/guard", body=DENY)
        untrusted = post_hook(HttpHook(url, timeout_s=10), "{}", ctx, {})
        assert untrusted.exit_code is None and "certificate verify failed" in untrusted.failure
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the machine trusts the endpoint's CA
        trusted = post_hook(HttpHook(url, timeout_s=10), "{}", ctx, {})
        assert trusted.exit_code == 0 and json.loads(trusted.stdout) == DENY
        hung = post_hook(HttpHook(server.misbehave("/slow", HANG), timeout_s=0.5), "{}", ctx, {})
        assert hung.exit_code is None and hung.failure == "timed out after 0.5 s"
