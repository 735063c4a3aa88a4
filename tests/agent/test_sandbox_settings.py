"""The ``sandbox`` and ``env`` keys of Claude Code's settings: parsed, validated, merged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.agent.permissions import parse_settings_json
from runner.agent.sandbox_settings import merge_sandbox, resolve_path
from runner.errors import SettingsError

HOME = Path("/home/u")
PROJECT = Path("/work/project")


def parse(data: object, source: str = "s.json", base: Path | None = PROJECT):
    return parse_settings_json(json.dumps(data), source, base_dir=base)


def test_claude_codes_sandbox_keys_are_read() -> None:
    settings = parse(
        {
            "sandbox": {
                "enabled": True,
                "failIfUnavailable": True,
                "excludedCommands": ["docker *", "git push:*"],
                "allowUnsandboxedCommands": False,
                "filesystem": {
                    "allowWrite": ["~/.npm", "//var/cache/x", "/opt/out", "build"],
                    "denyWrite": ["./secrets"],
                    "denyRead": ["~/.aws"],
                    "allowRead": ["~/.aws/config"],
                },
                "network": {
                    "allowedDomains": ["github.com", "*.npmjs.org", "LOCALHOST"],
                    "deniedDomains": ["evil.example"],
                    "allowUnixSockets": ["/run/docker.sock"],
                    "allowLocalBinding": True,
                },
            },
            "env": {"NODE_ENV": "test", "RETRIES": 3, "DEBUG": False},
        }
    )
    config = merge_sandbox([settings.sandbox], cwd=Path("/elsewhere"), home=HOME)
    assert config.enabled is True and config.fail_if_unavailable is True
    assert config.excluded_commands == ("docker *", "git push:*")
    assert config.allow_write == (
        HOME / ".npm",
        Path("/var/cache/x"),
        Path("/opt/out"),
        PROJECT / "build",  # relative to the project the settings belong to
    )
    assert config.deny_write == (PROJECT / "secrets",)
    assert config.deny_read == (HOME / ".aws",) and config.allow_read == (HOME / ".aws/config",)
    assert config.allowed_domains == ("github.com", "*.npmjs.org", "localhost")
    assert config.denied_domains == ("evil.example",) and config.filters_network
    assert config.allow_unix_sockets == (Path("/run/docker.sock"),)
    assert config.warnings == ()
    assert settings.env == (("NODE_ENV", "test"), ("RETRIES", "3"), ("DEBUG", "false"))


def test_sources_merge_flags_by_precedence_and_lists_by_union() -> None:
    low = parse({"sandbox": {"enabled": True, "network": {"allowedDomains": ["a.example"]}}}, "low")
    high = parse({"sandbox": {"enabled": False, "network": {"allowedDomains": ["b.example"]}}}, "high")
    unset = parse({"permissions": {"allow": ["Read"]}}, "unset")
    merged = merge_sandbox([x.sandbox for x in (low, high, unset)], cwd=PROJECT, home=HOME)
    assert merged.enabled is False  # the last source that says wins; one that does not say changes nothing
    assert merged.allowed_domains == ("a.example", "b.example")
    assert merge_sandbox([unset.sandbox], cwd=PROJECT, home=HOME).enabled is None
    assert not merge_sandbox([unset.sandbox], cwd=PROJECT, home=HOME).filters_network


def test_unsupported_keys_warn_and_never_fail() -> None:
    settings = parse(
        {
            "sandbox": {
                "autoAllowBashIfSandboxed": True,
                "enableWeakerNestedSandbox": True,
                "network": {"httpProxyPort": 8080},
                "someFutureKey": 1,
            }
        }
    )
    warnings = " ".join(settings.sandbox.warnings)
    for key in ("autoAllowBashIfSandboxed", "enableWeakerNestedSandbox", "httpProxyPort", "someFutureKey"):
        assert key in warnings
    assert parse({"sandbox": {"autoAllowBashIfSandboxed": False}}).sandbox.warnings == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sandbox": True}, "sandbox must be an object"),
        ({"sandbox": {"enabled": "yes"}}, "sandbox.enabled must be true or false"),
        ({"sandbox": {"excludedCommands": "docker"}}, "sandbox.excludedCommands must be a list"),
        ({"sandbox": {"excludedCommands": ["docker (x"]}}, "excludedCommands[0]"),
        ({"sandbox": {"filesystem": {"allowWrite": [""]}}}, "allowWrite must be a list of non-empty strings"),
        ({"sandbox": {"network": {"allowedDomains": ["https://x.com/"]}}}, "is not a domain"),
        ({"sandbox": {"network": []}}, "sandbox.network must be an object"),
        ({"env": ["A=1"]}, "env must be an object"),
        ({"env": {"A-B": "1"}}, "is not a variable name"),
        ({"env": {"A": {"x": 1}}}, "env.A must be a string"),
    ],
)
def test_bad_values_are_one_line_settings_errors(data: object, message: str) -> None:
    with pytest.raises(SettingsError, match=r"s\.json: .*") as info:
        parse(data)
    assert message in info.value.message


def test_paths_are_written_as_claude_code_writes_them() -> None:
    assert resolve_path("//abs/x", base=PROJECT, home=HOME) == Path("/abs/x")
    assert resolve_path("/abs/x", base=PROJECT, home=HOME) == Path("/abs/x")
    assert resolve_path("~", base=PROJECT, home=HOME) == HOME
    assert resolve_path("./a/../b", base=PROJECT, home=HOME) == PROJECT / "b"
