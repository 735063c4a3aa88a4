"""action.yml and examples/: every input and output wired, a safe install, examples that parse.

PyYAML comes with the test extra (``responses`` requires it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.agent.permission_rules import parse_rule
from runner.agent.permissions import split_rule_list
from runner.flow.publish import job_outputs
from runner.settings.flow import IMPLEMENTED, NOT_IMPLEMENTED, OWN_INPUTS, flow_settings
from runner.settings.run_flags import parse_claude_args
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
ACTION = ROOT / "action.yml"
EXAMPLES = sorted((ROOT / "examples").glob("*.yml"))
USES = "your-org/claude-runner@v1"

# The inputs of anthropics/claude-code-action v1 (its action.yml), with their defaults ("" = none).
V1_INPUTS = {
    "trigger_phrase": "@claude",
    "assignee_trigger": "",
    "label_trigger": "claude",
    "base_branch": "",
    "branch_prefix": "claude/",
    "branch_name_template": "",
    "allowed_bots": "",
    "allowed_non_write_users": "",
    "include_comments_by_actor": "",
    "exclude_comments_by_actor": "",
    "prompt": "",
    "settings": "",
    "anthropic_api_key": "",
    "claude_code_oauth_token": "",
    "anthropic_federation_rule_id": "",
    "anthropic_organization_id": "",
    "anthropic_service_account_id": "",
    "anthropic_workspace_id": "",
    "anthropic_oidc_audience": "",
    "github_token": "${{ github.token }}",  # none upstream (it mints an App token); ours: the job's
    "use_bedrock": "false",
    "use_vertex": "false",
    "use_foundry": "false",
    "claude_args": "",
    "additional_permissions": "",
    "use_sticky_comment": "false",
    "classify_inline_comments": "true",
    "use_commit_signing": "false",
    "ssh_signing_key": "",
    "bot_id": "41898282",
    "bot_name": "claude[bot]",
    "track_progress": "false",
    "include_fix_links": "true",
    "path_to_claude_code_executable": "",
    "path_to_bun_executable": "",
    "display_report": "false",
    "show_full_output": "false",
    "plugins": "",
    "plugin_marketplaces": "",
}
OWN_DEFAULTS = {
    "app_id": "",
    "app_private_key": "",
    "pr_mode": "link",
    "prompt_template": "",
    "comment_template": "",
    "provider": "",
    "aws_role_to_assume": "",
    "aws_region": "",
    "gcp_workload_identity_provider": "",
    "gcp_service_account": "",
    "oidc_token_variable": "",
    "min_access_level": "write",
    "reply_to_refused": "true",
    "review": "false",
    "review_drafts": "false",
    "review_request_changes": "false",
    "tool_env_passthrough": "",
    "effort": "",
}
OUTPUTS = (
    "conclusion",
    "execution_file",
    "transcript_file",
    "branch_name",
    "patch_file",
    "bundle_file",
    "pr_url",
    "comment_url",
    "session_id",
    "structured_output",
    "total_cost_usd",
    "cost_is_estimate",
    "num_turns",
    "input_tokens",
    "output_tokens",
)


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _step(action: dict[str, Any], step_id: str) -> dict[str, Any]:
    steps = [s for s in action["runs"]["steps"] if s.get("id") == step_id]
    assert len(steps) == 1, f"one step with id {step_id}"
    return steps[0]


def _on(workflow: dict[str, Any]) -> dict[str, Any]:
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert isinstance(triggers, dict)
    return triggers


# --- inputs ------------------------------------------------------------------------------------


def test_every_v1_input_and_ours_is_declared_with_its_default(action: dict[str, Any]) -> None:
    inputs = action["inputs"]
    expected = {**V1_INPUTS, **OWN_DEFAULTS}
    assert set(inputs) == set(expected)
    for name, default in expected.items():
        assert str(inputs[name].get("default", "")) == default, name
        assert inputs[name].get("required", False) is False, name
        description = inputs[name].get("description", "")
        assert description.strip() and "\n" not in description.strip(), f"{name}: one-line description"


def test_ci_settings_and_the_v1_list_agree(action: dict[str, Any]) -> None:
    assert set(V1_INPUTS) == IMPLEMENTED | set(NOT_IMPLEMENTED)
    assert IMPLEMENTED | set(NOT_IMPLEMENTED) | OWN_INPUTS <= set(action["inputs"])


def test_not_implemented_inputs_say_so_and_default_to_silence(action: dict[str, Any]) -> None:
    for name, default in NOT_IMPLEMENTED.items():
        assert str(action["inputs"][name]["default"]) == default, f"{name}: a default that would warn"
        assert "not implemented yet" in action["inputs"][name]["description"], name
    for name in IMPLEMENTED | OWN_INPUTS:
        assert "not implemented" not in action["inputs"][name]["description"], name


def test_every_input_reaches_the_runner_as_INPUT_NAME(action: dict[str, Any]) -> None:
    env = _step(action, "run")["env"]
    for name in action["inputs"]:
        value = env.get(f"INPUT_{name.upper()}")
        assert value is not None, f"INPUT_{name.upper()} missing from the run step's env"
        if name == "github_token":
            assert "inputs.github_token" in value and "inputs.app_id" in value
        else:
            assert value == f"${{{{ inputs.{name} }}}}", name
    extra = {k for k in env if k.startswith("INPUT_")} - {f"INPUT_{n.upper()}" for n in action["inputs"]}
    assert not extra


def test_the_defaults_parse_without_warnings(action: dict[str, Any]) -> None:
    """The action's defaults, as the runner sees them: valid, and no not-implemented warning."""
    env = {
        f"INPUT_{name.upper()}": str(spec.get("default", "")).replace("${{ github.token }}", "ghs_x")
        for name, spec in action["inputs"].items()
    }
    settings = flow_settings(env)
    assert settings.warnings == ()
    assert settings.github_token == "ghs_x"
    assert (settings.branch_prefix, settings.pr_mode, settings.bot_name) == ("claude/", "link", "claude[bot]")
    assert settings.trigger.trigger_phrase == "@claude" and settings.trigger.label_trigger == "claude"
    assert settings.provider_flags == ()


def test_secrets_are_not_exported_beyond_the_inputs(action: dict[str, Any]) -> None:
    """The runner reads INPUT_ANTHROPIC_API_KEY / INPUT_GITHUB_TOKEN; a blank ANTHROPIC_API_KEY
    would also hide one set in the job's env."""
    for step in action["runs"]["steps"]:
        env = step.get("env", {})
        assert not {"ANTHROPIC_API_KEY", "GITHUB_TOKEN", "GH_TOKEN"} & set(env), step.get("id")


# --- outputs -----------------------------------------------------------------------------------


# What the finalize step writes when it finishes a stopped run; the run step's values otherwise.
FINALIZE_OUTPUTS = ("conclusion", "branch_name", "pr_url", "comment_url")


def test_outputs_are_declared_and_mapped_from_the_run_step(action: dict[str, Any]) -> None:
    outputs = action["outputs"]
    assert tuple(outputs) == OUTPUTS
    for name in OUTPUTS:
        run = f"steps.run.outputs.{name}"
        expected = f"steps.finalize.outputs.{name} || {run}" if name in FINALIZE_OUTPUTS else run
        assert outputs[name]["value"] == f"${{{{ {expected} }}}}"
        assert outputs[name]["description"].strip()
    for value in ("success", "failure", "skipped", "cancelled"):
        assert value in outputs["conclusion"]["description"]


def test_outputs_match_what_the_runner_writes() -> None:
    written = job_outputs(None, execution_file=None, branch=None, pr_url=None, comment_url=None)
    assert set(written) == set(OUTPUTS)


# --- steps -------------------------------------------------------------------------------------


def test_the_run_step_runs_the_venv_runner(action: dict[str, Any]) -> None:
    run = _step(action, "run")
    assert action["runs"]["using"] == "composite"
    assert "claude-runner" in run["env"]["CLAUDE_RUNNER_BIN"]
    assert "steps.setup.outputs.venv" in run["env"]["CLAUDE_RUNNER_BIN"]
    assert re.search(r'"\$CLAUDE_RUNNER_BIN" github\b', run["run"])


def test_the_finalize_step_always_runs_after_the_run_step_with_its_credentials(
    action: dict[str, Any],
) -> None:
    steps = action["runs"]["steps"]
    finalize = _step(action, "finalize")
    assert steps[-1] is finalize and steps.index(_step(action, "run")) < steps.index(finalize)
    assert finalize["if"] == "always()"
    assert re.search(r'"\$CLAUDE_RUNNER_BIN" finalize --platform github\b', finalize["run"])
    assert finalize["env"]["CLAUDE_RUNNER_BIN"] == _step(action, "run")["env"]["CLAUDE_RUNNER_BIN"]
    assert finalize["env"]["CLAUDE_RUNNER_JOB_STATUS"] == "${{ steps.run.outcome }}"
    # the same credential as the run step: it signs the state file, and it edits the comment
    for name in ("INPUT_GITHUB_TOKEN", "INPUT_APP_ID", "INPUT_APP_PRIVATE_KEY"):
        assert finalize["env"][name] == _step(action, "run")["env"][name], name
    assert not {k for k in finalize["env"] if k.startswith("INPUT_")} - {
        "INPUT_GITHUB_TOKEN",
        "INPUT_APP_ID",
        "INPUT_APP_PRIVATE_KEY",
    }


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_the_finalize_step_does_nothing_without_an_installed_runner(
    action: dict[str, Any], tmp_path: Path
) -> None:
    env = {"PATH": os.environ["PATH"], "CLAUDE_RUNNER_BIN": str(tmp_path / "missing" / "claude-runner")}
    proc = subprocess.run(
        [shutil.which("bash") or "bash", "-c", _step(action, "finalize")["run"]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_run_scripts_take_no_expressions_and_are_valid_bash(action: dict[str, Any]) -> None:
    """Values reach scripts through env only: `${{ }}` in a script is a shell-injection risk."""
    bash = shutil.which("bash")
    for step in action["runs"]["steps"]:
        if "run" not in step:
            continue
        assert step.get("shell") == "bash", step.get("id")
        assert "${{" not in step["run"], step.get("id")
        if bash:
            proc = subprocess.run(
                [bash, "-n"], input=step["run"], text=True, capture_output=True, check=False
            )
            assert proc.returncode == 0, f"{step.get('id')}: {proc.stderr}"


def test_pip_install_ignores_pip_config_and_runs_outside_the_workspace(action: dict[str, Any]) -> None:
    install = _step(action, "install")
    script = install["run"]
    assert "working-directory" not in install
    pip_lines = [line for line in script.splitlines() if "-m pip install" in line]
    assert len(pip_lines) == 1
    assert pip_lines[0].strip().startswith('pip=("$VENV/bin/python" -I -m pip install')
    # every pip install (the lock, the runner, the resolving fallback) reads no pip.conf
    runs = [line for line in script.splitlines() if '"${pip[@]}"' in line]
    assert len(runs) == 3 and all("PIP_CONFIG_FILE=/dev/null" in line for line in runs)
    assert "--disable-pip-version-check --no-input" in script
    assert '"$GITHUB_ACTION_PATH' in script or '"${GITHUB_ACTION_PATH}' in script
    cd = script.index('cd "$(mktemp -d)"')
    assert cd < script.index("-m venv") < script.index("-m pip install")
    # the benchmark measures the same command
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import install_time
    finally:
        sys.path.remove(str(ROOT / "bench"))
    assert " ".join(install_time.PIP_FLAGS) in script


def test_the_venv_is_cached_under_a_key_of_os_python_and_sources(action: dict[str, Any]) -> None:
    steps = action["runs"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/cache/restore@") for u in uses)
    assert any(u.startswith("actions/cache/save@") for u in uses)
    assert not any(u.startswith("actions/setup-python@") for u in uses)
    for step in steps:
        if step.get("uses", "").startswith("actions/cache/"):
            assert step["with"]["key"] == "${{ steps.setup.outputs.key }}"
            assert step["with"]["path"] == "${{ steps.setup.outputs.venv }}"


def _setup_script(action: dict[str, Any]) -> str:
    return str(_step(action, "setup")["run"])


@pytest.mark.skipif(not shutil.which("bash") or not shutil.which("sha256sum"), reason="needs bash")
def test_setup_step_finds_python_and_computes_the_key(action: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_OUTPUT": str(out),
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
        "USE_BEDROCK": "True",
        "USE_VERTEX": "false",
    }
    bash = shutil.which("bash") or "bash"
    proc = subprocess.run(
        [bash, "-c", _setup_script(action)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    values = dict(line.split("=", 1) for line in out.read_text().splitlines())
    version = values["version"]
    assert tuple(int(p) for p in version.split(".")[:2]) >= (3, 11)
    assert values["extras"] == "bedrock"
    assert re.fullmatch(
        rf"claude-runner-venv-Linux-X64-py{re.escape(version)}-[0-9a-f]{{16}}-bedrock", values["key"]
    )
    assert (
        values["venv"]
        == f"{tmp_path}/.cache/claude-runner/venv-{values['key'].removeprefix('claude-runner-venv-')}"
    )
    # the key changes with the sources of the package, not only with pyproject.toml
    assert "find runner" in _setup_script(action) and "pyproject.toml" in _setup_script(action)


@pytest.mark.skipif(not shutil.which("bash") or not shutil.which("sha256sum"), reason="needs bash")
def test_the_venv_key_changes_with_the_lock(action: dict[str, Any], tmp_path: Path) -> None:
    copy = tmp_path / "action"
    shutil.copytree(ROOT / "runner", copy / "runner", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "scripts", copy / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GITHUB_ACTION_PATH": str(copy)}
    env.update(RUNNER_OS="Linux", RUNNER_ARCH="X64", USE_BEDROCK="", USE_VERTEX="", PROVIDER="")

    def key() -> str:
        out = tmp_path / "out"
        out.unlink(missing_ok=True)
        proc = subprocess.run(
            ["bash", "-c", _setup_script(action)],
            env={**env, "GITHUB_OUTPUT": str(out)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return dict(line.split("=", 1) for line in out.read_text().splitlines())["key"]

    before = key()
    lock = copy / "scripts" / "requirements" / "vertex.txt"
    lock.write_text(lock.read_text().replace("==", "===", 1))  # another pin of an extra
    assert key() != before


@pytest.mark.skipif(not shutil.which("bash") or not shutil.which("sha256sum"), reason="needs bash")
@pytest.mark.parametrize(
    ("enabled", "protocols", "extras"),
    [
        ("1", {}, "vertex,telemetry"),
        ("true", {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "vertex,telemetry"),
        ("0", {}, "vertex"),
        ("1", {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "vertex,telemetry,telemetry-grpc"),
        ("1", {"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"}, "vertex,telemetry,telemetry-grpc"),
        ("0", {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "vertex"),
    ],
)
def test_setup_step_installs_the_telemetry_extra_when_the_job_turns_it_on(
    action: dict[str, Any], tmp_path: Path, enabled: str, protocols: dict[str, str], extras: str
) -> None:
    out = tmp_path / "out"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_OUTPUT": str(out),
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
        "USE_BEDROCK": "false",
        "USE_VERTEX": "true",
        "CLAUDE_CODE_ENABLE_TELEMETRY": enabled,
        **protocols,
    }
    bash = shutil.which("bash") or "bash"
    proc = subprocess.run(
        [bash, "-c", _setup_script(action)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    values = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert values["extras"] == extras


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_setup_step_fails_clearly_on_an_old_python(action: dict[str, Any], tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    python3 = fake / "python3"
    python3.write_text('#!/bin/sh\ncase "$*" in *-V*) echo "Python 3.8.10"; exit 0;; esac\nexit 1\n')
    python3.chmod(0o755)
    env = {"PATH": str(fake), "HOME": str(tmp_path), "GITHUB_OUTPUT": str(tmp_path / "out")}
    bash = shutil.which("bash") or "bash"
    proc = subprocess.run(
        [bash, "-c", _setup_script(action)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "::error" in proc.stdout and "3.11" in proc.stdout and "Python 3.8.10" in proc.stdout


# --- examples ----------------------------------------------------------------------------------


def test_the_four_examples_exist() -> None:
    assert {p.name for p in EXAMPLES} >= {"claude.yml", "review.yml", "issue-triage.yml", "manual.yml"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_parses_and_checks_out_without_persisted_credentials(
    path: Path, action: dict[str, Any]
) -> None:
    text = path.read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    assert workflow["name"] and _on(workflow)
    assert "uses: ./" in text  # the header says how to test a local checkout
    ours = 0
    for job in workflow["jobs"].values():
        assert job["runs-on"] and job["permissions"]
        steps = job["steps"]
        checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
        assert checkouts, f"{path.name}: no checkout"
        for step in checkouts:
            assert step["with"]["persist-credentials"] is False
        for step in steps:
            if step.get("uses", "").startswith("your-org/claude-runner"):
                ours += 1
                assert step["uses"] == USES
                assert set(step.get("with", {})) <= set(action["inputs"]), "unknown input"
                if "claude_args" in step["with"] and "${{" not in step["with"]["claude_args"]:
                    args = parse_claude_args(step["with"]["claude_args"], {})
                    for rule in (*args.allowed_tools, *args.disallowed_tools):  # each rule parses
                        for text in split_rule_list(rule):
                            parse_rule(text, base_dir=ROOT)
    assert ours == 1


def test_mention_example_listens_to_the_documented_events() -> None:
    workflow = yaml.safe_load((ROOT / "examples" / "claude.yml").read_text())
    on = _on(workflow)
    assert set(on) == {"issue_comment", "pull_request_review_comment", "issues", "pull_request_review"}
    assert set(on["issues"]["types"]) == {"opened", "assigned", "labeled"}
    assert on["pull_request_review"]["types"] == ["submitted"]
    job = workflow["jobs"]["claude"]
    assert "contains(github.event.comment.body, '@claude')" in job["if"]
    assert job["permissions"] == {"contents": "write", "pull-requests": "write", "issues": "write"}


def test_other_examples_use_their_events_and_tools() -> None:
    review = yaml.safe_load((ROOT / "examples" / "review.yml").read_text())
    assert set(_on(review)["pull_request"]["types"]) >= {"opened", "synchronize"}
    triage = yaml.safe_load((ROOT / "examples" / "issue-triage.yml").read_text())
    assert _on(triage)["issues"]["types"] == ["opened"]
    step = next(s for s in triage["jobs"]["triage"]["steps"] if s.get("uses") == USES)
    args = parse_claude_args(step["with"]["claude_args"], {})
    assert args.allowed_tools == ("mcp__github_issues__add_labels",)
    assert "Bash" in split_rule_list(",".join(args.disallowed_tools))
    fix = yaml.safe_load((ROOT / "examples" / "ci-failure-auto-fix.yml").read_text())
    assert _on(fix)["workflow_run"]["types"] == ["completed"]
    (job,) = fix["jobs"].values()
    assert "conclusion == 'failure'" in job["if"] and "head_repository.full_name" in job["if"]
    assert job["permissions"]["actions"] == "read"
    step = next(s for s in job["steps"] if s.get("uses") == USES)
    allowed = parse_claude_args(step["with"]["claude_args"], {}).allowed_tools
    assert "mcp__github_ci" in split_rule_list(",".join(allowed))
    manual = yaml.safe_load((ROOT / "examples" / "manual.yml").read_text())
    assert "prompt" in _on(manual)["workflow_dispatch"]["inputs"]


@pytest.mark.parametrize("name", ["claude.yml", "review.yml"])
def test_examples_queue_runs_per_change_and_never_cancel_a_mention(name: str) -> None:
    workflow = yaml.safe_load((ROOT / "examples" / name).read_text())
    (job,) = workflow["jobs"].values()
    concurrency = job["concurrency"]
    assert "github.event.pull_request.number" in concurrency["group"]
    # cancel-in-progress would kill a run mid-answer; without `queue: max` GitHub cancels all but
    # one pending run: either loses a mention.
    assert concurrency["cancel-in-progress"] is False and concurrency["queue"] == "max"
