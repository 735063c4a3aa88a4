"""Hooks in a real `claude-runner github` run on a pull request: the default branch's hooks run with
Claude Code's protocol; the pull request's own hooks never do."""

from __future__ import annotations

import json

import pytest

from runner.testing.fake_messages import text, tool_use
from tests.ci.github_flow_helpers import actions_job, git
from tests.ci.test_github_flow import pr_comment_payload

# A guard: Bash commands starting with `rm` are denied, with a reason for the model.
GUARD = (
    'python3 -c \'import json,sys; d=json.load(sys.stdin); c=d["tool_input"].get("command",""); '
    'r={"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny",'
    '"permissionDecisionReason":"rm is not allowed in CI: use git rm and say why"}}; '
    'print(json.dumps(r) if c.startswith("rm ") else "")\''
)
# A formatter: spaces around + in the file an edit touched.
FORMAT = (
    "python3 -c 'import json,sys,pathlib; d=json.load(sys.stdin); "
    'p=pathlib.Path(d["tool_input"]["file_path"]); '
    'p.write_text(p.read_text().replace("a+b","a + b"))\''
)
# One more turn: the first Stop is blocked with a reason, the second (stop_hook_active) is not.
ONE_MORE = (
    "python3 -c 'import json,sys; d=json.load(sys.stdin); "
    'r={"decision":"block","reason":"Also check calc.py compiles."}; '
    'print("" if d["stop_hook_active"] else json.dumps(r))\''
)


def settings(allow: tuple[str, ...] = (), **events: list[dict]) -> str:
    return json.dumps({"permissions": {"allow": list(allow)}, "hooks": events})


def command(cmd: str, matcher: str = "") -> dict:
    return {"matcher": matcher, "hooks": [{"type": "command", "command": cmd}]}


@pytest.fixture
def job(tmp_path):
    with actions_job(tmp_path) as job:
        yield job


def push_to_head(job, files: dict[str, str]) -> str:
    """Commit ``files`` on the pull request's branch (fix-calc) in the origin; returns the new head."""
    clone = job.root / "pr-author"
    git("clone", "-q", "-b", "fix-calc", str(job.origin), str(clone), cwd=job.root)
    for name, content in files.items():
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        (clone / name).write_text(content)
    git("add", ".", cwd=clone)
    git("commit", "-qm", "pr changes", cwd=clone)
    git("push", "-q", "origin", "fix-calc", cwd=clone)
    return git("rev-parse", "HEAD", cwd=clone)


def run_on_pr(job, turns, default_branch_settings: str | None, pr_files: dict[str, str] | None = None):
    head = push_to_head(job, pr_files) if pr_files else job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, title="Fix calc")
    if default_branch_settings is not None:
        job.github.add_file(".claude/settings.json", default_branch_settings, ref="master")
    job.model.add_turns(turns)
    proc, outputs, _ = job.run("issue_comment", pr_comment_payload(job, 5, body="@claude fix add()"))
    assert proc.returncode == 0, proc.stderr
    return proc, outputs


def tool_results(request_body: dict) -> list[dict]:
    return [b for m in request_body["messages"] for b in m["content"] if b.get("type") == "tool_result"]


def test_a_pretooluse_hook_denies_rm_and_the_model_is_told_why(job):
    turns = [[tool_use("Bash", {"command": "rm calc.py"})], [text("I will not delete it.")]]
    run_on_pr(job, turns, settings(("Bash",), PreToolUse=[command(GUARD, "Bash")]))
    (result,) = tool_results(job.model.message_requests[1].body)
    assert result.get("is_error") is True
    assert "rm is not allowed in CI: use git rm and say why" in json.dumps(result["content"])
    assert (job.workspace / "calc.py").exists()


def test_a_posttooluse_hook_formats_the_edited_file(job):
    calc = str(job.workspace / "calc.py")
    turns = [
        [tool_use("Read", {"file_path": calc})],  # an existing file is read before it is edited
        [tool_use("Edit", {"file_path": calc, "old_string": "a - b", "new_string": "a+b"})],
        [text("Fixed add().")],
    ]
    run_on_pr(job, turns, settings(PostToolUse=[command(FORMAT, "Edit|Write")]))
    pushed = git("--git-dir", str(job.origin), "show", "fix-calc:calc.py", cwd=job.root)
    assert "return a + b" in pushed


def test_a_stop_hook_asks_for_one_more_turn(job):
    turns = [[text("Fixed.")], [text("It compiles too.")]]
    _, outputs = run_on_pr(job, turns, settings(Stop=[command(ONE_MORE)]))
    requests = job.model.message_requests
    assert len(requests) == 2
    last = requests[1].body["messages"][-1]
    assert last["role"] == "user" and "Also check calc.py compiles." in json.dumps(last["content"])
    assert outputs["num_turns"] == "2"


def test_the_pull_requests_own_hooks_never_run(job):
    marker = 'touch "$CLAUDE_PROJECT_DIR/pr-hook-ran"'
    every_event = {
        event: [command(marker, "*")]
        for event in ("PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop", "SessionStart", "SessionEnd")
    }
    pr_settings = json.dumps({"hooks": every_event})
    calc = str(job.workspace / "calc.py")
    turns = [
        [tool_use("Read", {"file_path": calc})],
        [tool_use("Edit", {"file_path": calc, "old_string": "a - b", "new_string": "a + b"})],
        [text("Fixed add().")],
    ]
    # The default branch's hook leaves its own marker: hooks do run, just not the pull request's.
    trusted = settings(SessionStart=[command('touch "$CLAUDE_PROJECT_DIR/trusted-hook-ran"')])
    run_on_pr(job, turns, trusted, pr_files={".claude/settings.json": pr_settings})
    assert not (job.workspace / "pr-hook-ran").exists()
    listed = git("--git-dir", str(job.origin), "ls-tree", "-r", "--name-only", "fix-calc", cwd=job.root)
    assert "pr-hook-ran" not in listed.split()
    assert "trusted-hook-ran" in listed.split() and "return a + b" in (job.workspace / "calc.py").read_text()


def test_a_failed_command_fires_posttoolusefailure_whose_context_the_model_reads(job):
    hint = (
        "python3 -c 'import json,sys; d=json.load(sys.stdin); "
        'print(json.dumps({"hookSpecificOutput":{"hookEventName":"PostToolUseFailure",'
        '"additionalContext":"Failed: " + d["tool_input"]["command"] + "; try python3"}}))\''
    )
    turns = [[tool_use("Bash", {"command": "no-such-tool --version"})], [text("I will use python3.")]]
    run_on_pr(job, turns, settings(("Bash",), PostToolUseFailure=[command(hint, "Bash")]))
    (result,) = tool_results(job.model.message_requests[1].body)
    assert result.get("is_error") is True
    assert "PostToolUseFailure hook: Failed: no-such-tool --version; try python3" in json.dumps(
        result["content"]
    )
